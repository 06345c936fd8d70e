package org.attn4j.engine;

import org.attn4j.kernels.Buf;
import org.attn4j.kernels.NormKernel;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A stack's weights outside its blocks: embedding, positions, final norm and (a decoder's) output head, the
 * model's own arrays.
 *
 * @param embedding      token table {@code [V, C]}
 * @param scaleEmbedding whether embeddings are multiplied by sqrt(C)
 * @param positions      position table {@code [maxLen, C]} added to the embeddings, or null (none)
 * @param learnedPositions whether that table is a parameter (learned) rather than fixed (sinusoidal)
 * @param normWeight     final LayerNorm scale {@code [C]}, or null (post-LN models have none)
 * @param normBias       its shift {@code [C]}; null with a normWeight: the final norm is an RMSNorm
 * @param eps            its eps
 * @param headWeight     output projection {@code [V, C]} (the embedding table when tied)
 * @param headBias       its bias {@code [V]}, or null
 * @param maxLen         most positions a sequence may reach
 * @param dropout        dropout on the embedded tokens while training ({@link ModelEngine}; 0: none)
 */
public record StackWeights(INDArray embedding, boolean scaleEmbedding, INDArray positions, boolean learnedPositions,
        INDArray normWeight,
        INDArray normBias, double eps, INDArray headWeight, INDArray headBias, int maxLen, double dropout) {
    /** The final norm's kernel (bias null: RMSNorm), or null (post-LN: none). */
    public NormKernel finalNorm() {
        return normWeight == null ? null : new NormKernel(Buf.of(normWeight), normBias == null ? null : Buf.of(normBias),
                eps);
    }
}
