package org.attn4j.config;

/**
 * What a {@code nn.TransformerBlock} returns.
 *
 * @param output       {@code [B, T, C]}
 * @param selfWeights  self-attention weights {@code [B, H, T, T]}
 * @param crossWeights cross-attention weights {@code [B, H, T, Tm]} over the memory; null for an
 *                     encoder block
 * @param <T> INDArray or SDVariable
 */
public record BlockOutput<T>(T output, T selfWeights, T crossWeights) {
}
