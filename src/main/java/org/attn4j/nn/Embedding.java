package org.attn4j.nn;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Token embedding: row i of {@code weight [V, C]} is token i's vector, initialized N(0, 1/C) so that
 * the usual sqrt(C) input scaling gives unit-variance inputs and a tied output projection starts
 * with small logits (as in Vaswani et al. 2017). The same matrix can serve as the output projection ("tied" embeddings,
 * Press and Wolf 2017). The engine reads the table in {@code ModelEngine}; {@code org.attn4j.samediff.EmbeddingGraph}
 * is the same layer inside a SameDiff graph.
 */
public final class Embedding extends Module {
    private final int vocabSize, width;
    private final INDArray weight; // [V, C]

    public Embedding(String name, int vocabSize, int width, DataType dataType) {
        super(name, dataType);
        if (vocabSize <= 0 || width <= 0) {
            throw new IllegalArgumentException("Embedding '" + name + "' needs a positive vocabulary size and width, got "
                    + vocabSize + " and " + width);
        }
        this.vocabSize = vocabSize;
        this.width = width;
        this.weight = parameter("weight", () -> Nd4j.randn(dataType, vocabSize, width).muli(1 / Math.sqrt(width)),
                vocabSize, width);
    }

    /** The table {@code [V, C]} (the parameter itself, not a copy). */
    public INDArray table() {
        return weight;
    }

    public int vocabSize() {
        return vocabSize;
    }
}
