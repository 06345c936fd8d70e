package org.attn4j.nn;

import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What a {@link TransformerBlock}'s backward returns ({@link BlockPass#backward}); new arrays, the caller's own.
 *
 * @param input      dLoss/dx {@code [B, T, C]}
 * @param memory     dLoss/dMemory {@code [B, Tm, C]} of a block with cross-attention; null without
 * @param parameters dLoss/dParameter by the block's parameter names (as {@code parameters()}), same shapes
 */
public record BlockGradients(INDArray input, INDArray memory, Map<String, INDArray> parameters) {
}
