/**
 * The five layers of a transformer, what users construct and get back: layers, their passes, outputs and
 * gradients. The top of the three floors: {@code nn} (layers) calls {@code org.attn4j.engine} (compositions with
 * per-caller state), which calls {@code org.attn4j.kernels} (op pairs on rows).
 *
 * <h2>Dimension legend</h2>
 * <pre>
 *   B   batch size
 *   T   sequence length (Tq queries, Tk keys/values)
 *   C   model width (dModel)
 *   H   number of heads
 *   D   head width, C / H
 *   F   feed-forward width
 * </pre>
 * Sequences are {@code [B, T, C]}; inside attention, heads are split to {@code [B, H, T, D]} and the
 * attention weights are {@code [B, H, Tq, Tk]}.
 *
 * <h2>The engine</h2>
 * Every layer is a {@link org.attn4j.nn.Module} holding its named parameters (arrays, no graph) and no call's
 * state, so one layer serves any number of threads. {@code apply(INDArray...)}
 * runs the layer on the engine ({@code org.attn4j.engine}), built from the layer's config and its weights
 * record ({@code weights()}: the arrays by role, never the layer object); {@code train(INDArray...)} returns a
 * pass named after the layer ({@link AttentionPass}, {@link FeedForwardPass}, {@link NormPass},
 * {@link BlockPass}, {@link ScaledDotProductPass}) whose {@code backward} gives the input's and every parameter's
 * gradient. Nothing here uses SameDiff: {@code org.attn4j.samediff} builds the
 * same layers, from their configs and weights, into a SameDiff graph (for users composing their own graphs,
 * and as the independent reference of the tests).
 *
 * <h2>Masks</h2>
 * One polarity everywhere: 1 = may attend, 0 = may not. See {@link org.attn4j.config.AttentionMask}.
 */
package org.attn4j.nn;
