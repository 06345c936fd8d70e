package org.attn4j.model;

import org.attn4j.config.Activation;
import org.attn4j.config.BlockBuilder;
import org.attn4j.config.BlockComponents;
import org.attn4j.config.BlockConfig;
import org.attn4j.config.Normalization;
import org.attn4j.nn.PositionalEncoding;
import org.attn4j.config.Rope;
import org.attn4j.nn.TransformerBlock;

/**
 * Everything that fixes a model's shape. Saved as JSON in checkpoints.
 *
 * @param sourceVocab    source vocabulary size (encoder-decoder only; 0 for a language model)
 * @param targetVocab    target (or language model) vocabulary size V
 * @param dModel         width C
 * @param heads          attention heads H
 * @param ffDim          feed-forward inner width F
 * @param encoderLayers  encoder blocks (0 for a language model)
 * @param decoderLayers  decoder blocks
 * @param activation     feed-forward nonlinearity
 * @param normFirst      pre-LN (true) or post-LN
 * @param dropout        residual, feed-forward and embedding dropout while training
 * @param attnDropout    attention-weight dropout while training
 * @param positions      positional encoding
 * @param maxLen         longest sequence (size of the position table)
 * @param tieEmbeddings  output projection = target embedding transposed
 * @param scaleEmbedding multiply embeddings by sqrt(C), as in the original Transformer
 * @param eps            LayerNorm eps
 * @param padId          the padding token id: never attended to, never a training target; -1 for a language
 *                       model whose every id is a real token (no padding)
 * @param norm           LayerNorm or RMSNorm, in the blocks and as the final norm (null in an old
 *                       checkpoint's JSON: LayerNorm)
 * @param kvHeads        self-attention's key/value heads: H (multi-head), a divisor of H (grouped-query) or 1
 *                       (multi-query); 0 in an old checkpoint's JSON: H
 * @param bias           whether the blocks' linear layers (and an untied head) have biases
 * @param window         self-attention's sliding window (0: none): a query sees the last {@code window} positions
 * @param qkvBias        whether self-attention's query, key and value projections have biases even when {@code bias}
 *                       is false (Qwen2); false in an old checkpoint's JSON
 * @param rope           rotary frequencies, with rotary positions (null in an old checkpoint's JSON: {@link Rope#DEFAULT})
 */
public record ModelConfig(int sourceVocab, int targetVocab, int dModel, int heads, int ffDim, int encoderLayers,
        int decoderLayers, Activation activation, boolean normFirst, double dropout, double attnDropout,
        PositionalEncoding positions, int maxLen, boolean tieEmbeddings, boolean scaleEmbedding, double eps, int padId,
        Normalization norm, int kvHeads, boolean bias, int window, boolean qkvBias, Rope rope)
        implements BlockComponents<ModelConfig> {

    /** A configuration as before biases on q, k, v alone and the rotary base could be set. */
    public ModelConfig(int sourceVocab, int targetVocab, int dModel, int heads, int ffDim, int encoderLayers,
            int decoderLayers, Activation activation, boolean normFirst, double dropout, double attnDropout,
            PositionalEncoding positions, int maxLen, boolean tieEmbeddings, boolean scaleEmbedding, double eps,
            int padId, Normalization norm, int kvHeads, boolean bias, int window) {
        this(sourceVocab, targetVocab, dModel, heads, ffDim, encoderLayers, decoderLayers, activation, normFirst,
                dropout, attnDropout, positions, maxLen, tieEmbeddings, scaleEmbedding, eps, padId, norm, kvHeads, bias,
                window, false, Rope.DEFAULT);
    }

    public ModelConfig {
        norm = norm == null ? Normalization.LAYER : norm; // checkpoints written before these fields existed
        rope = rope == null ? Rope.DEFAULT : rope;
        kvHeads = kvHeads == 0 ? heads : kvHeads;
        if (targetVocab <= 0 || sourceVocab < 0 || decoderLayers <= 0 || encoderLayers < 0 || maxLen <= 0) {
            throw new IllegalArgumentException("Model sizes must be positive: targetVocab=" + targetVocab
                    + ", sourceVocab=" + sourceVocab + ", encoderLayers=" + encoderLayers + ", decoderLayers="
                    + decoderLayers + ", maxLen=" + maxLen);
        }
        if ((encoderLayers > 0) != (sourceVocab > 0)) {
            throw new IllegalArgumentException("An encoder-decoder needs both sourceVocab and encoderLayers, a language "
                    + "model neither; got sourceVocab=" + sourceVocab + ", encoderLayers=" + encoderLayers);
        }
        if (padId < -1 || padId >= targetVocab || (sourceVocab > 0 && padId >= sourceVocab)) {
            throw new IllegalArgumentException("padId " + padId + " is outside the vocabulary [0, "
                    + targetVocab + ") (or -1: no padding, for a language model)");
        }
        if (padId == -1 && encoderLayers > 0) {
            throw new IllegalArgumentException("An encoder-decoder needs a padding id for its batches; got padId -1");
        }
        if (positions == null) {
            throw new IllegalArgumentException("positions is required (sinusoidal, learned, rotary or none)");
        }
        // The blocks check the remaining sizes with their own messages (fields are not yet assigned here).
        block(true, dModel, heads, ffDim, activation, normFirst, dropout, attnDropout, eps, bias, positions, norm,
                kvHeads, window, qkvBias, rope);
    }

    /**
     * A current-style (LLaMA-like) decoder-only language model: pre-norm blocks with RMSNorm, SwiGLU, rotary
     * positions, multi-head attention ({@link #withKvHeads} makes it grouped-query) and no biases; untied output
     * head, no dropout, id 0 the padding id.
     */
    public static ModelConfig modernLanguageModel(int vocab, int dModel, int heads, int ffDim, int layers, int maxLen) {
        return languageModel(vocab, dModel, heads, ffDim, layers, maxLen).toBuilder().activation(Activation.SWIGLU)
                .positions(PositionalEncoding.ROTARY).tieEmbeddings(false).norm(Normalization.RMS).bias(false).build();
    }

    /** A pre-LN encoder-decoder with one shared vocabulary, learned positions, scaled embeddings, no dropout. */
    public static ModelConfig seq2seq(int vocab, int dModel, int heads, int ffDim, int layers, int maxLen) {
        return languageModel(vocab, dModel, heads, ffDim, layers, maxLen).toBuilder().sourceVocab(vocab)
                .encoderLayers(layers).tieEmbeddings(false).scaleEmbedding(true).build();
    }

    /**
     * A pre-LN decoder-only language model as GPT-2: learned positions, tied embeddings, unscaled
     * embeddings, no dropout, id 0 the padding id (see {@link #withoutPadding()} for a vocabulary whose every
     * id is a token).
     */
    public static ModelConfig languageModel(int vocab, int dModel, int heads, int ffDim, int layers, int maxLen) {
        return builder().targetVocab(vocab).dModel(dModel).heads(heads).kvHeads(heads).ffDim(ffDim)
                .decoderLayers(layers).activation(Activation.GELU).normFirst(true).positions(PositionalEncoding.LEARNED)
                .maxLen(maxLen).tieEmbeddings(true).eps(1e-5).norm(Normalization.LAYER).bias(true).rope(Rope.DEFAULT)
                .build();
    }

    /** The same language model with no padding id: every id is a real token (a character model, say). */
    public ModelConfig withoutPadding() {
        return withPadId(-1);
    }

    public boolean isSeq2Seq() {
        return encoderLayers > 0;
    }

    /** The same with sourceVocab {@code v}: source vocabulary size (encoder-decoder only). */
    public ModelConfig withSourceVocab(int v) {
        return toBuilder().sourceVocab(v).build();
    }

    /** The same with targetVocab {@code v}: target (or language model) vocabulary size. */
    public ModelConfig withTargetVocab(int v) {
        return toBuilder().targetVocab(v).build();
    }

    /** The same with encoderLayers {@code v}: encoder blocks (encoder-decoder only). */
    public ModelConfig withEncoderLayers(int v) {
        return toBuilder().encoderLayers(v).build();
    }

    /** The same with decoderLayers {@code v}: decoder blocks. */
    public ModelConfig withDecoderLayers(int v) {
        return toBuilder().decoderLayers(v).build();
    }

    /** The same with positions {@code v}: positional encoding. */
    public ModelConfig withPositions(PositionalEncoding v) {
        return toBuilder().positions(v).build();
    }

    /** The same with maxLen {@code v}: longest sequence (size of the position table). */
    public ModelConfig withMaxLen(int v) {
        return toBuilder().maxLen(v).build();
    }

    /** The same with tieEmbeddings {@code v}: whether the output projection is the target embedding transposed. */
    public ModelConfig withTiedEmbeddings(boolean v) {
        return toBuilder().tieEmbeddings(v).build();
    }

    /** The same with scaleEmbedding {@code v}: whether embeddings are multiplied by sqrt(C). */
    public ModelConfig withScaleEmbedding(boolean v) {
        return toBuilder().scaleEmbedding(v).build();
    }

    /** The same with padId {@code v}: padding id ({@code -1}: none, see {@link #withoutPadding()}). */
    public ModelConfig withPadId(int v) {
        return toBuilder().padId(v).build();
    }

    /**
     * The configuration of one block, with or without cross-attention: the model's block components, rotary or
     * ALiBi from its positions, not causal (a decoder makes it so).
     */
    public BlockConfig block(boolean crossAttention) {
        return block(crossAttention, dModel, heads, ffDim, activation, normFirst, dropout, attnDropout, eps, bias,
                positions, norm, kvHeads, window, qkvBias, rope);
    }

    /** The one place a model's components become a block's (the constructor validates through it too). */
    private static BlockConfig block(boolean crossAttention, int dModel, int heads, int ffDim, Activation activation,
            boolean normFirst, double dropout, double attnDropout, double eps, boolean bias,
            PositionalEncoding positions, Normalization norm, int kvHeads, int window, boolean qkvBias, Rope rope) {
        // grouped-query, ALiBi and the window act on every block's self-attention; cross-attention keeps H heads
        return BlockConfig.builder().crossAttention(crossAttention).dModel(dModel).heads(heads).ffDim(ffDim)
                .activation(activation).normFirst(normFirst).dropout(dropout).attnDropout(attnDropout).eps(eps)
                .bias(bias).rotary(positions == PositionalEncoding.ROTARY).norm(norm).kvHeads(kvHeads)
                .alibi(positions == PositionalEncoding.ALIBI).window(window).qkvBias(qkvBias).rope(rope).build();
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
     * and validates them together in {@link #build}, through the record's constructor. The blocks' components are
     * {@link BlockBuilder}'s.
     */
    public static final class Builder extends BlockBuilder<ModelConfig, Builder> {
        private int sourceVocab;
        private int targetVocab;
        private int encoderLayers;
        private int decoderLayers;
        private PositionalEncoding positions;
        private int maxLen;
        private boolean tieEmbeddings;
        private boolean scaleEmbedding;
        private int padId;

        private Builder() {
        }

        private Builder(ModelConfig from) {
            BlockComponents.copy(from, this);
            sourceVocab = from.sourceVocab;
            targetVocab = from.targetVocab;
            encoderLayers = from.encoderLayers;
            decoderLayers = from.decoderLayers;
            positions = from.positions;
            maxLen = from.maxLen;
            tieEmbeddings = from.tieEmbeddings;
            scaleEmbedding = from.scaleEmbedding;
            padId = from.padId;
        }

        public Builder sourceVocab(int v) {
            sourceVocab = v;
            return this;
        }

        public Builder targetVocab(int v) {
            targetVocab = v;
            return this;
        }

        public Builder encoderLayers(int v) {
            encoderLayers = v;
            return this;
        }

        public Builder decoderLayers(int v) {
            decoderLayers = v;
            return this;
        }

        public Builder positions(PositionalEncoding v) {
            positions = v;
            return this;
        }

        public Builder maxLen(int v) {
            maxLen = v;
            return this;
        }

        public Builder tieEmbeddings(boolean v) {
            tieEmbeddings = v;
            return this;
        }

        public Builder scaleEmbedding(boolean v) {
            scaleEmbedding = v;
            return this;
        }

        public Builder padId(int v) {
            padId = v;
            return this;
        }

        @Override
        public ModelConfig build() {
            return new ModelConfig(sourceVocab, targetVocab, dModel, heads, ffDim, encoderLayers, decoderLayers,
                    activation, normFirst, dropout, attnDropout, positions, maxLen, tieEmbeddings, scaleEmbedding, eps,
                    padId, norm, kvHeads, bias, window, qkvBias, rope);
        }
    }
}
