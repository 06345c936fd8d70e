/**
 * The SameDiff adapter: attn4j's layers and models as SameDiff subgraphs, built from the same configs and
 * weights. Each {@code ...Graph} takes a {@link org.nd4j.autodiff.samediff.SameDiff} and a layer of
 * {@code org.attn4j.nn} (or a model of {@code org.attn4j.model}); the layer's parameters become variables
 * named as the parameters that hold the layer's own arrays, so the graph and the engine compute with the same
 * weights. Two uses: layers inside a user's own SameDiff graph, and the independent reference the tests
 * check the engine against (SameDiff's autodiff against the engine's hand-written backward).
 *
 * <pre>{@code
 * TransformerBlock block = new TransformerBlock("block0", BlockConfig.encoder(64, 4, 256), DataType.FLOAT);
 * SameDiff sd = SameDiff.create();
 * SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, -1, 64);                         // [B, T, C]
 * BlockOutput<SDVariable> o = new TransformerBlockGraph(sd, block).forward(x, AttentionMask.none());
 * }</pre>
 * Nothing a user runs through the layers' or models' own methods ({@code apply}, {@code train}, {@code Trainer},
 * decoding) goes through this package. Dropout in these graphs acts only while SameDiff trains
 * ({@link org.attn4j.samediff.Dropout}).
 */
package org.attn4j.samediff;
