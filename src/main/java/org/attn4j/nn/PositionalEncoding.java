package org.attn4j.nn;

import java.util.Arrays;
import java.util.Locale;

/** How a model tells positions apart. */
public enum PositionalEncoding {
    /** Fixed sines and cosines added to the embeddings (Vaswani et al. 2017, section 3.5). */
    SINUSOIDAL,
    /** A learned vector per position added to the embeddings, as in BERT and GPT-2. */
    LEARNED,
    /** Rotary embeddings applied to queries and keys in self-attention (Su et al. 2021). */
    ROTARY,
    /** ALiBi: no embedding; each self-attention head adds {@code -m_h |i - j|} to its scores ({@link org.attn4j.kernels.Alibi}). */
    ALIBI,
    /** No position information (the model sees a bag of tokens). */
    NONE;

    /** Parses "sinusoidal", "learned", "rotary" (or "rope"), "alibi" and "none", in any case. */
    public static PositionalEncoding parse(String name) {
        String n = name == null ? "" : name.trim().toUpperCase(Locale.ROOT);
        if (n.equals("ROPE")) {
            return ROTARY;
        }
        try {
            return valueOf(n);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("Unknown positional encoding '" + name + "'; expected one of "
                    + Arrays.toString(values()).toLowerCase(Locale.ROOT) + " or rope");
        }
    }
}
