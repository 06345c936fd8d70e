package org.attn4j.kernels;

/**
 * Token embedding plus position rows: the lookup and its scatter-add gradient, next to each other.
 *
 * <pre>
 *   forward:   x[r] = E[id_r] scale + P[pos_r]            (P null: no position table)
 *   backward:  dE[id_r] += scale dx[r];   dP[pos_r] += dx[r]
 * </pre>
 * A row's position is {@code rowPos[r]} on packed rows, else {@code past + r % t} (rows {@code [B, t]}, the first at
 * position past).
 *
 * @param table     E {@code [V, C]}
 * @param positions P {@code [maxLen, C]}, or null
 * @param scale     the embeddings' factor (sqrt(C) where a model scales them, else 1)
 * @param width     C
 */
public record EmbeddingKernel(Buf table, Buf positions, double scale, int width) {
    /** Row {@code row} of x = E[id] scale + P[position]. */
    public void forward(int id, int position, Buf x, int row) {
        int o = row * width;
        for (int j = 0; j < width; j++) {
            double e = table.get(id * width + j) * scale;
            x.put(o + j, positions == null ? e : e + positions.get(position * width + j));
        }
    }

    /** The position of row r: {@code rowPos[r]} (packed rows), else past + r % t. */
    public static int position(int[] rowPos, int t, int past, int r) {
        return rowPos != null ? rowPos[r] : past + r % t;
    }

    /**
     * Columns [c0, c1) of the gradients of n rows {@code dx [N, C]} added into {@code dTable [V, C]} and
     * {@code dPositions [maxLen, C]} (null: none): each worker may take a share of the columns, so no two write one
     * element. Rows' ids are {@code ids}, their positions as {@link #position} with past 0.
     */
    public void backward(Buf dx, int[] ids, int[] rowPos, int t, int n, Buf dTable, Buf dPositions, int c0, int c1) {
        for (int r = 0; r < n; r++) {
            int o = r * width + c0;
            RowMath.addScaled(dx, o, dTable, ids[r] * width + c0, c1 - c0, scale);
            if (dPositions != null) {
                RowMath.addScaled(dx, o, dPositions, position(rowPos, t, 0, r) * width + c0, c1 - c0, 1);
            }
        }
    }
}
