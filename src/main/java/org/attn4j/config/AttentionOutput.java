package org.attn4j.config;

/**
 * What an attention layer returns.
 *
 * @param output  {@code [B, Tq, C]} for multi-head attention, {@code [B, H, Tq, D]} for the bare
 *                scaled dot-product attention
 * @param weights attention weights {@code [B, H, Tq, Tk]}; each row sums to 1, or is all zero for a
 *                query that may attend to nothing
 * @param <T> INDArray or SDVariable
 */
public record AttentionOutput<T>(T output, T weights) {
}
