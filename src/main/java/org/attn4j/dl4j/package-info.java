/**
 * attn4j's transformer block as a layer of DL4J's {@code MultiLayerNetwork} and
 * {@code ComputationGraph}: {@link org.attn4j.dl4j.TransformerBlockLayer} (the configuration, which
 * DL4J's JSON and {@code ModelSerializer} round-trip), its parameter layout and its runtime layer.
 *
 * <p>DL4J's layout is kept at the boundary: activations {@code [minibatch, C, T]} (NCW), feature masks
 * {@code [minibatch, T]}. Inside, the block runs on {@code [B, T, C]} as everywhere in attn4j, on the
 * engine ({@code EngineBlock}, attn4j's {@link BlockEngine}; in float32 for a network of a data type
 * other than float32 and float64).
 */
package org.attn4j.dl4j;
