package org.attn4j.nn;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalDouble;
import org.attn4j.config.AttentionMask;
import org.attn4j.kernels.DropoutSeed;
import org.attn4j.kernels.Parallel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * softmax(Q K^T * scale + mask) V: every query looks at every key at once, and its weights sum to 1.
 *
 * <p>Inputs are {@code Q [B, H, Tq, D]}, {@code K [B, H, Tk, D]}, {@code V [B, H, Tk, Dv]}; the output
 * is {@code [B, H, Tq, Dv]} and the weights {@code [B, H, Tq, Tk]}. Masks follow
 * {@link AttentionMask}. Unlike PyTorch (pytorch#41508), a query that may attend to nothing gets
 * zero weights and a zero output, and its gradients are zero rather than NaN.
 */
public final class ScaledDotProductAttention {
    /** Added to the scores of excluded keys: exp(score - 1e9) is exactly 0 in float32 and float64. */
    public static final double EXCLUDED = -1e9;
    /** Additive mask values at or below this count as excluded keys. */
    public static final double ADDITIVE_EXCLUDED = -1e30;

    /**
     * @param scale   multiplies Q K^T; empty means 1/sqrt(D), {@code OptionalDouble.of(1)} means none
     * @param dropout probability of dropping an attention weight while training
     */
    public record Config(OptionalDouble scale, double dropout) {
        public Config {
            if (scale.isPresent() && !(Double.isFinite(scale.getAsDouble()) && scale.getAsDouble() > 0)) {
                throw new IllegalArgumentException("scale must be a positive finite number, got " + scale);
            }
            if (!(dropout >= 0 && dropout < 1)) {
                throw new IllegalArgumentException("attention dropout must be in [0, 1), got " + dropout);
            }
        }

        /** Scale 1/sqrt(D), no dropout. */
        public static Config standard() {
            return new Config(OptionalDouble.empty(), 0);
        }

        /** No scaling: softmax(Q K^T + mask) V. */
        public static Config unscaled() {
            return standard().withScale(1);
        }

        public Config withScale(double s) {
            return new Config(OptionalDouble.of(s), dropout);
        }

        public Config withDropout(double p) {
            return new Config(scale, p);
        }
    }

    private final Config config;

    public ScaledDotProductAttention(Config config) {
        this.config = config;
    }

    public ScaledDotProductAttention() {
        this(Config.standard());
    }

    public Config config() {
        return config;
    }

    /**
     * Eager attention on concrete arrays {@code Q [B, H, Tq, D]}, {@code K [B, H, Tk, D]},
     * {@code V [B, H, Tk, Dv]} (all the same floating-point type), without dropout, on the engine: the output and
     * weights of {@link #train}. FLOAT and DOUBLE run as they are; another floating-point type (HALF, BFLOAT16)
     * runs in FLOAT and comes back in its own type. {@code org.attn4j.samediff.ScaledDotProductGraph} is the
     * same attention inside a SameDiff graph.
     */
    public AttentionOutput<INDArray> apply(INDArray q, INDArray k, INDArray v, AttentionMask<INDArray> mask) {
        check(q, k, v, mask);
        DataType type = q.dataType();
        if (type == DataType.FLOAT || type == DataType.DOUBLE) {
            ScaledDotProductPass pass = new ScaledDotProductPass(config, q, k, v, mask, null, Parallel.shared());
            pass.close(); // no backward: its buffers go now, not when the garbage collector finds them
            return new AttentionOutput<>(pass.output(), pass.weights());
        }
        AttentionOutput<INDArray> wide = apply(q.castTo(DataType.FLOAT), k.castTo(DataType.FLOAT),
                v.castTo(DataType.FLOAT), mask.map(m -> m.dataType().isFPType() ? m.castTo(DataType.FLOAT) : m));
        return new AttentionOutput<>(wide.output().castTo(type), wide.weights().castTo(type));
    }

    /**
     * A training forward on the engine ({@link org.attn4j.kernels.AttentionKernel}, as {@link MultiHeadAttention#train}): the output
     * {@code [B, H, Tq, Dv]} and weights {@code [B, H, Tq, Tk]} of {@link #apply} for {@code q [B, H, Tq, D]},
     * {@code k [B, H, Tk, D]}, {@code v [B, H, Tk, Dv]} (FLOAT or DOUBLE), and a pass that keeps what its backward
     * needs. The pass is the caller's: any number of threads may use one layer at once.
     *
     * <pre>{@code
     * ScaledDotProductPass pass = attention.train(q, k, v, mask);
     * ScaledDotProductGradients g = pass.backward(dLossByOutput);      // [B, H, Tq, Dv] in
     * g.query(); g.key(); g.value();                                   // dQ, dK, dV
     * }</pre>
     * No dropout: {@link #train(INDArray, INDArray, INDArray, AttentionMask, DropoutSeed)} drops with a seed.
     */
    public ScaledDotProductPass train(INDArray q, INDArray k, INDArray v, AttentionMask<INDArray> mask) {
        return train(q, k, v, mask, null);
    }

    /**
     * {@link #train(INDArray, INDArray, INDArray, AttentionMask)} with the weights dropped (the config's dropout p,
     * inverted) by the masks of {@code dropout} (null: none), stream {@link DropoutSeed#SELF_WEIGHTS} of layer -1
     * as a lone {@link MultiHeadAttention}'s; the backward uses the same masks.
     */
    public ScaledDotProductPass train(INDArray q, INDArray k, INDArray v, AttentionMask<INDArray> mask,
            DropoutSeed dropout) {
        check(q, k, v, mask);
        if (q.dataType() != DataType.FLOAT && q.dataType() != DataType.DOUBLE) {
            throw new IllegalArgumentException("query is " + q.dataType() + "; the training pass runs in FLOAT or DOUBLE");
        }
        return new ScaledDotProductPass(config, q, k, v, mask, dropout, Parallel.shared());
    }

    private static void check(INDArray q, INDArray k, INDArray v, AttentionMask<INDArray> mask) {
        Checks.rank("query", q, 4, "[B, H, Tq, D]");
        Checks.rank("key", k, 4, "[B, H, Tk, D]");
        Checks.rank("value", v, 4, "[B, H, Tk, Dv]");
        long b = q.size(0), h = q.size(1), tq = q.size(2), d = q.size(3), tk = k.size(2);
        Checks.shape("key", k, b, h, tk, d);
        Checks.shape("value", v, b, h, tk, v.size(3));
        Checks.finite("query", q);
        Checks.finite("key", k);
        Checks.finite("value", v);
        Checks.sameType(q, "key", k);
        Checks.sameType(q, "value", v);
        Checks.mask(mask, b, h, tq, tk);
    }

    // ---- The from-scratch lesson, on plain arrays ----

    /**
     * Attention weights of one query over the keys: softmax(q.k / sqrt(d_k)), computed with the
     * maximum subtracted so large scores do not overflow. The weights sum to 1.
     */
    public static double[] attentionWeights(double[] query, double[][] keys) {
        Checks.lesson(query, keys, "keys");
        double[] scores = new double[keys.length];
        double scale = 1 / Math.sqrt(query.length);
        double max = Double.NEGATIVE_INFINITY;
        for (int j = 0; j < keys.length; j++) {
            double dot = 0;
            for (int i = 0; i < query.length; i++) {
                dot += query[i] * keys[j][i];
            }
            scores[j] = dot * scale;
            max = Math.max(max, scores[j]);
        }
        double sum = 0;
        for (int j = 0; j < scores.length; j++) {
            scores[j] = Math.exp(scores[j] - max);
            sum += scores[j];
        }
        for (int j = 0; j < scores.length; j++) {
            scores[j] /= sum;
        }
        return scores;
    }

    /** softmax(Q K^T / sqrt(d_k)) V on plain arrays: one output row per query. */
    public static double[][] attention(double[][] queries, double[][] keys, double[][] values) {
        if (values == null || values.length != keys.length) {
            throw new IllegalArgumentException("Expected one value row per key (" + keys.length + "), got "
                    + (values == null ? "null" : values.length));
        }
        int dv = values.length == 0 ? 0 : values[0].length;
        double[][] out = new double[queries.length][dv];
        for (int q = 0; q < queries.length; q++) {
            double[] w = attentionWeights(queries[q], keys);
            for (int j = 0; j < values.length; j++) {
                if (values[j].length != dv) {
                    throw new IllegalArgumentException("Value row " + j + " has " + values[j].length
                            + " entries; expected " + dv + " like row 0");
                }
                for (int c = 0; c < dv; c++) {
                    out[q][c] += w[j] * values[j][c];
                }
            }
        }
        return out;
    }
}
