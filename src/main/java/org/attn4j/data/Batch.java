package org.attn4j.data;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One training batch of padded ids.
 *
 * @param source {@code [B, S]} source ids (null for a language model)
 * @param input  {@code [B, T]} decoder input ids (the target shifted right, starting with BOS)
 * @param target {@code [B, T]} ids to predict (padding where there is nothing to predict)
 */
public record Batch(INDArray source, INDArray input, INDArray target) {
    /** Number of target positions that are not padding. */
    public long tokens(int padId) {
        return target.neq(padId).castTo(org.nd4j.linalg.api.buffer.DataType.INT).sumNumber().longValue();
    }
}
