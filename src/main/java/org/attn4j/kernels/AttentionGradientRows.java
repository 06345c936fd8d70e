package org.attn4j.kernels;

/**
 * An attention backward's gradient at the output {@code dO}, scratch {@code dp [B, H, tq, tk]} and the input
 * gradients ({@link AttentionKernel#backward}).
 */
public record AttentionGradientRows(Buf dO, Buf dp, Buf dq, Buf dk, Buf dv) {
}
