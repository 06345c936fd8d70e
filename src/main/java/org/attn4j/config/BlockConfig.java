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
        boolean rotary, Normalization norm, int kvHeads, boolean alibi, int window, boolean qkvBias, Rope rope)
        implements BlockComponents<BlockConfig> {
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

    /** The same with causal {@code v}: whether self-attention is causal. */
    public BlockConfig withCausal(boolean v) {
        return toBuilder().causal(v).build();
    }

    /** The same with rotary {@code v}: whether self-attention uses rotary position embeddings. */
    public BlockConfig withRotary(boolean v) {
        return toBuilder().rotary(v).build();
    }

    /** The same with alibi {@code v}: whether self-attention adds ALiBi's position biases. */
    public BlockConfig withAlibi(boolean v) {
        return toBuilder().alibi(v).build();
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
    public static final class Builder extends BlockBuilder<BlockConfig, Builder> {
        private boolean crossAttention;
        private boolean causal;
        private boolean rotary;
        private boolean alibi;

        private Builder() {
        }

        private Builder(BlockConfig from) {
            BlockComponents.copy(from, this);
            crossAttention = from.crossAttention;
            causal = from.causal;
            rotary = from.rotary;
            alibi = from.alibi;
        }

        public Builder crossAttention(boolean v) {
            crossAttention = v;
            return this;
        }

        public Builder causal(boolean v) {
            causal = v;
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
        public BlockConfig build() {
            return new BlockConfig(crossAttention, dModel, heads, ffDim, activation, normFirst, causal, dropout,
                    attnDropout, eps, bias, rotary, norm, kvHeads, alibi, window, qkvBias, rope);
        }
    }
}
