package org.attn4j.nn;

import org.attn4j.config.Normalization;
import org.nd4j.linalg.api.buffer.DataType;

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
            checkConfig("RMSNorm", width, eps);
        }
    }

    private final Config config;

    public RMSNorm(String name, Config config, DataType dataType) {
        super(name, dataType, Normalization.RMS, config.width(), config.eps());
        this.config = config;
    }

    /** A stand-alone layer (parameter {@code weight}). */
    public static RMSNorm create(Config config, DataType dataType) {
        return new RMSNorm("", config, dataType);
    }

    public Config config() {
        return config;
    }
}
