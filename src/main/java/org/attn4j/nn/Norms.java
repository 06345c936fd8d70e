package org.attn4j.nn;

import org.attn4j.config.Normalization;
import org.nd4j.linalg.api.buffer.DataType;

/** Norms made by kind: what a block's sublayers and a model's final norm use. */
public final class Norms {
    private Norms() {
    }

    /** A new norm of {@code kind}, named {@code name}, over width {@code width}. */
    public static Norm of(Normalization kind, String name, int width, double eps, DataType dataType) {
        return kind == Normalization.RMS ? new RMSNorm(name, new RMSNorm.Config(width, eps), dataType)
                : new LayerNorm(name, new LayerNorm.Config(width, eps), dataType);
    }
}
