package org.attn4j.config;

import java.util.Arrays;
import java.util.Locale;

/**
 * Feed-forward activations, with PyTorch's exact definitions (the engine's in {@code org.attn4j.kernels.RowMath}
 * and {@code VectorMath}, the graph's in {@code org.attn4j.samediff.FeedForwardGraph}).
 */
public enum Activation {
    /** max(0, x). */
    RELU,
    /** PyTorch's default GELU, exact: 0.5 x (1 + erf(x / sqrt 2)). ND4J's own gelu is an approximation. */
    GELU,
    /** GELU with PyTorch's tanh approximation ({@code approximate='tanh'}). */
    GELU_TANH,
    /** x * sigmoid(x), also called swish. */
    SILU,
    /** SiLU-gated linear unit: silu(x W1) * (x W3), then W2 (Shazeer 2020). */
    SWIGLU;

    /** Parses "relu", "gelu", "gelu_tanh", "silu" or "swiglu" (any case). */
    public static Activation parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new IllegalArgumentException("Unknown activation '" + name + "'; expected one of "
                    + Arrays.toString(values()).toLowerCase(Locale.ROOT));
        }
    }
}
