package org.attn4j.nn;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Layer normalization over the last dimension with PyTorch's semantics: biased variance, eps inside
 * the square root, learnable gain {@code weight [C]} (initially 1) and {@code bias [C]} (initially 0).
 * y = (x - mean) / sqrt(var + eps) * weight + bias.
 */
public final class LayerNorm extends NormLayer {
    /**
     * @param width C, the size of the normalized last dimension
     * @param eps   added to the variance inside the square root (PyTorch's default 1e-5)
     */
    public record Config(int width, double eps) {
        public Config {
            if (width <= 0) {
                throw new IllegalArgumentException("LayerNorm width must be positive, got " + width);
            }
            if (!(eps > 0 && Double.isFinite(eps))) {
                throw new IllegalArgumentException("LayerNorm eps must be a positive finite number, got " + eps);
            }
        }

        /** PyTorch's default eps 1e-5. */
        public static Config of(int width) {
            return new Config(width, 1e-5);
        }
    }

    private final Config config;
    private final INDArray weight; // [C]
    private final INDArray bias; // [C]

    public LayerNorm(String name, Config config, DataType dataType) {
        super(name, dataType);
        this.config = config;
        this.weight = parameter("weight", Nd4j.ones(dataType, config.width()));
        this.bias = parameter("bias", Nd4j.zeros(dataType, config.width()));
    }

    public LayerNorm(String name, Config config) {
        this(name, config, DataType.FLOAT);
    }

    /** A stand-alone layer (parameters {@code weight}, {@code bias}). */
    public static LayerNorm create(Config config, DataType dataType) {
        return new LayerNorm("", config, dataType);
    }

    public Config config() {
        return config;
    }

    @Override
    public Normalization kind() {
        return Normalization.LAYER;
    }

    @Override
    public org.nd4j.linalg.api.ndarray.INDArray weightArray() {
        return weight;
    }

    @Override
    public org.nd4j.linalg.api.ndarray.INDArray biasArray() {
        return bias;
    }

    @Override
    public int width() {
        return config.width();
    }

    @Override
    public double eps() {
        return config.eps();
    }

    @Override
    FastNorm newEngine(org.attn4j.kernels.Parallel parallel) {
        return new FastNorm(weights(), parallel);
    }
}
