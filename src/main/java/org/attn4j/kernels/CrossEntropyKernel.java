package org.attn4j.kernels;

/**
 * Softmax cross-entropy over a vocabulary row, with label smoothing: the loss, its gradient, and the
 * log-probabilities decoding reads, on one log-sum-exp.
 *
 * <pre>
 *   logSumExp:  m + log sum_v exp(z_v - m),  m = max_v z_v
 *   loss:       (1 - s) (logSumExp - z[target]) + s (logSumExp - mean_v z_v)      (ignored row: s (...) only)
 *   backward:   dz = (p - (1 - s) onehot(target) - s / V) scale,   p = softmax(z)  (ignored row: 0)
 * </pre>
 */
public final class CrossEntropyKernel {
    private CrossEntropyKernel() {
    }

    /** log sum exp of {@code z[o .. o + n)}, shifted by the row's maximum so that nothing overflows. */
    public static double logSumExp(Buf z, int o, int n) {
        double max = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < n; v++) {
            max = Math.max(max, z.get(o + v));
        }
        double sum = 0;
        for (int v = 0; v < n; v++) {
            sum += Math.exp(z.get(o + v) - max);
        }
        return max + Math.log(sum);
    }

    /**
     * The loss of the logits row {@code z[o .. o + vocab)} against {@code target} with smoothing {@code s}
     * ({@code ignored}: no target term); the row becomes its softmax p, kept for {@link #backwardRow}.
     */
    public static double forwardRow(Buf z, int o, int vocab, int target, boolean ignored, double smoothing) {
        double logSum = logSumExp(z, o, vocab), meanLogit = 0;
        for (int v = 0; v < vocab; v++) {
            meanLogit += z.get(o + v);
        }
        meanLogit /= vocab;
        double nll = ignored ? 0 : logSum - z.get(o + target); // -log p[target]
        for (int v = 0; v < vocab; v++) {
            z.put(o + v, Math.exp(z.get(o + v) - logSum));
        }
        // -mean_v log p[v] = logSum - mean_v z
        return (1 - smoothing) * nll + smoothing * (logSum - meanLogit);
    }

    /**
     * The row's softmax {@code p[o .. o + vocab)} (left by {@link #forwardRow}) becomes the loss's gradient with
     * respect to the logits, times {@code scale} (1 / the rows counted, for a mean); zeros where {@code ignored}.
     */
    public static void backwardRow(Buf p, int o, int vocab, int target, boolean ignored, double smoothing,
            double scale) {
        double uniform = smoothing / vocab;
        for (int v = 0; v < vocab; v++) {
            double g = p.get(o + v) - uniform - (v == target ? 1 - smoothing : 0);
            p.put(o + v, ignored ? 0 : g * scale);
        }
    }

    /**
     * Columns of one piece of a log-softmax row. A row of 50,257 logits is 13 pieces, which a decoding step shares
     * out over the threads ({@link #logSoftmaxPiece}, then {@link #shiftPiece}); the pieces are fixed by the row's
     * width and added up in their order ({@link #logSumExp(double[], int, int)}), so the result does not depend on
     * the thread count.
     */
    public static final int PIECE = 4096;

    /** Pieces of a row of {@code vocab} columns. */
    public static int pieces(int vocab) {
        return (vocab + PIECE - 1) / PIECE;
    }

    /** The row {@code z[o .. o + vocab)} plus {@code bias} (null: none) becomes its log-softmax, piece by piece. */
    public static void logSoftmaxRow(Buf z, int o, int vocab, Buf bias) {
        int pieces = pieces(vocab);
        double[] maxSum = new double[2 * pieces];
        for (int k = 0; k < pieces; k++) {
            logSoftmaxPiece(z, o, vocab, bias, k, maxSum, 2 * k);
        }
        double logSum = logSumExp(maxSum, 0, pieces);
        for (int k = 0; k < pieces; k++) {
            shiftPiece(z, o, vocab, k, logSum);
        }
    }

    /**
     * Piece {@code k} of the row {@code z[o .. o + vocab)}: plus {@code bias} (null: none) in place, then the piece's
     * max into {@code maxSum[at]} and its sum of exp(z - max) into {@code maxSum[at + 1]} (float32: exp and the sum
     * in vector lanes where they run, the sum carried in a double every 16 vectors).
     */
    public static void logSoftmaxPiece(Buf z, int o, int vocab, Buf bias, int k, double[] maxSum, int at) {
        int c0 = k * PIECE, n = Math.min(vocab, c0 + PIECE) - c0;
        if (bias != null) {
            RowMath.addScaled(bias, c0, z, o + c0, n, 1);
        }
        if (RowMath.vector(z)) {
            VectorRows.maxAndExpSum(z, o + c0, n, maxSum, at);
            return;
        }
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (int v = 0; v < n; v++) {
            max = Math.max(max, z.get(o + c0 + v));
        }
        for (int v = 0; v < n; v++) {
            sum += Math.exp(z.get(o + c0 + v) - max);
        }
        maxSum[at] = max;
        maxSum[at + 1] = sum;
    }

    /**
     * The log-sum-exp of a row from its pieces' (max, sum of exp(z - max)) pairs at {@code maxSum[at ..]}, rescaled
     * to the row's max and added in piece order (a piece of -inf logits only adds nothing).
     */
    public static double logSumExp(double[] maxSum, int at, int pieces) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (int k = 0; k < pieces; k++) {
            max = Math.max(max, maxSum[at + 2 * k]);
        }
        for (int k = 0; k < pieces; k++) {
            double m = maxSum[at + 2 * k];
            if (m != Double.NEGATIVE_INFINITY) {
                sum += maxSum[at + 2 * k + 1] * Math.exp(m - max);
            }
        }
        return max + Math.log(sum);
    }

    /** Piece {@code k} of the row {@code z[o .. o + vocab)} less {@code logSum}, its row's log-sum-exp. */
    public static void shiftPiece(Buf z, int o, int vocab, int k, double logSum) {
        int c0 = k * PIECE, c1 = Math.min(vocab, c0 + PIECE);
        if (RowMath.vector(z)) {
            VectorRows.subtract(z, o + c0, c1 - c0, (float) logSum);
            return;
        }
        for (int v = c0; v < c1; v++) {
            z.put(o + v, z.get(o + v) - logSum);
        }
    }
}
