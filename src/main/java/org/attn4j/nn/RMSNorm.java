package org.attn4j.nn;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Root-mean-square normalization over the last dimension (Zhang and Sennrich 2019) with PyTorch's
 * {@code nn.RMSNorm} semantics: y = x / sqrt(mean(x^2) + eps) * weight, eps inside the root, a learnable
 * gain {@code weight [C]} (initially 1) and no bias. Cheaper than {@link LayerNorm}: no mean is subtracted.
 */
public final class RMSNorm extends NormLayer {
    /**
     * @param width C, the size of the normalized last dimension
     * @param eps   added to the mean square inside the square root
     */
    public record Config(int width, double eps) {
        public Config {
            if (width <= 0) {
                throw new IllegalArgumentException("RMSNorm width must be positive, got " + width);
            }
            if (!(eps > 0 && Double.isFinite(eps))) {
                throw new IllegalArgumentException("RMSNorm eps must be a positive finite number, got " + eps);
            }
        }
    }

    private final Config config;
    private final INDArray weight; // [C]

    public RMSNorm(String name, Config config, DataType dataType) {
        super(name, dataType);
        this.config = config;
        this.weight = parameter("weight", Nd4j.ones(dataType, config.width()));
    }

    /** A stand-alone layer (parameter {@code weight}). */
    public static RMSNorm create(Config config, DataType dataType) {
        return new RMSNorm("", config, dataType);
    }

    public Config config() {
        return config;
    }

    @Override
    public Normalization kind() {
        return Normalization.RMS;
    }

    @Override
    public org.nd4j.linalg.api.ndarray.INDArray weightArray() {
        return weight;
    }

    @Override
    public org.nd4j.linalg.api.ndarray.INDArray biasArray() {
        return null;
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
