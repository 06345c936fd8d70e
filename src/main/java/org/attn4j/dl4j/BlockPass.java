package org.attn4j.dl4j;

import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * How {@link TransformerBlockLayerImpl} runs its block ({@link EngineBlock}, on the engine): it takes DL4J's
 * arrays as they come and gives attn4j's layout back; the layer converts at its boundary. Called
 * outside DL4J's workspaces.
 */
interface BlockPass {
    /**
     * The block's output {@code [B, T, C]} on DL4J's input {@code [B, C, T]} with its feature mask
     * {@code keep [B, T]} (1 = real step; null: every step), with the weights in {@code params}
     * (DL4J's parameter views by DL4J key).
     */
    INDArray forward(Map<String, INDArray> params, INDArray input, INDArray keep);

    /**
     * The vector-Jacobian products of DL4J's {@code epsilon [B, C, T]} (the loss's gradient at the
     * output) for the same input and mask: the parameters' written into {@code gradientViews} (by DL4J
     * key), the input's returned {@code [B, T, C]}.
     */
    INDArray backward(Map<String, INDArray> params, INDArray input, INDArray keep, INDArray epsilon,
            Map<String, INDArray> gradientViews);
}
