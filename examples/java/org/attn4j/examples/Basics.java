package org.attn4j.examples;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.attn4j.config.AttentionMask;
import org.attn4j.config.AttentionOutput;
import org.attn4j.nn.ScaledDotProductAttention;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Attention from scratch: the lesson's worked example, its exercises and its coding challenge, runnable
 * and drawn.
 *
 * <ol>
 *   <li>The worked example: three tokens with 4-dimensional vectors, Q = K, computed with plain arrays
 *       and with {@link ScaledDotProductAttention} on ND4J, which agree.</li>
 *   <li>The exercises: two identical tokens; a key of zeros (still attended) against a mask (really
 *       excluded); attention without the 1/sqrt(d_k) scale, on the example and as a sweep over d_k
 *       (table and {@code scaling.png}); and "the bank by the river", a one-head model trained in
 *       seconds whose "bank" learns to look at the word that decides its sense ({@code bank.png}).</li>
 *   <li>The coding challenge: {@code attentionWeights(query, keys)}, whose weights sum to 1.</li>
 * </ol>
 * It also writes {@code tour.html}, a page that steps through the worked example with a heatmap at
 * each step. Arguments ({@code key=value}): {@code out=target/basics}, {@code seed=1}, {@code steps=200}
 * (bank model), {@code trials=200} (rows per d_k in the sweep). Run:
 * {@code mvn -q test-compile exec:java@basics}. Last line: {@code RESULT ...}.
 */
public final class Basics {
    static final double[][] Q = {{1, 0, 1, 0}, {0, 1, 0, 1}, {1, 1, 0, 0}};
    static final double[][] V = {{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}};
    /** Keys per query in the scaling sweep. */
    private static final int SWEEP_KEYS = 16;

    public static void main(String[] args) throws Exception {
        Cli.main("basics", args, Basics::run);
    }

    static void run(String[] args) throws IOException {
        Flags opts = Flags.parse(args, Map.of("out", "target/basics", "seed", "1", "steps", "200", "trials", "200"));
        long seed = opts.seed("seed");
        int steps = opts.integer("steps", 1), trials = opts.integer("trials", 1);
        Path out = Files.createDirectories(opts.path("out"));
        Nd4j.getRandom().setSeed(seed);

        double maxDiff = workedExample();

        System.out.println("\nPart 2. Exercises");
        identicalTokens();
        zeroKeyAgainstMask();
        Sweep sweep = withoutScaling(trials, out.resolve("scaling.png"));
        BankSense.Result bank = bankByTheRiver(steps, seed, out.resolve("bank.png"));

        codingChallenge();

        Path tour = AttentionTour.write(Q, Q, V, out.resolve("tour.html"));
        System.out.println("\nVisual tour of the worked example (open in a browser): " + tour.toAbsolutePath());
        System.out.printf(Locale.ROOT, "RESULT bank_accuracy=%.4f bank_attends_sense_word=%.4f nd4j_max_diff=%.1e "
                        + "sweep_dk=%d max_weight_scaled=%.3f max_weight_unscaled=%.3f steps=%s train_seconds=%.1f%n",
                bank.accuracy(), bank.attendsSense(), maxDiff, sweep.dims()[sweep.dims().length - 1],
                last(sweep.maxScaled()), last(sweep.maxUnscaled()), steps, bank.seconds());
    }

    /** Part 1; returns the largest difference between the plain-array and the ND4J results. */
    private static double workedExample() {
        System.out.println("Part 1. The worked example: 3 tokens, d_k = 4, Q = K = " + rows(Q, "%.0f")
                + ", V = " + rows(V, "%.0f"));
        double[][] plainOut = ScaledDotProductAttention.attention(Q, Q, V);
        double[][] plainWeights = new double[Q.length][];
        for (int i = 0; i < Q.length; i++) {
            plainWeights[i] = ScaledDotProductAttention.attentionWeights(Q[i], Q);
            System.out.printf(Locale.ROOT, "   query %d weights %s  output %s%n", i, row(plainWeights[i], "%.3f"),
                    row(plainOut[i], "%.4f"));
        }
        AttentionOutput<INDArray> nd = nd4j(new ScaledDotProductAttention(), Q, Q, V, AttentionMask.none());
        double diff = Math.max(maxAbsDiff(plainWeights, matrix(nd.weights())), maxAbsDiff(plainOut, matrix(nd.output())));
        System.out.printf(Locale.ROOT, "   ScaledDotProductAttention on ND4J ([1, 1, 3, 4], float64) gives the same: "
                + "max |difference| over weights and outputs %.1e%n", diff);
        return diff;
    }

    private static void identicalTokens() {
        double[][] q = {Q[0], Q[0], Q[2]};
        System.out.println("\n1. Two identical tokens: Q = K = " + rows(q, "%.0f"));
        for (int i = 0; i < 2; i++) {
            System.out.printf(Locale.ROOT, "   query %d weights %s%n", i,
                    row(ScaledDotProductAttention.attentionWeights(q[i], q), "%.3f"));
        }
        System.out.println("   Each copy scores the other exactly as it scores itself, so they share their weight"
                + " equally and get the same output: without positions, attention cannot tell copies apart.");
    }

    private static void zeroKeyAgainstMask() {
        double[][] k = {Q[0], {0, 0, 0, 0}, Q[2]};
        System.out.println("\n2. Key 1 set to zeros, K = " + rows(k, "%.0f") + ", against masking key 1 out");
        INDArray keep = Nd4j.createFromArray(new double[][] {{1, 0, 1}}); // [B=1, Tk]: 1 = may attend
        AttentionOutput<INDArray> masked = nd4j(new ScaledDotProductAttention(), Q, Q, V,
                AttentionMask.ofPadding(keep));
        double[][] maskedWeights = matrix(masked.weights());
        for (int i = 0; i < Q.length; i++) {
            System.out.printf(Locale.ROOT, "   query %d  zero key: %s   masked: %s%n", i,
                    row(ScaledDotProductAttention.attentionWeights(Q[i], k), "%.3f"), row(maskedWeights[i], "%.3f"));
        }
        System.out.println("   A zero key scores 0, not -infinity, and exp(0) = 1, so it still takes weight;"
                + " only a mask (AttentionMask, 0 = may not attend) gives it exactly 0.");
    }

    /** Mean largest weight and mean entropy (bits) of attention rows at each d_k, scaled and not. */
    record Sweep(int[] dims, double[] maxScaled, double[] maxUnscaled, double[] entropyScaled,
            double[] entropyUnscaled) {
    }

    private static Sweep withoutScaling(int trials, Path png) throws IOException {
        System.out.println("\n3. Without the 1/sqrt(d_k) scale, on the worked example (d_k = 4):");
        ScaledDotProductAttention unscaled = new ScaledDotProductAttention(ScaledDotProductAttention.Config.unscaled());
        double[][] raw = matrix(nd4j(unscaled, Q, Q, V, AttentionMask.none()).weights());
        for (int i = 0; i < Q.length; i++) {
            System.out.printf(Locale.ROOT, "   query %d  scaled %s   unscaled %s%n", i,
                    row(ScaledDotProductAttention.attentionWeights(Q[i], Q), "%.3f"), row(raw[i], "%.3f"));
        }
        int[] dims = IntStream.rangeClosed(2, 10).map(p -> 1 << p).toArray();
        Sweep s = new Sweep(dims, new double[dims.length], new double[dims.length], new double[dims.length],
                new double[dims.length]);
        ScaledDotProductAttention scaled = new ScaledDotProductAttention();
        for (int i = 0; i < dims.length; i++) {
            // Unit-variance q and k: q.k then has variance d_k, and 1/sqrt(d_k) brings it back to 1.
            INDArray q = Nd4j.randn(DataType.DOUBLE, trials, 1, SWEEP_KEYS, dims[i]);
            INDArray k = Nd4j.randn(DataType.DOUBLE, trials, 1, SWEEP_KEYS, dims[i]);
            INDArray w = scaled.apply(q, k, k, AttentionMask.none()).weights(); // [trials, 1, T, T]
            INDArray wRaw = unscaled.apply(q, k, k, AttentionMask.none()).weights();
            s.maxScaled()[i] = w.max(3).meanNumber().doubleValue();
            s.maxUnscaled()[i] = wRaw.max(3).meanNumber().doubleValue();
            s.entropyScaled()[i] = meanEntropyBits(w);
            s.entropyUnscaled()[i] = meanEntropyBits(wRaw);
        }
        System.out.printf(Locale.ROOT, "   Random unit-variance vectors, %d keys per query (uniform = max weight %.3f,"
                + " entropy %.1f bits), %d x %d queries per d_k:%n", SWEEP_KEYS, 1.0 / SWEEP_KEYS,
                log2(SWEEP_KEYS), trials, SWEEP_KEYS);
        System.out.println("      d_k | max weight  scaled  unscaled | entropy (bits)  scaled  unscaled");
        for (int i = 0; i < dims.length; i++) {
            System.out.printf(Locale.ROOT, "   %6d |             %.3f     %.3f |                 %.2f      %.2f%n",
                    dims[i], s.maxScaled()[i], s.maxUnscaled()[i], s.entropyScaled()[i], s.entropyUnscaled()[i]);
        }
        plot(s, png);
        System.out.println("   Unscaled scores grow like sqrt(d_k), so the softmax saturates towards one key"
                + " (tiny gradients for the rest); scaled, the weights stay the same at every d_k. Plot: " + png);
        return s;
    }

    private static BankSense.Result bankByTheRiver(int steps, long seed, Path png) throws IOException {
        System.out.printf(Locale.ROOT, "%n4. The bank by the river: sentences of %d words with \"bank\" and one sense word"
                + " (%s or %s) at random positions among filler words; one single-head attention layer and a"
                + " classifier on \"bank\"'s output, %d Adam steps%n", BankSense.LENGTH, BankSense.RIVER,
                BankSense.MONEY, steps);
        BankSense.Result r = BankSense.train(steps, seed);
        System.out.println("   \"bank\"'s weights in the first held-out sentences (sense word in capitals):");
        for (int i = 0; i < 4; i++) {
            System.out.println("     " + sentence(r, i));
        }
        List<Integer> misses = new ArrayList<>();
        for (int i = 0; i < r.heldOut().size() && misses.size() < 3; i++) {
            BankSense.Sentence s = r.heldOut().get(i);
            if (r.predicted()[i] != s.sense() || BankSense.argMax(r.weights()[i]) != s.senseAt()) {
                misses.add(i);
            }
        }
        System.out.println(misses.isEmpty() ? "   No held-out sentence is misclassified or looks elsewhere first."
                : "   First held-out sentences misclassified or looking elsewhere first:");
        for (int i : misses) {
            System.out.println("     predicted " + BankSense.SENSES.get(r.predicted()[i]) + ": " + sentence(r, i));
        }
        BankSense.drawWeights(r, 12, png);
        System.out.printf(Locale.ROOT, "   held-out accuracy %.3f; \"bank\"'s largest weight is on the sense word in %.1f%%"
                + " of %d held-out sentences (trained in %.1f s, held-out loss %.3f -> %.1e). Heatmap: %s%n",
                r.accuracy(), 100 * r.attendsSense(), r.heldOut().size(), r.seconds(), r.initialLoss(),
                r.finalLoss(), png);
        System.out.println("   Only the sense word tells the senses apart and it moves around, so \"bank\" learns"
                + " to find it by content (query meets key), not by position.");
        return r;
    }

    private static void codingChallenge() {
        System.out.println("\nPart 3. The coding challenge: attentionWeights(query, keys)");
        double[][] keys = {{1, 0, 1, 0}, {0, 1, 0, 1}, {1, 1, 0, 0}, {2, 0, 0, 1}};
        for (double[] query : new double[][] {{1, 2, 0, 1}, {300, 0, 200, 0}}) {
            double[] w = ScaledDotProductAttention.attentionWeights(query, keys);
            System.out.printf(Locale.ROOT, "   query %s over 4 keys: weights %s, sum %.6f%n", row(query, "%.0f"),
                    row(w, "%.4f"), w[0] + w[1] + w[2] + w[3]);
        }
        System.out.println("   Subtracting each row's largest score before exp keeps scores of 300 from"
                + " overflowing (exp(300) alone is 1.9e130, exp(710) is infinite) without changing the weights.");
    }

    /** Runs attention on ND4J in float64 with B = H = 1. */
    private static AttentionOutput<INDArray> nd4j(ScaledDotProductAttention attention, double[][] q, double[][] k,
            double[][] v, AttentionMask<INDArray> mask) {
        return attention.apply(heads(q), heads(k), heads(v), mask);
    }

    private static INDArray heads(double[][] m) {
        return Nd4j.createFromArray(m).reshape(1, 1, m.length, m[0].length); // [B=1, H=1, T, D]
    }

    /** The [T, D] matrix of a [1, 1, T, D] array. */
    private static double[][] matrix(INDArray a) {
        return a.reshape(a.size(2), a.size(3)).toDoubleMatrix();
    }

    private static double meanEntropyBits(INDArray w) {
        INDArray plogp = w.mul(Nd4j.math().log(w.add(1e-300))); // 0 log 0 = 0
        return -plogp.sum(3).meanNumber().doubleValue() / Math.log(2);
    }

    private static void plot(Sweep s, Path png) throws IOException {
        double[] x = IntStream.of(s.dims()).mapToDouble(Basics::log2).toArray();
        XYChart max = chart("Mean largest attention weight", "largest weight");
        max.addSeries("scaled by 1/sqrt(d_k)", x, s.maxScaled());
        max.addSeries("unscaled", x, s.maxUnscaled());
        XYChart entropy = chart("Mean entropy of the weights", "entropy (bits)");
        entropy.addSeries("scaled by 1/sqrt(d_k)", x, s.entropyScaled());
        entropy.addSeries("unscaled", x, s.entropyUnscaled());
        entropy.getStyler().setYAxisMin(0.0).setYAxisMax(log2(SWEEP_KEYS));
        max.getStyler().setYAxisMin(0.0).setYAxisMax(1.0);
        BitmapEncoder.saveBitmap(List.of(max, entropy), 1, 2, png.toString(), BitmapEncoder.BitmapFormat.PNG);
    }

    private static XYChart chart(String title, String yTitle) {
        XYChart c = new XYChartBuilder().width(560).height(400).title(title + ", " + SWEEP_KEYS + " keys")
                .xAxisTitle("d_k (log2 axis)").yAxisTitle(yTitle).build();
        c.getStyler().setxAxisTickLabelsFormattingFunction(x -> String.valueOf(Math.round(Math.pow(2, x))));
        return c;
    }

    private static String sentence(BankSense.Result r, int i) {
        BankSense.Sentence s = r.heldOut().get(i);
        return IntStream.range(0, BankSense.LENGTH).mapToObj(t -> String.format(Locale.ROOT, "%s(%.2f)",
                t == s.senseAt() ? s.words().get(t).toUpperCase(Locale.ROOT) : s.words().get(t), r.weights()[i][t]))
                .collect(Collectors.joining(" "));
    }

    private static double maxAbsDiff(double[][] a, double[][] b) {
        double max = 0;
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < a[i].length; j++) {
                max = Math.max(max, Math.abs(a[i][j] - b[i][j]));
            }
        }
        return max;
    }

    private static double log2(double x) {
        return Math.log(x) / Math.log(2);
    }

    private static double last(double[] a) {
        return a[a.length - 1];
    }

    static String rows(double[][] m, String format) {
        return "[" + java.util.Arrays.stream(m).map(r -> row(r, format)).collect(Collectors.joining(", ")) + "]";
    }

    static String row(double[] r, String format) {
        return "[" + java.util.Arrays.stream(r).mapToObj(x -> String.format(Locale.ROOT, format, x))
                .collect(Collectors.joining(", ")) + "]";
    }
}
