package org.attn4j.samediff;

import java.util.HashMap;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The leading {@code [B, T]} of a sequence {@code [B, T, C]}, read once when the graph runs, so a
 * layer can work on the sequence as rows {@code [B*T, C]} and reshape back without re-deriving the
 * shape: in SameDiff every shape derivation costs several ops per call.
 */
final class SequenceShape {
    private final SDVariable lead; // [2] LONG: B, T
    private final Map<String, SDVariable> shapes = new HashMap<>();

    private SequenceShape(SDVariable lead) {
        this.lead = lead;
    }

    /** The shape of a sequence {@code x [B, T, C]}. */
    static SequenceShape of(SDVariable x) {
        SameDiff sd = x.getSameDiff();
        return new SequenceShape(sd.stridedSlice(sd.shape(x), new long[] {0}, new long[] {2}, new long[] {1}));
    }

    /** {@code x [B, T, C] -> [B*T, C]}. */
    static SDVariable rows(SDVariable x, long width) {
        return x.getSameDiff().reshape(x, -1, width);
    }

    /** {@code rows [B*T, ...] -> [B, T, tail...]}. */
    SDVariable unflatten(SDVariable rows, long... tail) {
        return rows.getSameDiff().reshape(rows, shape(tail));
    }

    private SDVariable shape(long... tail) {
        return shapes.computeIfAbsent(java.util.Arrays.toString(tail), k -> {
            SameDiff sd = lead.getSameDiff();
            return sd.concat(0, lead, sd.constant(Nd4j.createFromArray(tail)));
        });
    }
}
