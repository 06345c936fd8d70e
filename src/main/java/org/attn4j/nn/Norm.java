package org.attn4j.nn;

import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** A normalization layer over the last dimension: {@link LayerNorm} or {@link RMSNorm}. */
public sealed interface Norm permits NormLayer {
    /** Its name prefix, as its parameters' names start. */
    String name();

    /** Its parameters by full name: {@code weight [C]} (and a LayerNorm's {@code bias [C]}). */
    Map<String, INDArray> parameters();

    /** The gain {@code weight [C]} (the parameter itself, not a copy). */
    INDArray weightArray();

    /** The bias {@code [C]}, or null (RMSNorm has none). */
    INDArray biasArray();

    /** C, the size of the normalized last dimension. */
    int width();

    /** Added inside the square root. */
    double eps();

    /** Its arrays by role, with its name and eps (what the engine reads). */
    default org.attn4j.config.NormWeights weights() {
        return new org.attn4j.config.NormWeights(name(), weightArray(), biasArray(), eps());
    }

    /** The kind of norm, {@link Normalization#LAYER} or {@link Normalization#RMS}. */
    Normalization kind();

    /** A new norm of {@code kind}, named {@code name}, over width {@code width}. */
    static Norm of(Normalization kind, String name, int width, double eps, DataType dataType) {
        return kind == Normalization.RMS ? new RMSNorm(name, new RMSNorm.Config(width, eps), dataType)
                : new LayerNorm(name, new LayerNorm.Config(width, eps), dataType);
    }
}
