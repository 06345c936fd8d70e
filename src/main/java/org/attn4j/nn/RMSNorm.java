package org.attn4j.nn;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
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
    private final SDVariable weight; // [C]

    public RMSNorm(SameDiff sd, String name, Config config, DataType dataType) {
        super(sd, name, dataType);
        this.config = config;
        this.weight = parameter("weight", Nd4j.ones(dataType, config.width()));
    }

    /** A stand-alone layer in a graph of its own, for eager use with {@link #apply}. */
    public static RMSNorm create(Config config, DataType dataType) {
        return new RMSNorm(SameDiff.create(), "", config, dataType);
    }

    public Config config() {
        return config;
    }

    @Override
    public Normalization kind() {
        return Normalization.RMS;
    }

    /** {@code [..., C] -> [..., C]}. */
    @Override
    public SDVariable forward(SDVariable x) {
        SDVariable flat = sd.reshape(x, -1, config.width()); // [N, C]
        return Graphs.reshapeLike(forwardRows(flat), x, 1, config.width()); // [..., C]
    }

    /** Rows {@code [N, C] -> [N, C]}: no reshapes. */
    SDVariable forwardRows(SDVariable rows) {
        SDVariable meanSquare = rows.mul(rows).mean(true, 1); // [N, 1]
        SDVariable normalized = Graphs.mulExpanded(rows, sd.math.rsqrt(meanSquare.add(config.eps())));
        return Graphs.mulExpanded(normalized, weight);
    }

    @Override
    public org.nd4j.linalg.api.ndarray.INDArray weightArray() {
        return weight.getArr();
    }

    @Override
    public org.nd4j.linalg.api.ndarray.INDArray biasArray() {
        return null;
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
