package org.attn4j.kernels;

/**
 * What a self-attention adds to one head's scores from positions alone, before the softmax: ALiBi's
 * {@code -m_h |i - j|} and a sliding window's exclusion of keys with {@code |i - j| >= window}. Query row i of
 * {@code tq} stands at position tk - tq + i (after any cached keys), key j at j, as the causal mask aligns them.
 * Constant in the scores, so a backward pass needs nothing of its own.
 */
public final class PositionBias {
    private PositionBias() {
    }

    /** Scores {@code [tq, tk]} at {@code off}: slope m_h (0: no ALiBi), window (0: none). */
    public static void apply(Buf scores, int off, int tq, int tk, double slope, int window) {
        if (slope == 0 && window == 0) {
            return;
        }
        for (int i = 0; i < tq; i++) {
            int row = off + i * tk, position = tk - tq + i;
            for (int j = 0; j < tk; j++) {
                int distance = Math.abs(position - j);
                if (window > 0 && distance >= window) {
                    scores.put(row + j, Double.NEGATIVE_INFINITY);
                } else if (slope != 0) {
                    scores.put(row + j, scores.get(row + j) - slope * distance);
                }
            }
        }
    }
}
