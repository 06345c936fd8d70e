package org.attn4j.samediff;

import org.attn4j.config.Rope;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Rotary position embedding (RoPE, Su et al. 2021), applied to queries and keys inside attention so
 * that a query-key score depends on the two positions only through their difference.
 *
 * <p>Uses the "rotate half" pairing of GPT-NeoX and LLaMA: dimension i is rotated together with
 * dimension i + D/2 by the angle {@code position * f_i} ({@link Rope#inverseFrequencies}). The angles are computed in the
 * graph from the positions, so there is no maximum length.
 */
public final class Rotary {
    private Rotary() {
    }

    /**
     * Rotates {@code x [B, H, T, D]} whose first token stands at position {@code offset}
     * (a LONG scalar, or null for 0), with the default frequencies ({@link Rope#DEFAULT}).
     */
    public static SDVariable apply(SDVariable x, SDVariable offset, int headDim) {
        return apply(x, offset, headDim, Rope.DEFAULT);
    }

    /** {@link #apply(SDVariable, SDVariable, int)} with the frequencies of {@code rope}. */
    public static SDVariable apply(SDVariable x, SDVariable offset, int headDim, Rope rope) {
        SameDiff sd = x.getSameDiff();
        DataType type = x.dataType();
        int half = headDim / 2;
        double[] inverseFrequency = rope.inverseFrequencies(headDim);
        double[][] rotateHalf = new double[headDim][headDim]; // x . P = concat(-x2, x1)
        for (int i = 0; i < half; i++) {
            rotateHalf[i + half][i] = -1;
            rotateHalf[i][i + half] = 1;
        }
        SDVariable t = Graphs.size(x, 2);
        SDVariable start = offset == null ? sd.constant(Nd4j.scalar(DataType.LONG, 0L)) : offset;
        SDVariable one = sd.constant(Nd4j.scalar(DataType.LONG, 1L));
        SDVariable positions = sd.range(start, start.add(t), one, DataType.LONG).castTo(type); // [T]
        SDVariable angles = sd.expandDims(positions, 1)
                .mul(sd.constant(Nd4j.createFromArray(inverseFrequency).castTo(type).reshape(1, half))); // [T, D/2]
        SDVariable full = sd.concat(1, angles, angles); // [T, D]
        SDVariable rotated = Graphs.reshapeLike(
                sd.mmul(sd.reshape(x, -1, headDim), sd.constant(Nd4j.createFromArray(rotateHalf).castTo(type))),
                x, 1, headDim); // [B, H, T, D]
        return Graphs.mulExpanded(x, sd.math.cos(full)).add(Graphs.mulExpanded(rotated, sd.math.sin(full)));
    }
}
