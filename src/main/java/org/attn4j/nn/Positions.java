package org.attn4j.nn;

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
    private final int maxLen, width;
    private final INDArray table; // learned [maxLen, C], or null

    public Positions(String name, PositionalEncoding kind, int maxLen, int width, DataType dataType) {
        super(name, dataType);
        if (maxLen <= 0) {
            throw new IllegalArgumentException("maxLen must be positive, got " + maxLen);
        }
        this.kind = kind;
        this.maxLen = maxLen;
        this.width = width;
        this.table = kind == PositionalEncoding.LEARNED ? parameter("weight", () -> Nd4j.randn(dataType, maxLen, width),
                maxLen, width) : null;
    }

    public PositionalEncoding kind() {
        return kind;
    }

    /** The learned table {@code [maxLen, C]} (the parameter itself), or null for other kinds. */
    public INDArray learnedTable() {
        return table;
    }

    /** The table the positions add, {@code [maxLen, C]} (learned: the parameter itself), or null for kinds that add none. */
    public INDArray table() {
        return switch (kind) {
            case LEARNED -> table;
            case SINUSOIDAL -> sinusoidal(maxLen, width).castTo(dataType);
            case ROTARY, ALIBI, NONE -> null;
        };
    }

    /** The longest sequence the table covers (unlimited for rotary, ALiBi and none). */
    public int maxLen() {
        return kind == PositionalEncoding.LEARNED || kind == PositionalEncoding.SINUSOIDAL ? maxLen : Integer.MAX_VALUE;
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
