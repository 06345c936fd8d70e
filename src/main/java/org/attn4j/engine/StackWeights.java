package org.attn4j.engine;

import org.attn4j.config.NormWeights;
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
 * @param norm           the final norm (a bias-less one is an RMSNorm), or null (post-LN models have none)
 * @param headWeight     output projection {@code [V, C]} (the embedding table when tied)
 * @param headBias       its bias {@code [V]}, or null
 * @param maxLen         most positions a sequence may reach
 * @param dropout        dropout on the embedded tokens while training ({@link ModelEngine}; 0: none)
 */
public record StackWeights(INDArray embedding, boolean scaleEmbedding, INDArray positions, boolean learnedPositions,
        NormWeights norm, INDArray headWeight, INDArray headBias, int maxLen, double dropout) {
    /** The final norm's scale {@code [C]}, or null (none). */
    public INDArray normWeight() {
        return norm == null ? null : norm.weight();
    }

    /** The final norm's shift {@code [C]}, or null (none, or an RMSNorm). */
    public INDArray normBias() {
        return norm == null ? null : norm.bias();
    }

    /** The final norm's kernel (bias null: RMSNorm), or null (post-LN: none). */
    public NormKernel finalNorm() {
        return norm == null ? null : new NormKernel(Buf.of(norm.weight()), norm.bias() == null ? null
                : Buf.of(norm.bias()), norm.eps());
    }
}
