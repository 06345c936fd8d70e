package org.attn4j.config;

/**
 * A multi-head attention's projections by role: queries, keys, values and output (the layer's own arrays).
 *
 * @param q   {@code [C, C]} (and its bias)
 * @param k   {@code [kvHeads D, kDim]}
 * @param v   {@code [kvHeads D, vDim]}
 * @param out {@code [C, C]}
 */
public record AttentionWeights(LinearWeights q, LinearWeights k, LinearWeights v, LinearWeights out) {
}
