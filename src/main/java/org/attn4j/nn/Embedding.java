package org.attn4j.nn;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Token embedding: row i of {@code weight [V, C]} is token i's vector, initialized N(0, 1/C) so that
 * the usual sqrt(C) input scaling gives unit-variance inputs and a tied output projection starts
 * with small logits (as in Vaswani et al. 2017). The same matrix can serve as the output projection ("tied" embeddings,
 * Press and Wolf 2017) through {@link #logits}.
 */
public final class Embedding extends Module {
    private final int vocabSize, width;
    private final SDVariable weight; // [V, C]

    public Embedding(SameDiff sd, String name, int vocabSize, int width, DataType dataType) {
        super(sd, name, dataType);
        if (vocabSize <= 0 || width <= 0) {
            throw new IllegalArgumentException("Embedding '" + name + "' needs a positive vocabulary size and width, got "
                    + vocabSize + " and " + width);
        }
        this.vocabSize = vocabSize;
        this.width = width;
        this.weight = parameter("weight", Nd4j.randn(dataType, vocabSize, width).muli(1 / Math.sqrt(width)));
    }

    /** The table {@code [V, C]} (the parameter itself, not a copy). */
    public INDArray table() {
        return weight.getArr();
    }

    public int vocabSize() {
        return vocabSize;
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
