package org.attn4j.nn;

import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What the backward of a one-input layer's training pass returns: {@link NormPass#backward} (a
 * {@link LayerNorm}'s or {@link RMSNorm}'s) and {@link FeedForwardPass#backward} (a {@link FeedForward}'s).
 *
 * @param input      dLoss/dx, the shape of the layer's input
 * @param parameters dLoss/dParameter by the layer's parameter names (as {@code parameters()}), same shapes
 */
public record LayerGradients(INDArray input, Map<String, INDArray> parameters) {
}
