package org.attn4j.nn;

import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What a {@link MultiHeadAttention}'s backward returns ({@link AttentionPass#backward}).
 *
 * @param query      dLoss/dQuery {@code [B, Tq, C]}
 * @param key        dLoss/dKey {@code [B, Tk, kDim]}
 * @param value      dLoss/dValue {@code [B, Tk, vDim]}
 * @param parameters dLoss/dParameter by the layer's parameter names (as {@code parameters()}), same shapes
 */
public record AttentionGradients(INDArray query, INDArray key, INDArray value, Map<String, INDArray> parameters) {
    /** Self-attention's gradient with respect to its one input x (query = key = value = x): the three summed. */
    public INDArray input() {
        if (!java.util.Arrays.equals(query.shape(), key.shape()) || !java.util.Arrays.equals(key.shape(), value.shape())) {
            throw new IllegalStateException("input() is the gradient of a self-attention's one input; query "
                    + java.util.Arrays.toString(query.shape()) + ", key " + java.util.Arrays.toString(key.shape())
                    + " and value " + java.util.Arrays.toString(value.shape()) + " differ in shape: use them one by one");
        }
        return query.add(key).addi(value);
    }
}
