package org.attn4j.config;

/**
 * A feed-forward layer's projections by role (the layer's own arrays).
 *
 * @param linear1 {@code [F, C]}
 * @param linear2 {@code [C, F]}
 * @param gate    SwiGLU's gate {@code [F, C]}, or null (other activations)
 */
public record FeedForwardWeights(LinearWeights linear1, LinearWeights linear2, LinearWeights gate) {
}
