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
        return new BlockConfig(false, dModel, heads, ffDim, Activation.GELU, true, false, 0, 0, 1e-5, true, false,
                Normalization.LAYER, heads, false, 0, false, Rope.DEFAULT);
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

    /** The same with crossAttention {@code v}: whether the block attends to a memory. */
    public BlockConfig withCrossAttention(boolean v) {
        return new BlockConfig(v, dModel, heads, ffDim, activation, normFirst, causal, dropout, attnDropout, eps, bias,
                rotary, norm, kvHeads, alibi, window, qkvBias, rope);
    }

    /** The same with dModel {@code v}: width C. */
    public BlockConfig withDModel(int v) {
        return new BlockConfig(crossAttention, v, heads, ffDim, activation, normFirst, causal, dropout, attnDropout, eps,
                bias, rotary, norm, kvHeads, alibi, window, qkvBias, rope);
    }

    /**
     * The same with {@code v} attention heads; multi-head self-attention stays multi-head (kvHeads follows), a
     * grouped-query one keeps its kvHeads.
     */
    public BlockConfig withHeads(int v) {
        return new BlockConfig(crossAttention, dModel, v, ffDim, activation, normFirst, causal, dropout, attnDropout,
                eps, bias, rotary, norm, kvHeads == heads ? v : kvHeads, alibi, window, qkvBias, rope);
    }

    /** The same with ffDim {@code v}: feed-forward inner width F. */
    public BlockConfig withFfDim(int v) {
        return new BlockConfig(crossAttention, dModel, heads, v, activation, normFirst, causal, dropout, attnDropout,
                eps, bias, rotary, norm, kvHeads, alibi, window, qkvBias, rope);
    }

    /** The same with activation {@code v}: feed-forward nonlinearity. */
    public BlockConfig withActivation(Activation v) {
        return new BlockConfig(crossAttention, dModel, heads, ffDim, v, normFirst, causal, dropout, attnDropout, eps,
                bias, rotary, norm, kvHeads, alibi, window, qkvBias, rope);
    }

    /** The same with normFirst {@code v}: pre-LN ({@code true}) or post-LN. */
    public BlockConfig withNormFirst(boolean v) {
        return new BlockConfig(crossAttention, dModel, heads, ffDim, activation, v, causal, dropout, attnDropout, eps,
                bias, rotary, norm, kvHeads, alibi, window, qkvBias, rope);
    }

    /** The same with causal {@code v}: whether self-attention is causal. */
    public BlockConfig withCausal(boolean v) {
        return new BlockConfig(crossAttention, dModel, heads, ffDim, activation, normFirst, v, dropout, attnDropout, eps,
                bias, rotary, norm, kvHeads, alibi, window, qkvBias, rope);
    }

    /** The same with dropout {@code v}: residual and feed-forward dropout while training. */
    public BlockConfig withDropout(double v) {
        return new BlockConfig(crossAttention, dModel, heads, ffDim, activation, normFirst, causal, v, attnDropout, eps,
                bias, rotary, norm, kvHeads, alibi, window, qkvBias, rope);
    }

    /** The same with attnDropout {@code v}: attention-weight dropout while training. */
    public BlockConfig withAttnDropout(double v) {
        return new BlockConfig(crossAttention, dModel, heads, ffDim, activation, normFirst, causal, dropout, v, eps,
                bias, rotary, norm, kvHeads, alibi, window, qkvBias, rope);
    }

    /** The same with eps {@code v}: norm eps. */
    public BlockConfig withEps(double v) {
        return new BlockConfig(crossAttention, dModel, heads, ffDim, activation, normFirst, causal, dropout, attnDropout,
                v, bias, rotary, norm, kvHeads, alibi, window, qkvBias, rope);
    }

    /** The same with bias {@code v}: whether linear layers have biases. */
    public BlockConfig withBias(boolean v) {
        return new BlockConfig(crossAttention, dModel, heads, ffDim, activation, normFirst, causal, dropout, attnDropout,
                eps, v, rotary, norm, kvHeads, alibi, window, qkvBias, rope);
    }

    /** The same with rotary {@code v}: whether self-attention uses rotary position embeddings. */
    public BlockConfig withRotary(boolean v) {
        return new BlockConfig(crossAttention, dModel, heads, ffDim, activation, normFirst, causal, dropout, attnDropout,
                eps, bias, v, norm, kvHeads, alibi, window, qkvBias, rope);
    }

    /** The same with norm {@code v}: LayerNorm or RMSNorm for norm1..3. */
    public BlockConfig withNorm(Normalization v) {
        return new BlockConfig(crossAttention, dModel, heads, ffDim, activation, normFirst, causal, dropout, attnDropout,
                eps, bias, rotary, v, kvHeads, alibi, window, qkvBias, rope);
    }

    /** The same with kvHeads {@code v}: self-attention's key/value heads (1: multi-query). */
    public BlockConfig withKvHeads(int v) {
        return new BlockConfig(crossAttention, dModel, heads, ffDim, activation, normFirst, causal, dropout, attnDropout,
                eps, bias, rotary, norm, v, alibi, window, qkvBias, rope);
    }

    /** The same with alibi {@code v}: whether self-attention adds ALiBi's position biases. */
    public BlockConfig withAlibi(boolean v) {
        return new BlockConfig(crossAttention, dModel, heads, ffDim, activation, normFirst, causal, dropout, attnDropout,
                eps, bias, rotary, norm, kvHeads, v, window, qkvBias, rope);
    }

    /** The same with qkvBias {@code v}: biases on self-attention's q, k and v even without {@code bias}. */
    public BlockConfig withQkvBias(boolean v) {
        return new BlockConfig(crossAttention, dModel, heads, ffDim, activation, normFirst, causal, dropout, attnDropout,
                eps, bias, rotary, norm, kvHeads, alibi, window, v, rope);
    }

    /** The same with rope {@code v}: rotary frequencies. */
    public BlockConfig withRope(Rope v) {
        return new BlockConfig(crossAttention, dModel, heads, ffDim, activation, normFirst, causal, dropout, attnDropout,
                eps, bias, rotary, norm, kvHeads, alibi, window, qkvBias, v);
    }

    /** The same with window {@code v}: self-attention's sliding window (0: none). */
    public BlockConfig withWindow(int v) {
        return new BlockConfig(crossAttention, dModel, heads, ffDim, activation, normFirst, causal, dropout, attnDropout,
                eps, bias, rotary, norm, kvHeads, alibi, v, qkvBias, rope);
    }
}
