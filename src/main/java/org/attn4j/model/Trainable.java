package org.attn4j.model;

import java.util.Map;
import org.attn4j.kernels.DropoutSeed;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What a trainer updates: the arrays it changes in place, and the loss of a batch with their gradients. A
 * {@link TransformerModel} trains every weight; {@link LoraAdapters} train only the adapters, the base model's
 * weights frozen (no gradient, no optimizer state, never copied).
 */
public interface Trainable {
    /** The model whose forward pass computes the loss (the adapters' base, for {@link LoraAdapters}). */
    TransformerModel model();

    /** The trained arrays by name, updated in place; their gradients come by the same names. */
    Map<String, INDArray> parameters();

    /** A new workspace for {@link #lossAndGradients}: one per thread. */
    TransformerModel.EngineState newEngineState();

    /**
     * Mean loss of {@code target [B, T]} given {@code input [B, T]} (and an encoder-decoder's {@code source}), with
     * label smoothing, and when {@code withGradients} the gradient of every array of {@link #parameters()}; dropout
     * with the masks of {@code dropout} (null: none).
     */
    TransformerModel.LossAndGradients lossAndGradients(TransformerModel.EngineState s, INDArray source,
            INDArray input, INDArray target, double smoothing, boolean withGradients, DropoutSeed dropout);
}
