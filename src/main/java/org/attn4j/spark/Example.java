package org.attn4j.spark;

import java.io.Serializable;
import java.util.List;
import org.attn4j.data.Batch;
import org.attn4j.data.Batches;

/**
 * One training example as plain id arrays, so Spark can ship it (no ND4J objects in an RDD).
 *
 * @param source source ids {@code [S]} (null for a language model)
 * @param input  decoder input ids {@code [T]} (starting with BOS)
 * @param target ids to predict {@code [T]}
 */
public record Example(int[] source, int[] input, int[] target) implements Serializable {
    private static final long serialVersionUID = 1L;

    public Example {
        if (input == null || target == null || input.length != target.length || input.length == 0) {
            throw new IllegalArgumentException("An example needs non-empty input and target ids of equal length, got "
                    + (input == null ? "null" : input.length) + " and " + (target == null ? "null" : target.length));
        }
    }

    /** The examples as one batch, each padded with {@code padId} to the longest. */
    public static Batch batch(List<Example> examples, int padId) {
        int n = examples.size();
        int[][] src = new int[n][], in = new int[n][], out = new int[n][];
        boolean seq2seq = examples.get(0).source() != null;
        for (int i = 0; i < n; i++) {
            Example e = examples.get(i);
            if ((e.source() != null) != seq2seq) {
                throw new IllegalArgumentException("Example " + i + (seq2seq ? " has no source" : " has a source")
                        + " unlike the first one of its batch");
            }
            src[i] = e.source();
            in[i] = e.input();
            out[i] = e.target();
        }
        return new Batch(seq2seq ? Batches.pad(src, padId) : null, Batches.pad(in, padId), Batches.pad(out, padId));
    }
}
