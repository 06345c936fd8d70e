package org.attn4j.kernels;

/**
 * ALiBi, attention with linear biases (Press, Smith and Lewis 2022): no position embeddings; head h adds
 * {@code -m_h |i - j|} to the score of query position i and key position j, so each head forgets distant
 * tokens at its own rate. The slopes m_h are the paper's geometric sequence.
 */
public final class Alibi {
    private Alibi() {
    }

    /**
     * The paper's slopes for {@code heads} heads: for a power of two n, {@code 2^(-8 h / n)} for h = 1..n; otherwise
     * those of the largest power of two n below, followed by every other slope of 2n (as the authors' code).
     */
    public static double[] slopes(int heads) {
        if (heads <= 0) {
            throw new IllegalArgumentException("ALiBi needs a positive number of heads, got " + heads);
        }
        int n = Integer.highestOneBit(heads);
        double[] m = new double[heads];
        for (int h = 0; h < n; h++) {
            m[h] = Math.pow(2, -8.0 * (h + 1) / n);
        }
        for (int h = n; h < heads; h++) { // odd positions 1, 3, 5, ... of the 2n sequence
            m[h] = Math.pow(2, -8.0 * (2 * (h - n) + 1) / (2 * n));
        }
        return m;
    }
}
