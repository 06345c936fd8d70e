package org.attn4j.nn;

/**
 * Keys and values an attention layer has already computed, kept so incremental decoding projects
 * only the new tokens: both {@code [B, H, T, D]} (keys already rotated when RoPE is on).
 *
 * @param <T> INDArray or SDVariable
 */
public record KvCache<T>(T keys, T values) {
}
