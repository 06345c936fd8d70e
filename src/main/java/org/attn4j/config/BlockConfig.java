package org.attn4j.config;

/**
 * A transformer block's configuration ({@code org.attn4j.nn.TransformerBlock} builds it; the engine runs it): its
 * widths, heads, norms and attention variants, validated here.
 *
 * @param crossAttention whether the block attends to a memory between self-attention and feed-forward (the
 *                    decoder block of an encoder-decoder); without it a block is self-attention and
 *                    feed-forward only (an encoder's block, or a decoder-only model's with causal set)
 * @param dModel      width C
 * @param heads       attention heads H
 * @param ffDim       feed-forward inner width F
 * @param activation  feed-forward nonlinearity
 * @param normFirst   pre-LN when true, post-LN (the original) when false
 * @param causal      whether self-attention is causal (a decoder's usually is)
 * @param dropout     residual and feed-forward dropout, active only while training
 * @param attnDropout dropout on the attention weights, active only while training
 * @param eps         LayerNorm eps
 * @param bias        whether linear layers have biases
 * @param rotary      whether self-attention uses rotary position embeddings (RoPE)
 * @param norm        LayerNorm or RMSNorm (no bias) for norm1..3
 * @param kvHeads     self-attention's key/value heads (H: multi-head; a divisor of H: grouped-query; 1:
 *                    multi-query); cross-attention keeps H
 * @param alibi       whether self-attention adds ALiBi's linear position biases
 * @param window      self-attention's sliding window (query i sees keys j with |i - j| &lt; window); 0: none
 * @param qkvBias     whether self-attention's query, key and value projections have biases even when
 *                    {@code bias} is false (Qwen2)
 * @param rope        rotary frequencies (null: {@link Rope#DEFAULT}); used only with {@code rotary}
 */
public record BlockConfig(boolean crossAttention, int dModel, int heads, int ffDim, Activation activation,
        boolean normFirst, boolean causal, double dropout, double attnDropout, double eps, boolean bias,
        boolean rotary, Normalization norm, int kvHeads, boolean alibi, int window, boolean qkvBias, Rope rope) {
    /** A block as before biases on q, k, v alone and the rotary base could be set. */
    public BlockConfig(boolean crossAttention, int dModel, int heads, int ffDim, Activation activation,
            boolean normFirst, boolean causal, double dropout, double attnDropout, double eps, boolean bias,
            boolean rotary, Normalization norm, int kvHeads, boolean alibi, int window) {
        this(crossAttention, dModel, heads, ffDim, activation, normFirst, causal, dropout, attnDropout, eps, bias,
                rotary, norm, kvHeads, alibi, window, false, Rope.DEFAULT);
    }

    public BlockConfig {
        rope = rope == null ? Rope.DEFAULT : rope;
        if (norm == null) {
            throw new IllegalArgumentException("norm is required but was null");
        }
        // The sub-layer configs check the rest; build them once here so errors surface early.
        new AttentionConfig(dModel, heads, dModel, dModel, bias, causal, attnDropout, rotary, kvHeads, alibi, window,
                qkvBias, rope);
        new FeedForwardConfig(dModel, ffDim, activation, bias, dropout);
        if (!(eps > 0 && Double.isFinite(eps))) { // as LayerNorm's config says it
            throw new IllegalArgumentException("LayerNorm eps must be a positive finite number, got " + eps);
        }
    }

    /**
     * Pre-LN block without cross-attention (as PyTorch's {@code TransformerEncoderLayer} with
     * {@code norm_first}): GELU, LayerNorm, biases, not causal, no dropout.
     */
    public static BlockConfig encoder(int dModel, int heads, int ffDim) {
        return builder().dModel(dModel).heads(heads).kvHeads(heads).ffDim(ffDim).activation(Activation.GELU)
                .normFirst(true).eps(1e-5).bias(true).norm(Normalization.LAYER).rope(Rope.DEFAULT).build();
    }

    /**
     * Pre-LN block with causal self-attention and cross-attention (as PyTorch's {@code TransformerDecoderLayer}
     * with {@code norm_first} and a causal target mask): GELU, LayerNorm, biases, no dropout.
     */
    public static BlockConfig decoder(int dModel, int heads, int ffDim) {
        return encoder(dModel, heads, ffDim).withCrossAttention(true).withCausal(true);
    }

    /**
     * A current-style (LLaMA-like) causal self-attention block: pre-norm with RMSNorm, SwiGLU feed-forward,
     * rotary positions, grouped-query attention with {@code kvHeads} key/value heads, no biases, no dropout.
     */
    public static BlockConfig modern(int dModel, int heads, int kvHeads, int ffDim) {
        return encoder(dModel, heads, ffDim).withCausal(true).withActivation(Activation.SWIGLU).withBias(false)
                .withRotary(true).withNorm(Normalization.RMS).withKvHeads(kvHeads);
    }

    /** Self-attention's configuration: the block's attention components, keys and values of width C. */
    public AttentionConfig selfAttentionConfig() {
        return new AttentionConfig(dModel, heads, dModel, dModel, bias, causal, attnDropout, rotary, kvHeads, alibi,
                window, qkvBias, rope);
    }

    /**
     * Cross-attention's configuration: H heads over a memory of width C with the block's biases and attention
     * dropout; no mask, key/value grouping or position variant (those act on self-attention only).
     */
    public AttentionConfig crossAttentionConfig() {
        return AttentionConfig.of(dModel, heads).toBuilder().bias(bias).dropout(attnDropout).build();
    }

    /** The feed-forward sublayer's configuration. */
    public FeedForwardConfig feedForwardConfig() {
        return new FeedForwardConfig(dModel, ffDim, activation, bias, dropout);
    }

    /** The same with crossAttention {@code v}: whether the block attends to a memory. */
    public BlockConfig withCrossAttention(boolean v) {
        return toBuilder().crossAttention(v).build();
    }

    /** The same with dModel {@code v}: width C. */
    public BlockConfig withDModel(int v) {
        return toBuilder().dModel(v).build();
    }

    /**
     * The same with {@code v} attention heads; multi-head self-attention stays multi-head (kvHeads follows), a
     * grouped-query one keeps its kvHeads.
     */
    public BlockConfig withHeads(int v) {
        return toBuilder().heads(v).kvHeads(kvHeads == heads ? v : kvHeads).build();
    }

    /** The same with ffDim {@code v}: feed-forward inner width F. */
    public BlockConfig withFfDim(int v) {
        return toBuilder().ffDim(v).build();
    }

    /** The same with activation {@code v}: feed-forward nonlinearity. */
    public BlockConfig withActivation(Activation v) {
        return toBuilder().activation(v).build();
    }

    /** The same with normFirst {@code v}: pre-LN ({@code true}) or post-LN. */
    public BlockConfig withNormFirst(boolean v) {
        return toBuilder().normFirst(v).build();
    }

    /** The same with causal {@code v}: whether self-attention is causal. */
    public BlockConfig withCausal(boolean v) {
        return toBuilder().causal(v).build();
    }

    /** The same with dropout {@code v}: residual and feed-forward dropout while training. */
    public BlockConfig withDropout(double v) {
        return toBuilder().dropout(v).build();
    }

    /** The same with attnDropout {@code v}: attention-weight dropout while training. */
    public BlockConfig withAttnDropout(double v) {
        return toBuilder().attnDropout(v).build();
    }

    /** The same with eps {@code v}: norm eps. */
    public BlockConfig withEps(double v) {
        return toBuilder().eps(v).build();
    }

    /** The same with bias {@code v}: whether linear layers have biases. */
    public BlockConfig withBias(boolean v) {
        return toBuilder().bias(v).build();
    }

    /** The same with rotary {@code v}: whether self-attention uses rotary position embeddings. */
    public BlockConfig withRotary(boolean v) {
        return toBuilder().rotary(v).build();
    }

    /** The same with norm {@code v}: LayerNorm or RMSNorm for norm1..3. */
    public BlockConfig withNorm(Normalization v) {
        return toBuilder().norm(v).build();
    }

    /** The same with kvHeads {@code v}: self-attention's key/value heads (1: multi-query). */
    public BlockConfig withKvHeads(int v) {
        return toBuilder().kvHeads(v).build();
    }

    /** The same with alibi {@code v}: whether self-attention adds ALiBi's position biases. */
    public BlockConfig withAlibi(boolean v) {
        return toBuilder().alibi(v).build();
    }

    /** The same with qkvBias {@code v}: biases on self-attention's q, k and v even without {@code bias}. */
    public BlockConfig withQkvBias(boolean v) {
        return toBuilder().qkvBias(v).build();
    }

    /** The same with rope {@code v}: rotary frequencies. */
    public BlockConfig withRope(Rope v) {
        return toBuilder().rope(v).build();
    }

    /** The same with window {@code v}: self-attention's sliding window (0: none). */
    public BlockConfig withWindow(int v) {
        return toBuilder().window(v).build();
    }

    /** A builder with every component unset (0, false or null): set each one the record needs. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this configuration, to change some components and {@link Builder#build} a new one. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.crossAttention = crossAttention;
        b.dModel = dModel;
        b.heads = heads;
        b.ffDim = ffDim;
        b.activation = activation;
        b.normFirst = normFirst;
        b.causal = causal;
        b.dropout = dropout;
        b.attnDropout = attnDropout;
        b.eps = eps;
        b.bias = bias;
        b.rotary = rotary;
        b.norm = norm;
        b.kvHeads = kvHeads;
        b.alibi = alibi;
        b.window = window;
        b.qkvBias = qkvBias;
        b.rope = rope;
        return b;
    }

    /**
     * Sets components one at a time (each setter takes the value the record's component of that name documents)
     * and validates them together in {@link #build}, through the record's constructor.
     */
    public static final class Builder {
        private boolean crossAttention;
        private int dModel;
        private int heads;
        private int ffDim;
        private Activation activation;
        private boolean normFirst;
        private boolean causal;
        private double dropout;
        private double attnDropout;
        private double eps;
        private boolean bias;
        private boolean rotary;
        private Normalization norm;
        private int kvHeads;
        private boolean alibi;
        private int window;
        private boolean qkvBias;
        private Rope rope;

        private Builder() {
        }

        public Builder crossAttention(boolean v) {
            crossAttention = v;
            return this;
        }

        public Builder dModel(int v) {
            dModel = v;
            return this;
        }

        public Builder heads(int v) {
            heads = v;
            return this;
        }

        public Builder ffDim(int v) {
            ffDim = v;
            return this;
        }

        public Builder activation(Activation v) {
            activation = v;
            return this;
        }

        public Builder normFirst(boolean v) {
            normFirst = v;
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

        public Builder attnDropout(double v) {
            attnDropout = v;
            return this;
        }

        public Builder eps(double v) {
            eps = v;
            return this;
        }

        public Builder bias(boolean v) {
            bias = v;
            return this;
        }

        public Builder rotary(boolean v) {
            rotary = v;
            return this;
        }

        public Builder norm(Normalization v) {
            norm = v;
            return this;
        }

        public Builder kvHeads(int v) {
            kvHeads = v;
            return this;
        }

        public Builder alibi(boolean v) {
            alibi = v;
            return this;
        }

        public Builder window(int v) {
            window = v;
            return this;
        }

        public Builder qkvBias(boolean v) {
            qkvBias = v;
            return this;
        }

        public Builder rope(Rope v) {
            rope = v;
            return this;
        }

        /** The configuration, validated as the record's constructor validates any. */
        public BlockConfig build() {
            return new BlockConfig(crossAttention, dModel, heads, ffDim, activation, normFirst, causal, dropout,
                    attnDropout, eps, bias, rotary, norm, kvHeads, alibi, window, qkvBias, rope);
        }
    }
}
