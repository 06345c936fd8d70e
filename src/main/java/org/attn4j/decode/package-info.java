/**
 * Generating sequences from a trained model: {@link org.attn4j.decode.Greedy} and
 * {@link org.attn4j.decode.BeamSearch}, each with or without the key/value cache of a
 * {@link org.attn4j.model.DecodingSession}, and {@link org.attn4j.decode.Sampler} (temperature, top-k and top-p
 * sampling from a language model, seeded).
 */
package org.attn4j.decode;
