package org.attn4j.examples;

import java.util.Locale;
import java.util.Map;
import org.attn4j.config.AttentionMask;
import org.attn4j.nn.AttentionOutput;
import org.attn4j.kernels.Parallel;
import org.attn4j.nn.FastBlock;
import org.attn4j.nn.MultiHeadAttention;
import org.attn4j.nn.ScaledDotProductAttention;
import org.attn4j.nn.TransformerBlock;
import org.attn4j.train.ParameterUpdater;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

/**
 * A tour of attn4j's layers in three steps.
 *
 * <ol>
 *   <li>Scaled dot-product attention on the lesson's worked example: three tokens, each looking at
 *       every token at once; softmax(QK^T / sqrt(d_k)) gives weights that sum to 1.</li>
 *   <li>Multi-head attention with a causal mask, run eagerly on arrays: each head's weights, with
 *       the future (upper triangle) masked out.</li>
 *   <li>A transformer block trained on the engine ({@code FastBlock}'s forward and backward, ND4J's Adam through
 *       {@code ParameterUpdater}) on a task that needs attention: predict, at every position, the mean of the whole
 *       sequence. The same block inside a SameDiff graph is {@code new TransformerBlockGraph(sd, block)}.</li>
 * </ol>
 * Arguments ({@code key=value}): {@code steps=200}, {@code seed=1}.
 * Run: {@code mvn -q test-compile exec:java}. Last line: {@code RESULT ...}.
 */
public final class LayersDemo {
    public static void main(String[] args) throws Exception {
        Cli.main("layers", args, LayersDemo::run);
    }

    static void run(String[] args) {
        Flags opts = Flags.parse(args, Map.of("steps", "200", "seed", "1"));
        int steps = opts.integer("steps", 1);
        Nd4j.getRandom().setSeed(opts.seed("seed"));

        // 1. The lesson's worked example.
        double[][] q = {{1, 0, 1, 0}, {0, 1, 0, 1}, {1, 1, 0, 0}};
        double[][] v = {{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}};
        System.out.println("1. Scaled dot-product attention, Q = K = " + rows(q));
        for (int i = 0; i < q.length; i++) {
            double[] w = ScaledDotProductAttention.attentionWeights(q[i], q);
            System.out.printf(Locale.ROOT, "   token %d attends with weights %s (sum %.3f)%n", i, row(w, "%.3f"),
                    w[0] + w[1] + w[2]);
        }
        System.out.println("   first output row: " + row(ScaledDotProductAttention.attention(q, q, v)[0], "%.4f"));

        // 2. Multi-head attention, causal, eager.
        MultiHeadAttention mha = MultiHeadAttention.create(MultiHeadAttention.Config.of(8, 2).withCausal(true),
                DataType.FLOAT);
        AttentionOutput<INDArray> a = mha.apply(Nd4j.randn(DataType.FLOAT, 1, 4, 8), AttentionMask.none());
        System.out.println("\n2. Causal multi-head attention on 4 tokens, output " + shape(a.output())
                + ", weights " + shape(a.weights()));
        for (int h = 0; h < 2; h++) {
            System.out.println("   head " + h + " (row = query, column = key):");
            for (int i = 0; i < 4; i++) {
                double[] w = new double[4];
                for (int j = 0; j < 4; j++) {
                    w[j] = a.weights().getDouble(0, h, i, j);
                }
                System.out.println("     " + row(w, "%.2f"));
            }
        }

        // 3. Train a block on the engine: forward, backward (every parameter's gradient), an ND4J Adam step.
        int b = 32, t = 6, c = 16;
        TransformerBlock block = new TransformerBlock("block0", TransformerBlock.Config.encoder(c, 4, 32));
        FastBlock fast = FastBlock.of(block.config(), block.weights()); // the engine on the block's own arrays
        ParameterUpdater training = new ParameterUpdater(fast.parameters(), fast.gradients(), new Adam(5e-3),
                Parallel.shared());                                     // ND4J's Adam on the engine's gradients
        INDArray features = Nd4j.randn(DataType.FLOAT, b, t, c);        // [B, T, C]
        INDArray target = features.mean(true, 1).repeat(1, t);          // every position: the sequence mean
        double first = meanSquare(block.apply(features, AttentionMask.none()).output().sub(target));
        System.out.printf(Locale.ROOT, "%n3. Training %s (%d parameters) to output the sequence mean%n",
                "block0", block.parameterCount());
        long start = System.nanoTime();
        for (int step = 1; step <= steps; step++) {
            INDArray diff = fast.forward(features, AttentionMask.none()).output().sub(target);
            fast.backward(diff.mul(2.0 / diff.length()));              // d mean((y - target)^2) / dy
            training.update();
            if (step % Math.max(1, steps / 4) == 0) {
                System.out.printf(Locale.ROOT, "   step %4d  loss %.4f%n", step, meanSquare(diff));
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        double last = meanSquare(block.apply(features, AttentionMask.none()).output().sub(target));
        System.out.printf(Locale.ROOT, "RESULT initial_loss=%.4f final_loss=%.4f steps=%d train_seconds=%.1f%n",
                first, last, steps, seconds);
    }

    private static double meanSquare(INDArray diff) {
        return diff.mul(diff).meanNumber().doubleValue();
    }

    private static String rows(double[][] m) {
        StringBuilder s = new StringBuilder("[");
        for (double[] r : m) {
            s.append(s.length() > 1 ? ", " : "").append(row(r, "%.0f"));
        }
        return s.append("]").toString();
    }

    private static String row(double[] r, String format) {
        StringBuilder s = new StringBuilder("[");
        for (int i = 0; i < r.length; i++) {
            s.append(i > 0 ? ", " : "").append(String.format(Locale.ROOT, format, r[i]));
        }
        return s.append("]").toString();
    }

    private static String shape(INDArray a) {
        return java.util.Arrays.toString(a.shape());
    }
}
