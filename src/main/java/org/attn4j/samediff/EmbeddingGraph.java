package org.attn4j.samediff;

import org.attn4j.nn.Embedding;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;

/** An {@link Embedding} in a SameDiff graph: token lookup and the tied output projection. */
public final class EmbeddingGraph {
    private final SameDiff sd;
    private final int vocabSize, width;
    private final SDVariable weight; // [V, C]

    public EmbeddingGraph(SameDiff sd, Embedding layer) {
        this.sd = sd;
        this.vocabSize = layer.vocabSize();
        this.width = (int) layer.table().size(1);
        this.weight = Variables.of(sd, layer.parameters(), layer.table());
    }

    /** Token ids {@code [B, T]} (any integer type) to vectors {@code [B, T, C]}. */
    public SDVariable forward(SDVariable ids) {
        return Graphs.reshapeLike(lookup(sd.reshape(ids, -1), weight, vocabSize), ids, 0, width);
    }

    /**
     * Rows {@code table[ids]} as one-hot(ids) x table, {@code [N] -> [N, C]}. A matrix product rather
     * than a gather: in ND4J M2.1 the gather's gradient is a loop that fails once a graph holds two
     * of them, and it overwrites rather than adds the gradient of a repeated id.
     */
    static SDVariable lookup(SDVariable ids, SDVariable table, int rows) {
        SameDiff sd = ids.getSameDiff();
        SDVariable oneHot = Graphs.as(sd.oneHot(Graphs.as(ids, DataType.INT), rows), table.dataType()); // [N, rows]
        return sd.mmul(oneHot, table); // [N, C]
    }

    /** The tied output projection: {@code h [B, T, C] -> logits [B, T, V]} = h W^T. */
    public SDVariable logits(SDVariable h) {
        SDVariable flat = sd.reshape(h, -1, width); // [N, C]
        return Graphs.reshapeLike(sd.mmul(flat, weight, false, true, false), h, 1, vocabSize); // [B, T, V]
    }
}
