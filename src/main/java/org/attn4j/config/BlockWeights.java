package org.attn4j.config;

/**
 * A transformer block's parameters by sublayer: each sublayer's function and its norm (the block's own arrays).
 *
 * @param selfAttention   the self-attention
 * @param selfNorm        its norm
 * @param crossAttention  the cross-attention over a memory, or null (a self-attention block)
 * @param crossNorm       its norm, or null
 * @param feedForward     the feed-forward
 * @param feedForwardNorm its norm
 */
public record BlockWeights(AttentionWeights selfAttention, NormWeights selfNorm, AttentionWeights crossAttention,
        NormWeights crossNorm, FeedForwardWeights feedForward, NormWeights feedForwardNorm) {
}
