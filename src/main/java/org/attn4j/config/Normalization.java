package org.attn4j.config;

import java.util.Arrays;
import java.util.Locale;

/** Which normalization a block's sublayers (and a pre-LN model's final norm) use. */
public enum Normalization {
    /** {@code nn.LayerNorm}: centred, scaled to unit variance, then {@code weight} and {@code bias}. */
    LAYER,
    /** {@code nn.RMSNorm}: scaled to unit root mean square, then {@code weight}; no centring, no bias. */
    RMS;

    /** Parses "layer" (or "layernorm") and "rms" (or "rmsnorm"), in any case. */
    public static Normalization parse(String name) {
        String n = name == null ? "" : name.trim().toUpperCase(Locale.ROOT).replace("NORM", "");
        try {
            return valueOf(n);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("Unknown normalization '" + name + "'; expected one of "
                    + Arrays.toString(values()).toLowerCase(Locale.ROOT));
        }
    }
}
