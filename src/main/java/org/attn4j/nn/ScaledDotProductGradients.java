package org.attn4j.nn;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What a {@link ScaledDotProductAttention}'s backward returns ({@link ScaledDotProductPass#backward}); the layer
 * has no parameters.
 *
 * @param query dLoss/dQ {@code [B, H, Tq, D]}
 * @param key   dLoss/dK {@code [B, H, Tk, D]}
 * @param value dLoss/dV {@code [B, H, Tk, Dv]}
 */
public record ScaledDotProductGradients(INDArray query, INDArray key, INDArray value) {
}
