package org.attn4j.nn;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalDouble;
import org.attn4j.config.AttentionMask;
import org.attn4j.kernels.DropoutSeed;
import org.attn4j.kernels.Parallel;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.controlflow.compat.StopGradient;
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
    static final double EXCLUDED = -1e9;
    /** Additive mask values at or below this count as excluded keys. */
    static final double ADDITIVE_EXCLUDED = -1e30;

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
    private final Map<String, Eager> eagerGraphs = new java.util.concurrent.ConcurrentHashMap<>();

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
     * Adds attention to q's graph. {@code headDim} is D, used for the default scale.
     *
     * @return output {@code [B, H, Tq, Dv]} and weights {@code [B, H, Tq, Tk]}
     */
    public AttentionOutput<SDVariable> forward(SDVariable q, SDVariable k, SDVariable v,
            AttentionMask<SDVariable> mask, long headDim) {
        return forward(q, k, v, mask, headDim, null, null);
    }

    /**
     * {@link #forward(SDVariable, SDVariable, SDVariable, AttentionMask, long)} with a position bias added to
     * the scaled scores ({@code positionBias}, broadcasting to {@code [B, H, Tq, Tk]}: ALiBi) and a further
     * 0/1 keep mask ({@code positionKeep}: a sliding window); either may be null.
     */
    public AttentionOutput<SDVariable> forward(SDVariable q, SDVariable k, SDVariable v,
            AttentionMask<SDVariable> mask, long headDim, SDVariable positionBias, SDVariable positionKeep) {
        SameDiff sd = q.getSameDiff();
        DataType type = q.dataType();
        double scale = config.scale().orElse(1 / Math.sqrt(headDim));

        // 1. Scores: every query against every key.
        SDVariable scores = sd.mmul(q, k, false, true, false).mul(scale); // [B, H, Tq, Tk]
        if (positionBias != null) {
            scores = scores.add(positionBias);
        }

        // 2. Masks: an additive bias, and 0/1 "keep" masks turned into a large negative bias.
        SDVariable keep = null; // broadcasts to [B, H, Tq, Tk]
        if (mask.additive() != null) {
            SDVariable additive = toRank4(mask.additive(), "additive", type);
            SDVariable allowed = sd.gt(additive, ADDITIVE_EXCLUDED).castTo(type);
            // -inf * 0 is NaN: clip first so excluded entries become a finite 0 bias.
            SDVariable bias = sd.math.clipByValue(additive, ADDITIVE_EXCLUDED, -ADDITIVE_EXCLUDED).mul(allowed);
            scores = scores.add(bias);
            keep = allowed;
        }
        if (mask.padding() != null) {
            SDVariable padding = Graphs.as(mask.padding(), type);
            keep = times(keep, sd.expandDims(sd.expandDims(padding, 1), 1)); // [B, 1, 1, Tk]
        }
        if (mask.attention() != null) {
            keep = times(keep, toRank4(mask.attention(), "attention", type));
        }
        if (mask.causal()) {
            keep = times(keep, causalKeep(scores, type)); // [1, 1, Tq, Tk]
        }
        if (positionKeep != null) {
            keep = times(keep, positionKeep);
        }
        if (keep != null) {
            scores = scores.add(keep.sub(1.0).mul(-EXCLUDED)); // 0 where kept, -1e9 where not
        }

        // 3. Softmax over the keys. ND4J M2.1's float64 softmax gives NaN for a row whose scores
        //    all lie below about -745 (it does not subtract a negative maximum), so in float64 each
        //    row's maximum is moved to 0 first; softmax does not change under the shift. Its float32
        //    softmax subtracts the maximum itself, and the shift would cost a slow backward op
        //    (reduce_max_bp runs even behind a stop-gradient), so float32 goes straight in.
        //    Multiplying by keep zeroes a row that may see no key at all and changes nothing elsewhere.
        SDVariable shifted = type == DataType.DOUBLE
                ? scores.sub(new StopGradient(sd, sd.max(scores, true, 3)).outputVariable()) // [B, H, Tq, Tk]
                : scores;
        SDVariable weights = sd.nn.softmax(shifted, 3);
        if (keep != null) {
            weights = Graphs.mulExpanded(weights, keep);
        }
        SDVariable dropped = Dropout.apply(weights, config.dropout());

        // 4. Weighted sum of the values.
        SDVariable output = sd.mmul(dropped, v); // [B, H, Tq, Dv]
        return new AttentionOutput<>(output, weights);
    }

    /**
     * Eager attention on concrete arrays {@code Q [B, H, Tq, D]}, {@code K [B, H, Tk, D]},
     * {@code V [B, H, Tk, Dv]} (all the same floating-point type), without dropout. FLOAT and DOUBLE run on the
     * engine (the output and weights of {@link #train}); other floating-point types run a SameDiff graph built
     * once per input signature (types, ranks, mask parts, head width).
     */
    public AttentionOutput<INDArray> apply(INDArray q, INDArray k, INDArray v, AttentionMask<INDArray> mask) {
        check(q, k, v, mask);
        if (q.dataType() == DataType.FLOAT || q.dataType() == DataType.DOUBLE) {
            ScaledDotProductPass pass = new ScaledDotProductPass(config, q, k, v, mask, null, Parallel.shared());
            pass.close(); // no backward: its buffers go now, not when the garbage collector finds them
            return new AttentionOutput<>(pass.output(), pass.weights());
        }
        long d = q.size(3);
        Map<String, INDArray> feeds = new HashMap<>(mask.parts(""));
        feeds.values().removeIf(java.util.Objects::isNull);
        feeds.put("query", q);
        feeds.put("key", k);
        feeds.put("value", v);
        StringBuilder signature = new StringBuilder(q.dataType() + "|D=" + d + "|causal=" + mask.causal());
        new java.util.TreeMap<>(feeds).forEach((name, a) -> signature.append('|').append(name).append(':').append(a.rank()));
        Eager g = eagerGraphs.computeIfAbsent(signature.toString(), key -> Eager.build(this, feeds, mask.causal(), d));
        Map<String, INDArray> r = g.sd().output(feeds, g.output(), g.weights());
        return new AttentionOutput<>(r.get(g.output()), r.get(g.weights()));
    }

    /**
     * A training forward on the engine ({@link AttentionPairs}, as {@link MultiHeadAttention#train}): the output
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

    /** One eager graph: placeholders named like the inputs (any B, H and lengths), and its outputs. */
    private record Eager(SameDiff sd, String output, String weights) {
        static Eager build(ScaledDotProductAttention attention, Map<String, INDArray> inputs, boolean causal, long d) {
            SameDiff sd = SameDiff.create();
            Map<String, SDVariable> ph = new HashMap<>();
            inputs.forEach((name, a) -> {
                long[] shape = new long[a.rank()];
                java.util.Arrays.fill(shape, -1);
                ph.put(name, sd.placeHolder(name, a.dataType(), shape));
            });
            AttentionOutput<SDVariable> out = attention.forward(ph.get("query"), ph.get("key"), ph.get("value"),
                    AttentionMask.fromParts(ph, "", causal), d);
            return new Eager(sd, out.output().name(), out.weights().name());
        }
    }

    private static SDVariable times(SDVariable a, SDVariable b) {
        return a == null ? b : a.mul(b);
    }

    /** 1 where key j is at or before query i's position, aligning the last query with the last key. */
    private static SDVariable causalKeep(SDVariable scores, DataType type) {
        SameDiff sd = scores.getSameDiff();
        SDVariable tq = Graphs.size(scores, 2), tk = Graphs.size(scores, 3);
        SDVariable zero = sd.constant(Nd4j.scalar(DataType.LONG, 0L));
        SDVariable one = sd.constant(Nd4j.scalar(DataType.LONG, 1L));
        SDVariable rows = sd.range(zero, tq, one, DataType.LONG).add(tk.sub(tq)); // last visible key
        SDVariable cols = sd.range(zero, tk, one, DataType.LONG);
        SDVariable keep = sd.lte(sd.expandDims(cols, 0), sd.expandDims(rows, 1)).castTo(type); // [Tq, Tk]
        return sd.expandDims(sd.expandDims(keep, 0), 0);
    }

    /** A [Tq, Tk], [B, Tq, Tk] or [B, H, Tq, Tk] mask as a rank-4 tensor that broadcasts. */
    private static SDVariable toRank4(SDVariable m, String what, DataType type) {
        long[] shape = m.getShape();
        if (shape == null) {
            throw new IllegalArgumentException("The " + what + " mask '" + m.name()
                    + "' has no known rank; give it a shape ([Tq, Tk], [B, Tq, Tk] or [B, H, Tq, Tk])");
        }
        SameDiff sd = m.getSameDiff();
        SDVariable x = Graphs.as(m, type);
        return switch (shape.length) {
            case 2 -> sd.expandDims(sd.expandDims(x, 0), 0);
            case 3 -> sd.expandDims(x, 1);
            case 4 -> x;
            default -> throw new IllegalArgumentException("The " + what + " mask must be [Tq, Tk], "
                    + "[B, Tq, Tk] or [B, H, Tq, Tk], got shape " + Arrays.toString(shape));
        };
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
