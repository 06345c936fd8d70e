package org.attn4j.nn;

import org.attn4j.config.Normalization;
import org.nd4j.linalg.api.buffer.DataType;

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
            checkConfig("LayerNorm", width, eps);
        }

        /** PyTorch's default eps 1e-5. */
        public static Config of(int width) {
            return new Config(width, 1e-5);
        }
    }

    private final Config config;

    public LayerNorm(String name, Config config, DataType dataType) {
        super(name, dataType, Normalization.LAYER, config.width(), config.eps());
        this.config = config;
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
}
