/**
 * Generating sequences from a trained model: {@link org.attn4j.decode.Greedy} and
 * {@link org.attn4j.decode.BeamSearch}, each with or without the key/value cache of a
 * {@link org.attn4j.model.DecodingSession}.
 */
package org.attn4j.decode;
