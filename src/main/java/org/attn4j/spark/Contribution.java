package org.attn4j.spark;

import java.io.Serializable;

/**
 * What partitions send back in one round, summed by {@code treeAggregate}. Every vector is weighted by
 * the tokens it came from, so dividing by {@link #tokens} gives the exact token-weighted mean however
 * unequal the shards.
 */
final class Contribution implements Serializable {
    private static final long serialVersionUID = 1L;

    /** Sum over partitions of tokens x (gradient, or weights after the local steps), flattened. */
    double[] values;
    /** Likewise for the optimizer state after the local steps (parameter averaging), or null. */
    double[] state;
    /** Sum of tokens x mean loss. */
    double lossSum;
    long tokens;
    int partitions;
    /** Longest and total time partitions spent computing (building the model included), in ns. */
    long maxComputeNanos, sumComputeNanos;
    /** The first failure reported by a partition (a NaN loss, say), or null. */
    String problem;

    static Contribution empty() {
        return new Contribution();
    }

    /** Adds {@code other} into this one and returns this (Spark lets aggregation reuse its first argument). */
    Contribution add(Contribution other) {
        values = sum(values, other.values);
        state = sum(state, other.state);
        lossSum += other.lossSum;
        tokens += other.tokens;
        partitions += other.partitions;
        maxComputeNanos = Math.max(maxComputeNanos, other.maxComputeNanos);
        sumComputeNanos += other.sumComputeNanos;
        if (problem == null) {
            problem = other.problem;
        }
        return this;
    }

    private static double[] sum(double[] a, double[] b) {
        if (a == null) {
            return b;
        }
        if (b != null) {
            for (int i = 0; i < a.length; i++) {
                a[i] += b[i];
            }
        }
        return a;
    }
}
