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

    /** The row {@code z[o .. o + vocab)} plus {@code bias} (null: none) becomes its log-softmax. */
    public static void logSoftmaxRow(Buf z, int o, int vocab, Buf bias) {
        if (bias != null) {
            for (int v = 0; v < vocab; v++) {
                z.put(o + v, z.get(o + v) + bias.get(v));
            }
        }
        double logSum = logSumExp(z, o, vocab);
        for (int v = 0; v < vocab; v++) {
            z.put(o + v, z.get(o + v) - logSum);
        }
    }
}
