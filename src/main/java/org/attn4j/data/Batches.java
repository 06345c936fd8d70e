package org.attn4j.data;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Sequences of ids as padded {@code [B, T]} INT arrays. */
public final class Batches {
    private Batches() {
    }

    /** Pads each row to the longest with {@code pad}. */
    public static INDArray pad(int[][] sequences, int pad) {
        if (sequences.length == 0) {
            throw new IllegalArgumentException("An empty batch: expected at least one sequence");
        }
        int t = 0;
        for (int[] s : sequences) {
            t = Math.max(t, s.length);
        }
        if (t == 0) {
            throw new IllegalArgumentException("Every sequence in the batch is empty; expected at least one token");
        }
        int[][] padded = new int[sequences.length][t];
        for (int i = 0; i < sequences.length; i++) {
            java.util.Arrays.fill(padded[i], pad);
            System.arraycopy(sequences[i], 0, padded[i], 0, sequences[i].length);
        }
        return Nd4j.createFromArray(padded).castTo(DataType.INT);
    }

    /** Prepends {@code first} to every row: the decoder's input is the target shifted right. */
    public static int[][] prepend(int first, int[][] sequences) {
        int[][] out = new int[sequences.length][];
        for (int i = 0; i < sequences.length; i++) {
            out[i] = new int[sequences[i].length + 1];
            out[i][0] = first;
            System.arraycopy(sequences[i], 0, out[i], 1, sequences[i].length);
        }
        return out;
    }

    /** Appends {@code last} to every row: the decoder's target ends with end-of-sequence. */
    public static int[][] append(int[][] sequences, int last) {
        int[][] out = new int[sequences.length][];
        for (int i = 0; i < sequences.length; i++) {
            out[i] = java.util.Arrays.copyOf(sequences[i], sequences[i].length + 1);
            out[i][sequences[i].length] = last;
        }
        return out;
    }
}
