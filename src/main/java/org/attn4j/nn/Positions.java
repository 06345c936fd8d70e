package org.attn4j.nn;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Adds absolute position information to embeddings {@code [B, T, C]}: a sinusoidal table or a
 * learned {@code weight [maxLen, C]}. For {@link PositionalEncoding#ROTARY} and
 * {@link PositionalEncoding#ALIBI} and {@link PositionalEncoding#NONE} it adds nothing (rotary and ALiBi act
 * inside attention).
 */
public final class Positions extends Module {
    private final PositionalEncoding kind;
    private final int maxLen;
    private final SDVariable table; // [maxLen, C], or null

    public Positions(SameDiff sd, String name, PositionalEncoding kind, int maxLen, int width, DataType dataType) {
        super(sd, name, dataType);
        if (maxLen <= 0) {
            throw new IllegalArgumentException("maxLen must be positive, got " + maxLen);
        }
        this.kind = kind;
        this.maxLen = maxLen;
        this.table = switch (kind) {
            case SINUSOIDAL -> sd.constant(qualify("sinusoidal"), sinusoidal(maxLen, width).castTo(dataType));
            case LEARNED -> parameter("weight", Nd4j.randn(dataType, maxLen, width));
            case ROTARY, ALIBI, NONE -> null;
        };
    }

    public PositionalEncoding kind() {
        return kind;
    }

    /** The longest sequence the table covers (unlimited for rotary and none). */
    /** The learned table {@code [maxLen, C]} (the parameter itself), or null for other kinds. */
    public INDArray learnedTable() {
        return table == null ? null : table.getArr();
    }

    public int maxLen() {
        return table == null ? Integer.MAX_VALUE : maxLen;
    }

    /** {@code x [B, T, C]} whose first token stands at {@code offset} (LONG scalar, or null for 0). */
    public SDVariable forward(SDVariable x, SDVariable offset) {
        if (table == null) {
            return x;
        }
        SDVariable start = offset == null ? sd.constant(Nd4j.scalar(DataType.LONG, 0L)) : offset;
        SDVariable one = sd.constant(Nd4j.scalar(DataType.LONG, 1L));
        SDVariable positions = sd.range(start, start.add(Graphs.size(x, 1)), one, DataType.LONG).castTo(DataType.INT);
        return x.add(Embedding.lookup(positions, table, maxLen)); // [B, T, C] + [T, C]
    }

    /** PE(p, 2i) = sin(p / 10000^(2i/C)), PE(p, 2i+1) = cos(p / 10000^(2i/C)). */
    public static INDArray sinusoidal(int maxLen, int width) {
        double[][] pe = new double[maxLen][width];
        for (int p = 0; p < maxLen; p++) {
            for (int i = 0; i < width; i += 2) {
                double angle = p / Math.pow(10_000, (double) i / width);
                pe[p][i] = Math.sin(angle);
                if (i + 1 < width) {
                    pe[p][i + 1] = Math.cos(angle);
                }
            }
        }
        return Nd4j.createFromArray(pe);
    }
}
