package org.attn4j.nn;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Token embedding: row i of {@code weight [V, C]} is token i's vector (PyTorch's {@code nn.Embedding},
 * initialized N(0, 1)). The same matrix can serve as the output projection ("tied" embeddings,
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
        this.weight = parameter("weight", Nd4j.randn(dataType, vocabSize, width));
    }

    public int vocabSize() {
        return vocabSize;
    }

    /** Token ids {@code [B, T]} (any integer type) to vectors {@code [B, T, C]}. */
    public SDVariable forward(SDVariable ids) {
        return sd.gather(weight, ids.castTo(DataType.INT), 0);
    }

    /** The tied output projection: {@code h [B, T, C] -> logits [B, T, V]} = h W^T. */
    public SDVariable logits(SDVariable h) {
        SDVariable flat = sd.reshape(h, -1, width); // [N, C]
        return Graphs.reshapeLike(sd.mmul(flat, weight, false, true, false), h, 1, vocabSize); // [B, T, V]
    }
}
