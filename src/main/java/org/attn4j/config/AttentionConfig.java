package org.attn4j.config;

/**
 * A multi-head attention's configuration ({@code org.attn4j.nn.MultiHeadAttention}): widths, heads, key/value
 * heads, masks and position variants, validated here.
 *
 * @param dModel  model width C (queries and output)
 * @param heads   number of heads H; C must be divisible by H
 * @param kDim    width of the keys as given (PyTorch's kdim), C unless cross-attending
 * @param vDim    width of the values as given (PyTorch's vdim)
 * @param bias    whether the four projections have biases
 * @param causal  whether query i may only see keys up to i
 * @param dropout dropout on the attention weights, active only while training
 * @param rotary  whether queries and keys get rotary position embeddings (RoPE); needs an even head width
 * @param kvHeads key/value heads: H (multi-head), a divisor of H (grouped-query: each key/value head
 *                serves H / kvHeads query heads, as PyTorch's {@code enable_gqa}) or 1 (multi-query)
 * @param alibi   whether scores get ALiBi's linear position biases {@code -m_h |i - j|} (Press et al. 2022)
 * @param window  sliding-window (local) attention: query i sees only keys j with {@code |i - j| < window}
 *                (causal: the last {@code window} positions, itself included); 0 for no window
 * @param qkvBias whether the query, key and value projections have biases even when {@code bias} is false
 *                (Qwen2's attention)
 * @param rope    the rotary frequencies (null: {@link Rope#DEFAULT}); used only with {@code rotary}
 */
public record AttentionConfig(int dModel, int heads, int kDim, int vDim, boolean bias, boolean causal, double dropout,
        boolean rotary, int kvHeads, boolean alibi, int window, boolean qkvBias, Rope rope)
        implements AttentionComponents<AttentionConfig> {
    /** Grouped-query attention as before biases on q, k, v alone and the rotary base could be set. */
    public AttentionConfig(int dModel, int heads, int kDim, int vDim, boolean bias, boolean causal, double dropout,
            boolean rotary, int kvHeads, boolean alibi, int window) {
        this(dModel, heads, kDim, vDim, bias, causal, dropout, rotary, kvHeads, alibi, window, false, Rope.DEFAULT);
    }

    /** Multi-head attention (kvHeads = heads), no ALiBi, no window. */
    public AttentionConfig(int dModel, int heads, int kDim, int vDim, boolean bias, boolean causal, double dropout,
            boolean rotary) {
        this(dModel, heads, kDim, vDim, bias, causal, dropout, rotary, heads, false, 0, false, Rope.DEFAULT);
    }

    public AttentionConfig {
        rope = rope == null ? Rope.DEFAULT : rope;
        if (dModel <= 0 || heads <= 0 || kDim <= 0 || vDim <= 0) {
            throw new IllegalArgumentException("dModel, heads, kDim and vDim must be positive, got dModel="
                    + dModel + ", heads=" + heads + ", kDim=" + kDim + ", vDim=" + vDim);
        }
        if (dModel % heads != 0) {
            throw new IllegalArgumentException("dModel " + dModel + " is not divisible by heads " + heads);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("attention dropout must be in [0, 1), got " + dropout);
        }
        if (kvHeads <= 0 || kvHeads > heads || heads % kvHeads != 0) {
            throw new IllegalArgumentException("heads " + heads + " is not a multiple of kvHeads " + kvHeads
                    + " (kvHeads must divide heads; kvHeads = heads is multi-head attention)");
        }
        if (window < 0) {
            throw new IllegalArgumentException("attention window must be 0 (none) or positive, got " + window);
        }
        if (rotary && (dModel / heads) % 2 != 0) {
            throw new IllegalArgumentException("rotary embeddings need an even head width; dModel " + dModel
                    + " / heads " + heads + " = " + dModel / heads);
        }
    }

    /** Self-attention of width dModel with biases, no mask, no dropout. */
    public static AttentionConfig of(int dModel, int heads) {
        return builder().dModel(dModel).heads(heads).kDim(dModel).vDim(dModel).kvHeads(heads).bias(true)
                .rope(Rope.DEFAULT).build();
    }

    /** The same with keys of width {@code kDim} and values of width {@code vDim} as given (cross-attention). */
    public AttentionConfig withKeyValueDims(int kDim, int vDim) {
        return toBuilder().kDim(kDim).vDim(vDim).build();
    }

    /** The same with a causal mask ({@code true}: query i sees keys up to i) or none. */
    public AttentionConfig withCausal(boolean c) {
        return toBuilder().causal(c).build();
    }

    /** The same with dropout {@code p} on the attention weights while training. */
    public AttentionConfig withDropout(double p) {
        return toBuilder().dropout(p).build();
    }

    /** The same with rotary position embeddings on queries and keys ({@code true}) or none. */
    public AttentionConfig withRotary(boolean r) {
        return toBuilder().rotary(r).build();
    }

    /** The same with ALiBi's linear position biases on the scores ({@code true}) or none. */
    public AttentionConfig withAlibi(boolean a) {
        return toBuilder().alibi(a).build();
    }

    /** Width of the keys and values after projection: kvHeads * D. */
    public int kvWidth() {
        return kvHeads * headDim();
    }

    /** Head width D = C / H. */
    public int headDim() {
        return dModel / heads;
    }

    /** A builder with every component unset (0, false or null): set each one the record needs. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this configuration, to change some components and {@link Builder#build} a new one. */
    @Override
    public Builder toBuilder() {
        return new Builder(this);
    }

    /**
     * Sets components one at a time (each setter takes the value the record's component of that name documents)
     * and validates them together in {@link #build}, through the record's constructor.
     */
    public static final class Builder extends AttentionBuilder<AttentionConfig, Builder> {
        private int kDim;
        private int vDim;
        private boolean causal;
        private double dropout;
        private boolean rotary;
        private boolean alibi;

        private Builder() {
        }

        private Builder(AttentionConfig from) {
            AttentionComponents.copy(from, this);
            kDim = from.kDim;
            vDim = from.vDim;
            causal = from.causal;
            dropout = from.dropout;
            rotary = from.rotary;
            alibi = from.alibi;
        }

        public Builder kDim(int v) {
            kDim = v;
            return this;
        }

        public Builder vDim(int v) {
            vDim = v;
            return this;
        }

        public Builder causal(boolean v) {
            causal = v;
            return this;
        }

        public Builder dropout(double v) {
            dropout = v;
            return this;
        }

        public Builder rotary(boolean v) {
            rotary = v;
            return this;
        }

        public Builder alibi(boolean v) {
            alibi = v;
            return this;
        }

        @Override
        public AttentionConfig build() {
            return new AttentionConfig(dModel, heads, kDim, vDim, bias, causal, dropout, rotary, kvHeads, alibi, window,
                    qkvBias, rope);
        }
    }
}
