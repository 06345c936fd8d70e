package org.attn4j.model;

import org.attn4j.config.Activation;
import org.attn4j.nn.Normalization;
import org.attn4j.nn.PositionalEncoding;
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
 */
public record ModelConfig(int sourceVocab, int targetVocab, int dModel, int heads, int ffDim, int encoderLayers,
        int decoderLayers, Activation activation, boolean normFirst, double dropout, double attnDropout,
        PositionalEncoding positions, int maxLen, boolean tieEmbeddings, boolean scaleEmbedding, double eps, int padId,
        Normalization norm, int kvHeads, boolean bias, int window) {

    /** A model with LayerNorm, multi-head attention, biases and no window. */
    public ModelConfig(int sourceVocab, int targetVocab, int dModel, int heads, int ffDim, int encoderLayers,
            int decoderLayers, Activation activation, boolean normFirst, double dropout, double attnDropout,
            PositionalEncoding positions, int maxLen, boolean tieEmbeddings, boolean scaleEmbedding, double eps,
            int padId) {
        this(sourceVocab, targetVocab, dModel, heads, ffDim, encoderLayers, decoderLayers, activation, normFirst,
                dropout, attnDropout, positions, maxLen, tieEmbeddings, scaleEmbedding, eps, padId,
                Normalization.LAYER, heads, true, 0);
    }

    public ModelConfig {
        norm = norm == null ? Normalization.LAYER : norm; // checkpoints written before these fields existed
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
        new TransformerBlock.Config(TransformerBlock.Kind.DECODER, dModel, heads, ffDim, activation, normFirst, true,
                dropout, attnDropout, eps, bias, positions == PositionalEncoding.ROTARY, norm, kvHeads,
                positions == PositionalEncoding.ALIBI, window);
    }

    /**
     * A current-style (LLaMA-like) decoder-only language model: pre-norm blocks with RMSNorm, SwiGLU, rotary
     * positions, grouped-query attention with {@code kvHeads} key/value heads and no biases; untied output head,
     * no dropout, id 0 the padding id.
     */
    public static ModelConfig modernLanguageModel(int vocab, int dModel, int heads, int kvHeads, int ffDim, int layers,
            int maxLen) {
        return new ModelConfig(0, vocab, dModel, heads, ffDim, 0, layers, Activation.SWIGLU, true, 0, 0,
                PositionalEncoding.ROTARY, maxLen, false, false, 1e-5, 0, Normalization.RMS, kvHeads, false, 0);
    }

    /** The same model with {@code kv} key/value heads in self-attention (1: multi-query). */
    public ModelConfig withKvHeads(int kv) {
        return new ModelConfig(sourceVocab, targetVocab, dModel, heads, ffDim, encoderLayers, decoderLayers, activation,
                normFirst, dropout, attnDropout, positions, maxLen, tieEmbeddings, scaleEmbedding, eps, padId, norm, kv,
                bias, window);
    }

    public ModelConfig withNorm(Normalization n) {
        return new ModelConfig(sourceVocab, targetVocab, dModel, heads, ffDim, encoderLayers, decoderLayers, activation,
                normFirst, dropout, attnDropout, positions, maxLen, tieEmbeddings, scaleEmbedding, eps, padId, n, kvHeads,
                bias, window);
    }

    public ModelConfig withBias(boolean b) {
        return new ModelConfig(sourceVocab, targetVocab, dModel, heads, ffDim, encoderLayers, decoderLayers, activation,
                normFirst, dropout, attnDropout, positions, maxLen, tieEmbeddings, scaleEmbedding, eps, padId, norm,
                kvHeads, b, window);
    }

    /** The same model with sliding-window self-attention over {@code w} positions (0: none). */
    public ModelConfig withWindow(int w) {
        return new ModelConfig(sourceVocab, targetVocab, dModel, heads, ffDim, encoderLayers, decoderLayers, activation,
                normFirst, dropout, attnDropout, positions, maxLen, tieEmbeddings, scaleEmbedding, eps, padId, norm,
                kvHeads, bias, w);
    }

    /** A pre-LN encoder-decoder with one shared vocabulary, learned positions, no dropout. */
    public static ModelConfig seq2seq(int vocab, int dModel, int heads, int ffDim, int layers, int maxLen) {
        return new ModelConfig(vocab, vocab, dModel, heads, ffDim, layers, layers, Activation.GELU, true, 0, 0,
                PositionalEncoding.LEARNED, maxLen, false, true, 1e-5, 0);
    }

    /**
     * A pre-LN decoder-only language model as GPT-2: learned positions, tied embeddings, unscaled
     * embeddings, no dropout, id 0 the padding id (see {@link #withoutPadding()} for a vocabulary whose every
     * id is a token).
     */
    public static ModelConfig languageModel(int vocab, int dModel, int heads, int ffDim, int layers, int maxLen) {
        return new ModelConfig(0, vocab, dModel, heads, ffDim, 0, layers, Activation.GELU, true, 0, 0,
                PositionalEncoding.LEARNED, maxLen, true, false, 1e-5, 0);
    }

    /** The same language model with no padding id: every id is a real token (a character model, say). */
    public ModelConfig withoutPadding() {
        return new ModelConfig(sourceVocab, targetVocab, dModel, heads, ffDim, encoderLayers, decoderLayers, activation,
                normFirst, dropout, attnDropout, positions, maxLen, tieEmbeddings, scaleEmbedding, eps, -1, norm, kvHeads,
                bias, window);
    }

    public boolean isSeq2Seq() {
        return encoderLayers > 0;
    }

    public ModelConfig withPositions(PositionalEncoding p) {
        return new ModelConfig(sourceVocab, targetVocab, dModel, heads, ffDim, encoderLayers, decoderLayers, activation,
                normFirst, dropout, attnDropout, p, maxLen, tieEmbeddings, scaleEmbedding, eps, padId, norm, kvHeads,
                bias, window);
    }

    public ModelConfig withDropout(double residual, double attention) {
        return new ModelConfig(sourceVocab, targetVocab, dModel, heads, ffDim, encoderLayers, decoderLayers, activation,
                normFirst, residual, attention, positions, maxLen, tieEmbeddings, scaleEmbedding, eps, padId, norm, kvHeads,
                bias, window);
    }

    public ModelConfig withTiedEmbeddings(boolean tie) {
        return new ModelConfig(sourceVocab, targetVocab, dModel, heads, ffDim, encoderLayers, decoderLayers, activation,
                normFirst, dropout, attnDropout, positions, maxLen, tie, scaleEmbedding, eps, padId, norm, kvHeads,
                bias, window);
    }

    /** The configuration of one block of the given kind. */
    TransformerBlock.Config block(TransformerBlock.Kind kind) {
        TransformerBlock.Config block = new TransformerBlock.Config(kind, dModel, heads, ffDim, activation, normFirst,
                false, dropout, attnDropout, eps, bias, positions == PositionalEncoding.ROTARY, norm, heads, false, 0);
        // grouped-query, ALiBi and the window act on every block's self-attention; cross-attention keeps H heads
        return block.withKvHeads(kvHeads).withAlibi(positions == PositionalEncoding.ALIBI).withWindow(window);
    }
}
