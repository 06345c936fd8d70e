package org.attn4j.kernels;

import org.attn4j.config.AttentionMask;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One call's {@link AttentionMask} as flat buffers in the scores' type, read row by row by
 * {@link RowMath#softmaxRow}: key j of query row i (batch b, head h) is excluded when j lies after
 * {@link #limit(int)} (causal), its padding entry is 0, its keep entry is 0, or its additive bias is at or
 * below {@link #EXCLUDED}; otherwise the bias (capped at {@code -EXCLUDED}) is added to its score. As
 * {@code ScaledDotProductAttention}'s graph.
 */
public final class MaskRows {
    /** Additive values at or below this exclude the key (the graph's {@code ADDITIVE_EXCLUDED}). */
    public static final double EXCLUDED = -1e30;

    public final int tq, tk, heads;
    public final boolean causal;
    public final Buf padding; // [B, Tk] or null
    public final Buf keep; // [Tq, Tk] or [B, Tq, Tk], or null
    public final Buf bias; // [Tq, Tk], [B, Tq, Tk] or [B, H, Tq, Tk], or null
    private final boolean keepPerBatch;
    private final int biasRank;

    private MaskRows(int tq, int tk, int heads, boolean causal, Buf padding, Buf keep, int keepRank, Buf bias,
            int biasRank) {
        this.tq = tq;
        this.tk = tk;
        this.heads = heads;
        this.causal = causal;
        this.padding = padding;
        this.keep = keep;
        this.keepPerBatch = keepRank == 3;
        this.bias = bias;
        this.biasRank = biasRank;
    }

    /**
     * {@code mask} for scores {@code [B, H, tq, tk]} of {@code type}; {@code causal} also when the mask is
     * not (a causal layer). The parts' shapes are checked by the layer (attn4j.nn.Shapes) before.
     */
    public static MaskRows of(AttentionMask<INDArray> mask, int tq, int tk, int heads, boolean causal, DataType type) {
        INDArray keep = mask.attention(), bias = mask.additive();
        return new MaskRows(tq, tk, heads, causal || mask.causal(),
                mask.padding() == null ? null : Buf.of(mask.padding(), type),
                keep == null ? null : Buf.of(keep, type), keep == null ? 0 : keep.rank(),
                bias == null ? null : Buf.of(bias, type), bias == null ? 0 : bias.rank());
    }

    /** Only key padding {@code [B, tk]} in the scores' type (null: none), and causality. */
    public static MaskRows padding(Buf keyKeep, int tq, int tk, int heads, boolean causal) {
        return new MaskRows(tq, tk, heads, causal, keyKeep, null, 0, null, 0);
    }

    /** Keys after this one are excluded for query i: causal queries align their last with the last key. */
    public int limit(int i) {
        return causal ? Math.max(0, Math.min(tk, i + tk - tq + 1)) : tk;
    }

    /** Offset of batch b's padding row. */
    public int paddingRow(int b) {
        return b * tk;
    }

    /** Offset of query i's keep row in batch b. */
    public int keepRow(int b, int i) {
        return ((keepPerBatch ? b * tq : 0) + i) * tk;
    }

    /** Offset of query i's bias row in batch b, head h. */
    public int biasRow(int b, int h, int i) {
        int plane = switch (biasRank) {
            case 2 -> 0;
            case 3 -> b;
            default -> b * heads + h;
        };
        return (plane * tq + i) * tk;
    }

    /**
     * Score {@code x} of key j under the mask: -inf where excluded, else x plus the capped bias; the rows'
     * offsets as {@link #paddingRow}, {@link #keepRow}, {@link #biasRow} give them.
     */
    public double masked(double x, int j, int padRow, int keepRow, int biasRow) {
        if (padding != null && padding.get(padRow + j) == 0 || keep != null && keep.get(keepRow + j) == 0) {
            return Double.NEGATIVE_INFINITY;
        }
        if (bias == null) {
            return x;
        }
        double add = bias.get(biasRow + j);
        return add <= EXCLUDED ? Double.NEGATIVE_INFINITY : x + Math.min(add, -EXCLUDED);
    }
}
