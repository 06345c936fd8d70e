/**
 * Files: checkpoints ({@link org.attn4j.io.Checkpoint}: JSON configuration, npz weights with
 * PyTorch-style names, checksums, atomic saves) and the npz format itself ({@link org.attn4j.io.Npz});
 * bfloat16 weights go through {@code org.attn4j.formats.Safetensors}. Files may come from anyone:
 * every reader computes sizes with overflow checks and requires a header's shapes to match the data
 * exactly, and a checkpoint's configuration is held against its weights
 * ({@link org.attn4j.io.ParameterShapes}) before any model is built.
 */
package org.attn4j.io;
