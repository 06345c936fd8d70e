package org.attn4j.nn;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
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
    private final SDVariable weight; // [C]
    private final SDVariable bias; // [C]

    public LayerNorm(SameDiff sd, String name, Config config, DataType dataType) {
        super(sd, name, dataType);
        this.config = config;
        this.weight = parameter("weight", Nd4j.ones(dataType, config.width()));
        this.bias = parameter("bias", Nd4j.zeros(dataType, config.width()));
    }

    public LayerNorm(SameDiff sd, String name, Config config) {
        this(sd, name, config, DataType.FLOAT);
    }

    /** A stand-alone layer in a graph of its own, for eager use with {@link #apply}. */
    public static LayerNorm create(Config config, DataType dataType) {
        return new LayerNorm(SameDiff.create(), "", config, dataType);
    }

    public Config config() {
        return config;
    }

    @Override
    public Normalization kind() {
        return Normalization.LAYER;
    }

    /** {@code [..., C] -> [..., C]}. */
    @Override
    public SDVariable forward(SDVariable x) {
        // Reduce over axis 1 of a [N, C] view: in M2.1, SameDiff's mean(keepDims, -1) on rank 3 is wrong.
        SDVariable flat = sd.reshape(x, -1, config.width()); // [N, C]
        return Graphs.reshapeLike(forwardRows(flat), x, 1, config.width()); // [..., C]
    }

    /** Rows {@code [N, C] -> [N, C]}: no reshapes. */
    SDVariable forwardRows(SDVariable rows) {
        SDVariable centered = rows.sub(rows.mean(true, 1)); // [N, C]
        SDVariable variance = centered.mul(centered).mean(true, 1); // [N, 1], biased
        SDVariable normalized = Graphs.mulExpanded(centered, sd.math.rsqrt(variance.add(config.eps())));
        return Graphs.mulExpanded(normalized, weight).add(bias);
    }

    @Override
    public org.nd4j.linalg.api.ndarray.INDArray weightArray() {
        return weight.getArr();
    }

    @Override
    public org.nd4j.linalg.api.ndarray.INDArray biasArray() {
        return bias.getArr();
    }

    @Override
    int width() {
        return config.width();
    }

    @Override
    FastNorm newEngine(org.attn4j.kernels.Parallel parallel) {
        return FastNorm.of(this, parallel);
    }
}
