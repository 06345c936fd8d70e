/**
 * Internal: the engine, no compatibility promise (public only because Java needs it across packages; no public
 * signature of {@code nn}, {@code model}, {@code decode} or {@code train} names a type of this package).
 *
 * <p>The middle of the three floors: compositions with per-caller state, built from configs
 * ({@code org.attn4j.config}) and weights records, never from a layer object; they call the op pairs of
 * {@code org.attn4j.kernels} and are called by the layers of {@code org.attn4j.nn} and by the model.
 * {@link org.attn4j.engine.BlockEngine} (a block's forward, backward and cached decode step; its {@code BlockState} and
 * {@code BlockCache} belong to the caller; the block a list of sublayers, {@code AttentionSublayer} and
 * {@code FeedForwardSublayer} on {@code Sublayer}, run in the parallel regions
 * {@code BlockSchedule} derives from the list), {@link org.attn4j.engine.AttentionEngine},
 * {@link org.attn4j.engine.FeedForwardEngine} and {@link org.attn4j.engine.NormEngine} (the lone layers' passes),
 * {@link org.attn4j.engine.ModelEngine} (a model's forward and backward, as llm.c's {@code gpt2_forward} and
 * {@code gpt2_backward}: head and loss over {@code StackEngine}'s embedding, blocks and final norm, on packed rows,
 * with a {@code StackState} per stack) and
 * {@link org.attn4j.engine.DecodeEngine} (cached decoding).
 *
 * <p>Comments give the reason for a speed choice, never its timing: the measured figures are in BENCHMARKS.md's
 * method section.
 *
 * <p>Legend: B batch, T time, C channels, H heads, D = C / H, F feed-forward width, N = B T rows.
 */
package org.attn4j.engine;
