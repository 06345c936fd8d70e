package org.attn4j.samediff;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/** Small graph-building helpers shared by the layers: shape plumbing that works for any B and T. */
final class Graphs {
    private Graphs() {
    }

    /**
     * Reshapes {@code y} to the shape of {@code like} without its last {@code drop} (0 or more)
     * dimensions, plus {@code tail}: {@code reshapeLike(rows[B*T, F], x[B, T, C], 1, F)} is
     * {@code [B, T, F]}. The leading dimensions are read when the graph runs, so one graph serves
     * every batch size and length.
     */
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

    /**
     * {@code a * b} where {@code b} broadcasts to {@code a}'s shape. In ND4J M2.1 the backward op of a
     * broadcasting multiply is about ten times slower than that of a same-shape multiply plus a broadcasting
     * add (measured on [832, 64], one thread, idle: 0.94-1.0 ms against 0.12 ms for zeros, add and both backwards), so {@code b} is first expanded to the full
     * shape by adding zeros; its gradient comes back through the add's fast reduction. Same values.
     */
    static SDVariable mulExpanded(SDVariable a, SDVariable b) {
        return a.mul(b.add(a.getSameDiff().zerosLike(a)));
    }

    /** x in the given type, adding a cast op only when it is not already (every op costs per call). */
    static SDVariable as(SDVariable x, DataType type) {
        return x.dataType() == type ? x : x.castTo(type);
    }
}
