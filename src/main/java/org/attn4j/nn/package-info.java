/**
 * The five layers of a transformer, the engine that runs them, and the small pieces they are made of.
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
 * runs the layer on the engine: {@link org.attn4j.nn.FastBlock} (a block's sublayers, forward, backward and
 * cached step), {@link org.attn4j.nn.FastAttention} (a lone attention layer: {@code apply}, and
 * {@code MultiHeadAttention.train}'s forward and backward),
 * {@link org.attn4j.nn.FastTransformer} (model-level forward and backward: embeddings, blocks, norms, head,
 * loss) and {@link org.attn4j.nn.FastDecoder} (cached decoding), all on the kernels of
 * {@code org.attn4j.kernels}; {@code train(INDArray...)} returns a pass whose {@code backward} gives the
 * input's and every parameter's gradient. Nothing here uses SameDiff: {@code org.attn4j.samediff} builds the
 * same layers, from their configs and weights, into a SameDiff graph (for users composing their own graphs,
 * and as the independent reference of the tests).
 *
 * <h2>Masks</h2>
 * One polarity everywhere: 1 = may attend, 0 = may not. See {@link org.attn4j.config.AttentionMask}.
 */
package org.attn4j.nn;
