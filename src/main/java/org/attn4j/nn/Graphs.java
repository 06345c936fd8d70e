package org.attn4j.nn;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/** Small graph-building helpers shared by the layers: shape plumbing that works for any B and T. */
final class Graphs {
    private Graphs() {
    }

    /**
     * Reshapes {@code x}, keeping all but its last {@code drop} dimensions and appending {@code tail}:
     * {@code replaceTail(x[B, T, C], 1, H, D)} is {@code x[B, T, H, D]}. The leading dimensions are
     * read from x when the graph runs, so one graph serves every batch size and length.
     */
    static SDVariable replaceTail(SDVariable x, int drop, long... tail) {
        return reshapeLike(x, x, drop, tail);
    }

    /** Reshapes {@code y} to the shape of {@code like} without its last {@code drop} (0 or more) dimensions, plus {@code tail}. */
    static SDVariable reshapeLike(SDVariable y, SDVariable like, int drop, long... tail) {
        SameDiff sd = y.getSameDiff();
        SDVariable shape = sd.shape(like); // LONG
        SDVariable lead = drop == 0 ? shape : sd.stridedSlice(shape, new long[] {0}, new long[] {-drop}, new long[] {1});
        SDVariable newShape = sd.concat(0, lead, sd.constant(Nd4j.createFromArray(tail)));
        return sd.reshape(y, newShape);
    }

    /** Size of dimension {@code dim} of {@code x} when the graph runs, as a LONG scalar. */
    static SDVariable size(SDVariable x, int dim) {
        return as(x.getSameDiff().sizeAt(x, dim), DataType.LONG);
    }

    /** x in the given type, adding a cast op only when it is not already (every op costs per call). */
    static SDVariable as(SDVariable x, DataType type) {
        return x.dataType() == type ? x : x.castTo(type);
    }
}
