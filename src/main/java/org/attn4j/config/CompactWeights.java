package org.attn4j.config;

/**
 * A weight matrix {@code [out, in]} held in a compact {@link WeightFormat} (bfloat16 or int8) for inference: the
 * engine's products read it directly, and there is no float32 copy of it. Implemented by
 * {@code org.attn4j.kernels.CompactMatrix}; here so that a layer's weights record ({@link LinearWeights}) can carry
 * it.
 */
public interface CompactWeights {
    WeightFormat format();

    /** Output width: rows of the matrix. */
    int rows();

    /** Input width: columns of the matrix. */
    int columns();

    /** Bytes the matrix holds (weights and scales). */
    long bytes();
}
