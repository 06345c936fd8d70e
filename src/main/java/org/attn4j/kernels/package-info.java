/**
 * The engine's kernels: the row and matrix work every layer's forward and backward is made of, on
 * ND4J arrays' memory. {@link org.attn4j.kernels.Blas} runs OpenBLAS products on strided views;
 * {@link org.attn4j.kernels.RowMath} holds layer norm, softmax rows under a mask
 * ({@link org.attn4j.kernels.MaskRows}), activations and their gradients, scalar in any precision, and hands float32
 * to {@code VectorRows} and {@code VectorActivations}, which build on {@link org.attn4j.kernels.VectorMath}'s lanes
 * of the Vector API ({@link org.attn4j.kernels.ScalarMath} runs the scalar functions and tails; no class here calls
 * back up that chain); {@link org.attn4j.kernels.DropoutSeed}
 * draws dropout from a counter-based seed; {@link org.attn4j.kernels.Parallel} splits rows over worker
 * threads; the op pairs, each forward next to its backward, are {@link org.attn4j.kernels.LinearKernel},
 * {@link org.attn4j.kernels.NormKernel}, {@link org.attn4j.kernels.RotaryKernel},
 * {@link org.attn4j.kernels.AttentionKernel} (with the cached decode step), {@link org.attn4j.kernels.EmbeddingKernel}
 * and {@link org.attn4j.kernels.CrossEntropyKernel}. Nothing here knows a layer: the bottom floor, called by
 * {@code org.attn4j.engine}.
 *
 * <p>Legend: B batch, T time, C channels (dModel), H heads, D = C / H head width, F feed-forward
 * width, N = B * T rows. Activations are rows {@code [N, C]}; head h of row n is columns
 * {@code [h * D, (h + 1) * D)}, so a head's queries, keys and values are strided [T, D] matrices
 * that OpenBLAS reads in place (no permute or copy). Attention weights are {@code [B, H, T, T]}.
 *
 * <p>Comments give the reason for a speed choice, never its timing: the measured figures are in BENCHMARKS.md's
 * method section.
 *
 * <p>Covered by {@code RowMathTest} (each kernel against a scalar float64 reference and central
 * differences) and by the layer tests that run them.
 */
package org.attn4j.kernels;
