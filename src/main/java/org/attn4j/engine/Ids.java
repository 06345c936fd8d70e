package org.attn4j.engine;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Token ids between ND4J arrays and the engine's Java int rows. */
public final class Ids {
    private Ids() {
    }

    /**
     * Ids {@code [B, T]} as rows of Java ints, in one copy ({@code INDArray.toIntMatrix} reads an array
     * row by row, an ND4J call each, which with the id checks' ND4J reductions slowed a forward pass measurably:
     * BENCHMARKS.md's method section).
     */
    public static int[][] rows(INDArray ids) {
        int b = (int) ids.size(0), t = (int) ids.size(1);
        int[] flat = ids.castTo(DataType.INT).dup('c').reshape((long) b * t).toIntVector();
        int[][] rows = new int[b][];
        for (int i = 0; i < b; i++) {
            rows[i] = Arrays.copyOfRange(flat, i * t, (i + 1) * t);
        }
        return rows;
    }

    /** {@code rows [batch][time]} (the ids or targets named {@code what}) flattened row after row, checked. */
    static int[] flatten(int[][] rows, String what, int batch, int time) {
        if (rows.length != batch) {
            throw new IllegalArgumentException(what + ": expected " + batch + " rows, given " + rows.length);
        }
        int[] flat = new int[batch * time];
        for (int bi = 0; bi < batch; bi++) {
            if (rows[bi].length != time) {
                throw new IllegalArgumentException(what + ": every row must have " + time + " ids, row " + bi + " has "
                        + rows[bi].length);
            }
            System.arraycopy(rows[bi], 0, flat, bi * time, time);
        }
        return flat;
    }
}
