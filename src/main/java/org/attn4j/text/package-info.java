/**
 * Text to ids and back, as Hugging Face {@code tokenizers} does it: {@link org.attn4j.text.Tokenizer} reads a
 * {@code tokenizer.json} (byte-level BPE as in GPT-2, Llama 3 and Qwen2; SentencePiece-style BPE as in Llama 2 and
 * Mistral), encodes and decodes exactly as the Rust library, and writes the file back;
 * {@link org.attn4j.text.BpeTrainer} learns a byte-level BPE vocabulary from a corpus. Uses no other attn4j
 * package, and never the network.
 *
 * <p>Batches are {@code [B, T]}: B texts, padded to the longest, T tokens.
 */
package org.attn4j.text;
