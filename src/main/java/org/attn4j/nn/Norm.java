package org.attn4j.nn;

import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;

/** A normalization layer over the last dimension: {@link LayerNorm} or {@link RMSNorm}. */
public sealed interface Norm permits NormLayer {
    /** {@code [..., C] -> [..., C]}. */
    SDVariable forward(SDVariable x);

    /** Its name prefix, as its parameters' names start. */
    String name();

    /** Its parameters by full name: {@code weight [C]} (and a LayerNorm's {@code bias [C]}). */
    Map<String, SDVariable> parameters();

    /** The gain {@code weight [C]} (the parameter itself, not a copy). */
    org.nd4j.linalg.api.ndarray.INDArray weightArray();

    /** The bias {@code [C]}, or null (RMSNorm has none). */
    org.nd4j.linalg.api.ndarray.INDArray biasArray();

    /** The kind of norm, {@link Normalization#LAYER} or {@link Normalization#RMS}. */
    Normalization kind();

    /** A new norm of {@code kind}, named {@code name} in {@code sd}, over width {@code width}. */
    static Norm of(Normalization kind, org.nd4j.autodiff.samediff.SameDiff sd, String name, int width, double eps,
            DataType dataType) {
        return kind == Normalization.RMS ? new RMSNorm(sd, name, new RMSNorm.Config(width, eps), dataType)
                : new LayerNorm(sd, name, new LayerNorm.Config(width, eps), dataType);
    }

    /** Rows {@code [N, C] -> [N, C]} without reshapes. */
    static SDVariable rows(Norm norm, SDVariable rows) {
        return norm instanceof LayerNorm l ? l.forwardRows(rows) : ((RMSNorm) norm).forwardRows(rows);
    }
}
