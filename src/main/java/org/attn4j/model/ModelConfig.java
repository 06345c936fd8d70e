package org.attn4j.model;

import org.attn4j.config.Activation;
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
        Normalization norm, int kvHeads, boolean bias, int window, boolean qkvBias, Rope rope) {

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
        // The layers check the remaining sizes with their own messages (fields are not yet assigned here).
        new BlockConfig(true, dModel, heads, ffDim, activation, normFirst, true,
                dropout, attnDropout, eps, bias, positions == PositionalEncoding.ROTARY, norm, kvHeads,
                positions == PositionalEncoding.ALIBI, window, qkvBias, rope);
    }

    /**
     * A current-style (LLaMA-like) decoder-only language model: pre-norm blocks with RMSNorm, SwiGLU, rotary
     * positions, multi-head attention ({@link #withKvHeads} makes it grouped-query) and no biases; untied output
     * head, no dropout, id 0 the padding id.
     */
    public static ModelConfig modernLanguageModel(int vocab, int dModel, int heads, int ffDim, int layers, int maxLen) {
        return languageModel(vocab, dModel, heads, ffDim, layers, maxLen).withActivation(Activation.SWIGLU)
                .withPositions(PositionalEncoding.ROTARY).withTiedEmbeddings(false).withNorm(Normalization.RMS)
                .withBias(false);
    }

    /** A pre-LN encoder-decoder with one shared vocabulary, learned positions, scaled embeddings, no dropout. */
    public static ModelConfig seq2seq(int vocab, int dModel, int heads, int ffDim, int layers, int maxLen) {
        return new ModelConfig(vocab, vocab, dModel, heads, ffDim, layers, layers, Activation.GELU, true, 0, 0,
                PositionalEncoding.LEARNED, maxLen, false, true, 1e-5, 0, Normalization.LAYER, heads, true, 0, false, Rope.DEFAULT);
    }

    /**
     * A pre-LN decoder-only language model as GPT-2: learned positions, tied embeddings, unscaled
     * embeddings, no dropout, id 0 the padding id (see {@link #withoutPadding()} for a vocabulary whose every
     * id is a token).
     */
    public static ModelConfig languageModel(int vocab, int dModel, int heads, int ffDim, int layers, int maxLen) {
        return new ModelConfig(0, vocab, dModel, heads, ffDim, 0, layers, Activation.GELU, true, 0, 0,
                PositionalEncoding.LEARNED, maxLen, true, false, 1e-5, 0, Normalization.LAYER, heads, true, 0, false, Rope.DEFAULT);
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
        return new ModelConfig(v, targetVocab, dModel, heads, ffDim, encoderLayers, decoderLayers, activation,
                normFirst, dropout, attnDropout, positions, maxLen, tieEmbeddings, scaleEmbedding, eps, padId, norm,
                kvHeads, bias, window, qkvBias, rope);
    }

    /** The same with targetVocab {@code v}: target (or language model) vocabulary size. */
    public ModelConfig withTargetVocab(int v) {
        return new ModelConfig(sourceVocab, v, dModel, heads, ffDim, encoderLayers, decoderLayers, activation,
                normFirst, dropout, attnDropout, positions, maxLen, tieEmbeddings, scaleEmbedding, eps, padId, norm,
                kvHeads, bias, window, qkvBias, rope);
    }

    /** The same with dModel {@code v}: width C. */
    public ModelConfig withDModel(int v) {
        return new ModelConfig(sourceVocab, targetVocab, v, heads, ffDim, encoderLayers, decoderLayers, activation,
                normFirst, dropout, attnDropout, positions, maxLen, tieEmbeddings, scaleEmbedding, eps, padId, norm,
                kvHeads, bias, window, qkvBias, rope);
    }

    /**
     * The same with {@code v} attention heads; multi-head self-attention stays multi-head (kvHeads follows), a
     * grouped-query one keeps its kvHeads.
     */
    public ModelConfig withHeads(int v) {
        return new ModelConfig(sourceVocab, targetVocab, dModel, v, ffDim, encoderLayers, decoderLayers, activation,
                normFirst, dropout, attnDropout, positions, maxLen, tieEmbeddings, scaleEmbedding, eps, padId, norm,
                kvHeads == heads ? v : kvHeads, bias, window, qkvBias, rope);
    }

    /** The same with ffDim {@code v}: feed-forward inner width. */
    public ModelConfig withFfDim(int v) {
        return new ModelConfig(sourceVocab, targetVocab, dModel, heads, v, encoderLayers, decoderLayers, activation,
                normFirst, dropout, attnDropout, positions, maxLen, tieEmbeddings, scaleEmbedding, eps, padId, norm,
                kvHeads, bias, window, qkvBias, rope);
    }

    /** The same with encoderLayers {@code v}: encoder blocks (encoder-decoder only). */
    public ModelConfig withEncoderLayers(int v) {
        return new ModelConfig(sourceVocab, targetVocab, dModel, heads, ffDim, v, decoderLayers, activation, normFirst,
                dropout, attnDropout, positions, maxLen, tieEmbeddings, scaleEmbedding, eps, padId, norm, kvHeads, bias,
                window, qkvBias, rope);
    }

    /** The same with decoderLayers {@code v}: decoder blocks. */
    public ModelConfig withDecoderLayers(int v) {
        return new ModelConfig(sourceVocab, targetVocab, dModel, heads, ffDim, encoderLayers, v, activation, normFirst,
                dropout, attnDropout, positions, maxLen, tieEmbeddings, scaleEmbedding, eps, padId, norm, kvHeads, bias,
                window, qkvBias, rope);
    }

    /** The same with activation {@code v}: feed-forward nonlinearity. */
    public ModelConfig withActivation(Activation v) {
        return new ModelConfig(sourceVocab, targetVocab, dModel, heads, ffDim, encoderLayers, decoderLayers, v,
                normFirst, dropout, attnDropout, positions, maxLen, tieEmbeddings, scaleEmbedding, eps, padId, norm,
                kvHeads, bias, window, qkvBias, rope);
    }

    /** The same with normFirst {@code v}: pre-LN ({@code true}) or post-LN. */
    public ModelConfig withNormFirst(boolean v) {
        return new ModelConfig(sourceVocab, targetVocab, dModel, heads, ffDim, encoderLayers, decoderLayers, activation,
                v, dropout, attnDropout, positions, maxLen, tieEmbeddings, scaleEmbedding, eps, padId, norm, kvHeads,
                bias, window, qkvBias, rope);
    }

    /** The same with dropout {@code v}: residual, feed-forward and embedding dropout while training. */
    public ModelConfig withDropout(double v) {
        return new ModelConfig(sourceVocab, targetVocab, dModel, heads, ffDim, encoderLayers, decoderLayers, activation,
                normFirst, v, attnDropout, positions, maxLen, tieEmbeddings, scaleEmbedding, eps, padId, norm, kvHeads,
                bias, window, qkvBias, rope);
    }

    /** The same with attnDropout {@code v}: attention-weight dropout while training. */
    public ModelConfig withAttnDropout(double v) {
        return new ModelConfig(sourceVocab, targetVocab, dModel, heads, ffDim, encoderLayers, decoderLayers, activation,
                normFirst, dropout, v, positions, maxLen, tieEmbeddings, scaleEmbedding, eps, padId, norm, kvHeads,
                bias, window, qkvBias, rope);
    }

    /** The same with positions {@code v}: positional encoding. */
    public ModelConfig withPositions(PositionalEncoding v) {
        return new ModelConfig(sourceVocab, targetVocab, dModel, heads, ffDim, encoderLayers, decoderLayers, activation,
                normFirst, dropout, attnDropout, v, maxLen, tieEmbeddings, scaleEmbedding, eps, padId, norm, kvHeads,
                bias, window, qkvBias, rope);
    }

    /** The same with maxLen {@code v}: longest sequence (size of the position table). */
    public ModelConfig withMaxLen(int v) {
        return new ModelConfig(sourceVocab, targetVocab, dModel, heads, ffDim, encoderLayers, decoderLayers, activation,
                normFirst, dropout, attnDropout, positions, v, tieEmbeddings, scaleEmbedding, eps, padId, norm, kvHeads,
                bias, window, qkvBias, rope);
    }

    /** The same with tieEmbeddings {@code v}: whether the output projection is the target embedding transposed. */
    public ModelConfig withTiedEmbeddings(boolean v) {
        return new ModelConfig(sourceVocab, targetVocab, dModel, heads, ffDim, encoderLayers, decoderLayers, activation,
                normFirst, dropout, attnDropout, positions, maxLen, v, scaleEmbedding, eps, padId, norm, kvHeads, bias,
                window, qkvBias, rope);
    }

    /** The same with scaleEmbedding {@code v}: whether embeddings are multiplied by sqrt(C). */
    public ModelConfig withScaleEmbedding(boolean v) {
        return new ModelConfig(sourceVocab, targetVocab, dModel, heads, ffDim, encoderLayers, decoderLayers, activation,
                normFirst, dropout, attnDropout, positions, maxLen, tieEmbeddings, v, eps, padId, norm, kvHeads, bias,
                window, qkvBias, rope);
    }

    /** The same with eps {@code v}: norm eps. */
    public ModelConfig withEps(double v) {
        return new ModelConfig(sourceVocab, targetVocab, dModel, heads, ffDim, encoderLayers, decoderLayers, activation,
                normFirst, dropout, attnDropout, positions, maxLen, tieEmbeddings, scaleEmbedding, v, padId, norm,
                kvHeads, bias, window, qkvBias, rope);
    }

    /** The same with padId {@code v}: padding id ({@code -1}: none, see {@link #withoutPadding()}). */
    public ModelConfig withPadId(int v) {
        return new ModelConfig(sourceVocab, targetVocab, dModel, heads, ffDim, encoderLayers, decoderLayers, activation,
                normFirst, dropout, attnDropout, positions, maxLen, tieEmbeddings, scaleEmbedding, eps, v, norm,
                kvHeads, bias, window, qkvBias, rope);
    }

    /** The same with norm {@code v}: LayerNorm or RMSNorm. */
    public ModelConfig withNorm(Normalization v) {
        return new ModelConfig(sourceVocab, targetVocab, dModel, heads, ffDim, encoderLayers, decoderLayers, activation,
                normFirst, dropout, attnDropout, positions, maxLen, tieEmbeddings, scaleEmbedding, eps, padId, v,
                kvHeads, bias, window, qkvBias, rope);
    }

    /** The same with kvHeads {@code v}: self-attention's key/value heads (1: multi-query). */
    public ModelConfig withKvHeads(int v) {
        return new ModelConfig(sourceVocab, targetVocab, dModel, heads, ffDim, encoderLayers, decoderLayers, activation,
                normFirst, dropout, attnDropout, positions, maxLen, tieEmbeddings, scaleEmbedding, eps, padId, norm, v,
                bias, window, qkvBias, rope);
    }

    /** The same with bias {@code v}: whether the blocks' linear layers (and an untied head) have biases. */
    public ModelConfig withBias(boolean v) {
        return new ModelConfig(sourceVocab, targetVocab, dModel, heads, ffDim, encoderLayers, decoderLayers, activation,
                normFirst, dropout, attnDropout, positions, maxLen, tieEmbeddings, scaleEmbedding, eps, padId, norm,
                kvHeads, v, window, qkvBias, rope);
    }

    /** The same with window {@code v}: self-attention's sliding window over this many positions (0: none). */
    public ModelConfig withWindow(int v) {
        return new ModelConfig(sourceVocab, targetVocab, dModel, heads, ffDim, encoderLayers, decoderLayers, activation,
                normFirst, dropout, attnDropout, positions, maxLen, tieEmbeddings, scaleEmbedding, eps, padId, norm,
                kvHeads, bias, v, qkvBias, rope);
    }

    /** The same with qkvBias {@code v}: biases on self-attention's q, k and v even without {@code bias}. */
    public ModelConfig withQkvBias(boolean v) {
        return new ModelConfig(sourceVocab, targetVocab, dModel, heads, ffDim, encoderLayers, decoderLayers, activation,
                normFirst, dropout, attnDropout, positions, maxLen, tieEmbeddings, scaleEmbedding, eps, padId, norm,
                kvHeads, bias, window, v, rope);
    }

    /** The same with rope {@code v}: rotary frequencies (base theta, Llama 3 scaling). */
    public ModelConfig withRope(Rope v) {
        return new ModelConfig(sourceVocab, targetVocab, dModel, heads, ffDim, encoderLayers, decoderLayers, activation,
                normFirst, dropout, attnDropout, positions, maxLen, tieEmbeddings, scaleEmbedding, eps, padId, norm,
                kvHeads, bias, window, qkvBias, v);
    }

    /** The configuration of one block, with or without cross-attention. */
    BlockConfig block(boolean crossAttention) {
        // grouped-query, ALiBi and the window act on every block's self-attention; cross-attention keeps H heads
        return new BlockConfig(crossAttention, dModel, heads, ffDim, activation, normFirst, false, dropout,
                attnDropout, eps, bias, positions == PositionalEncoding.ROTARY, norm, kvHeads,
                positions == PositionalEncoding.ALIBI, window, qkvBias, rope);
    }
}
