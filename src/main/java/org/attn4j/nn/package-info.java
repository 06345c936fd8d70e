/**
 * The five layers of a transformer on ND4J SameDiff, plus the small pieces they are made of.
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
 * <h2>Two ways to use a layer</h2>
 * Every layer is a {@link org.attn4j.nn.Module}: it adds its named trainable variables to a SameDiff
 * graph when it is constructed, and {@code forward(SDVariable...)} adds its operations, so any
 * composition of layers trains through SameDiff's own gradients. For a quick experiment the same
 * layer also runs eagerly: {@code apply(INDArray...)} builds (once per input signature) and runs the
 * subgraph on concrete arrays.
 *
 * <h2>Masks</h2>
 * One polarity everywhere: 1 = may attend, 0 = may not. See {@link org.attn4j.nn.AttentionMask}.
 */
package org.attn4j.nn;
