/**
 * Hand-written forward and backward passes where SameDiff cannot reach the speed targets (issue 7,
 * see BENCHMARKS.md): {@link org.attn4j.fast.FastBlock} runs a self-attention {@code TransformerBlock}
 * on the block's own weight arrays with OpenBLAS matrix products and plain Java loops, split over
 * worker threads ({@link org.attn4j.fast.Parallel}).
 *
 * <p>Legend: B batch, T time, C channels (dModel), H heads, D = C / H head width, F feed-forward
 * width, N = B * T rows. Activations are rows {@code [N, C]}; head h of row n is columns
 * {@code [h * D, (h + 1) * D)}, so a head's queries, keys and values are strided [T, D] matrices
 * that OpenBLAS reads in place (no permute or copy). Attention weights are {@code [B, H, T, T]}.
 *
 * <p>Covered by {@code FastBlockTest}: PyTorch parity on the committed encoder-layer fixtures
 * (float32 and float64), central-difference gradient checks in float64, and equality with SameDiff's
 * forward, gradients and Adam steps.
 */
package org.attn4j.fast;
