package org.attn4j.nn;

import java.util.List;
import java.util.Random;
import org.attn4j.config.AttentionMask;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Seeded masks of every kind {@link AttentionMask} takes, for scores {@code [B, H, Tq, Tk]}, by name; names
 * may be joined with '+' ("padding+keep3+additive2+causal"). Each boolean and additive mask has a query row
 * that may see no key at all (row 1 of batch 1, or row 1 everywhere for [Tq, Tk] masks), and the additive
 * masks hold -inf, -1e31 (at or below -1e30: excluded) and ordinary biases.
 */
final class MaskCases {
    /** The single kinds. */
    static final List<String> KINDS = List.of("none", "causal", "padding", "keep2", "keep3", "additive2", "additive3",
            "additive4");
    /** Combinations of kinds. */
    static final List<String> COMBINED = List.of("padding+keep3", "keep2+additive3", "padding+additive4+causal",
            "padding+keep3+additive2+causal");

    private MaskCases() {
    }

    static AttentionMask<INDArray> of(String name, int b, int h, int tq, int tk, DataType type) {
        Random r = new Random(name.hashCode());
        AttentionMask<INDArray> mask = AttentionMask.none();
        for (String part : name.split("\\+")) {
            mask = switch (part) {
                case "none" -> mask;
                case "causal" -> mask.withCausal();
                case "padding" -> mask.withPadding(padding(b, tk, type));
                case "keep2" -> mask.withAttention(keep(r, new long[] {tq, tk}, type));
                case "keep3" -> mask.withAttention(keep(r, new long[] {b, tq, tk}, DataType.BOOL)); // any type: != 0 keeps
                case "additive2" -> mask.withAdditive(additive(r, new long[] {tq, tk}, type));
                case "additive3" -> mask.withAdditive(additive(r, new long[] {b, tq, tk}, type));
                case "additive4" -> mask.withAdditive(additive(r, new long[] {b, h, tq, tk}, type));
                default -> throw new IllegalArgumentException("unknown mask kind " + part);
            };
        }
        return mask;
    }

    /** Batch row 1 loses its last key, row 0 its first. */
    private static INDArray padding(int b, int tk, DataType type) {
        INDArray keep = Nd4j.ones(type, b, tk);
        keep.putScalar(new long[] {0, 0}, 0);
        if (b > 1 && tk > 1) {
            keep.putScalar(new long[] {1, tk - 1}, 0);
        }
        return keep;
    }

    /** About a quarter of the keys hidden, and query row 1 (of batch 1 where there is a batch) seeing none. */
    private static INDArray keep(Random r, long[] shape, DataType type) {
        INDArray keep = Nd4j.ones(DataType.FLOAT, shape);
        for (long i = 0; i < keep.length(); i++) {
            if (r.nextInt(4) == 0) {
                keep.putScalar(i, 0);
            }
        }
        blankRow(keep, 0);
        return keep.castTo(type);
    }

    /** Biases of about unit size, a tenth of them -inf and one -1e31, and query row 1 seeing no key. */
    private static INDArray additive(Random r, long[] shape, DataType type) {
        INDArray bias = Nd4j.create(DataType.DOUBLE, shape);
        for (long i = 0; i < bias.length(); i++) {
            bias.putScalar(i, r.nextInt(10) == 0 ? Double.NEGATIVE_INFINITY : r.nextGaussian());
        }
        bias.putScalar(bias.length() - 1, -1e31);
        blankRow(bias, Double.NEGATIVE_INFINITY);
        return bias.castTo(type);
    }

    /** Query row 1 of the last batch (and every head) at {@code value}, where there is a row 1. */
    private static void blankRow(INDArray m, double value) {
        int rank = m.rank();
        long tq = m.size(rank - 2), tk = m.size(rank - 1);
        if (tq < 2) {
            return;
        }
        long planes = m.length() / (tq * tk);
        long first = rank == 2 ? 0 : planes - (rank == 4 ? m.size(1) : 1); // the last batch's planes
        for (long p = first; p < planes; p++) {
            for (long j = 0; j < tk; j++) {
                m.putScalar((p * tq + 1) * tk + j, value);
            }
        }
    }
}
