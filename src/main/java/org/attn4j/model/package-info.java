/**
 * Whole models built from the layers: {@link org.attn4j.model.Encoder} and
 * {@link org.attn4j.model.Decoder} stacks, the encoder-decoder {@link org.attn4j.model.Seq2SeqTransformer}
 * and the decoder-only {@link org.attn4j.model.LanguageModel}: weights, with model-level forward and backward
 * on the engine ({@code lossAndGradients}, {@code predict}), per-layer, per-head attention capture ({@link org.attn4j.model.AttentionMaps}) and
 * incremental decoding sessions with a key/value cache ({@link org.attn4j.model.DecodingSession}).
 * Token ids are {@code [B, T]}; logits {@code [B, T, V]}.
 */
package org.attn4j.model;
