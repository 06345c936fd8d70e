/**
 * Files: checkpoints ({@link org.attn4j.io.Checkpoint}: JSON configuration, npz weights with
 * PyTorch-style names, checksums, atomic saves) and the npz format itself ({@link org.attn4j.io.Npz}).
 */
package org.attn4j.io;
