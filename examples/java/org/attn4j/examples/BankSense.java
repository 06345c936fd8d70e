package org.attn4j.examples;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;
import org.attn4j.config.AttentionMask;
import org.attn4j.nn.AttentionGradients;
import org.attn4j.nn.AttentionOutput;
import org.attn4j.nn.AttentionPass;
import org.attn4j.nn.Linear;
import org.attn4j.nn.MultiHeadAttention;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * "The bank by the river", exercise 4 of {@link Basics}: a one-head attention model that learns which
 * sense of "bank" a sentence means, and in doing so learns to look at the word that decides it.
 *
 * <p>Data: sentences of {@value #LENGTH} words, "bank" at a random position, one sense word ("river",
 * "water", ... or "money", "loan", ...) at another random position, and the rest filler words that
 * appear equally often with both senses. Neither position nor filler tells the sense; only the sense
 * word does.
 *
 * <p>Model: token embeddings (rows of a {@code [V, C]} array) plus learned positions, one
 * single-head {@link MultiHeadAttention} layer without a residual, so the only way information
 * reaches "bank" is through its attention weights, and a linear classifier on "bank"'s output.
 *
 * <p>Training runs on the engine: the attention layer's own forward and backward
 * ({@link MultiHeadAttention#train}, {@link AttentionPass#backward}), the embeddings' and the
 * classifier's gradients written out below, and ND4J's Adam updater per parameter.
 */
final class BankSense {
    static final int LENGTH = 8;
    private static final int WIDTH = 16, BATCH = 64, TRAIN = 2048, HELD_OUT = 512;
    static final String BANK = "bank";
    static final List<String> RIVER = List.of("river", "water", "fishing", "shore");
    static final List<String> MONEY = List.of("money", "loan", "cash", "deposit");
    private static final List<String> FILLER = List.of("the", "a", "we", "walked", "to", "sat", "by", "near",
            "old", "saw", "on", "there", "today", "after", "lunch", "quiet");
    private static final List<String> VOCAB = vocabulary();
    /** The sense labels, in the classifier's output order. */
    static final List<String> SENSES = List.of("river", "money");

    /** One sentence: its words, where "bank" and the sense word are, and the sense (index into SENSES). */
    record Sentence(List<String> words, int bankAt, int senseAt, int sense) {
    }

    /**
     * What training gave.
     *
     * @param heldOut     held-out sentences, in order
     * @param weights     "bank"'s attention weights over the words of each held-out sentence {@code [N, T]}
     * @param predicted   the predicted sense of each held-out sentence
     * @param accuracy    fraction of held-out senses predicted right
     * @param attendsSense fraction of held-out sentences whose largest "bank" weight is on the sense word
     */
    record Result(List<Sentence> heldOut, double[][] weights, int[] predicted, double accuracy,
            double attendsSense, double initialLoss, double finalLoss, double seconds) {
    }

    private BankSense() {
    }

    /** Generates data, trains for {@code steps} Adam steps and evaluates on held-out sentences. */
    static Result train(int steps, long seed) {
        Random random = new Random(seed);
        Nd4j.getRandom().setSeed(seed); // the initial weights, whatever ran before
        List<Sentence> train = sentences(TRAIN, random);
        List<Sentence> heldOut = sentences(HELD_OUT, random);
        Model model = new Model();
        Map<String, GradientUpdater> adam = updaters(model.parameters(), new Adam(3e-2));

        List<Batch> batches = new ArrayList<>();
        for (int i = 0; i < TRAIN; i += BATCH) {
            batches.add(Batch.of(train.subList(i, i + BATCH)));
        }
        Batch test = Batch.of(heldOut);
        double initialLoss = model.evaluate(test).loss();
        long start = System.nanoTime();
        for (int step = 1; step <= steps; step++) {
            Map<String, INDArray> gradients = model.gradients(batches.get((step - 1) % batches.size()));
            for (Map.Entry<String, INDArray> g : gradients.entrySet()) { // Adam turns each gradient into its step
                adam.get(g.getKey()).applyUpdater(g.getValue(), step - 1, 0);
                model.parameters().get(g.getKey()).subi(g.getValue());
            }
            if (step % Math.max(1, steps / 4) == 0) {
                System.out.printf(Locale.ROOT, "     step %4d  held-out loss %.2e%n", step, model.evaluate(test).loss());
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;

        Evaluation r = model.evaluate(test);
        int right = 0, onSense = 0;
        for (int i = 0; i < heldOut.size(); i++) {
            right += r.predicted()[i] == heldOut.get(i).sense() ? 1 : 0;
            onSense += argMax(r.weights()[i]) == heldOut.get(i).senseAt() ? 1 : 0;
        }
        return new Result(heldOut, r.weights(), r.predicted(), right / (double) heldOut.size(),
                onSense / (double) heldOut.size(), initialLoss, r.loss(), seconds);
    }

    /** ND4J's updater for each parameter, with its state (Adam: two moments per element). */
    private static Map<String, GradientUpdater> updaters(Map<String, INDArray> parameters, IUpdater config) {
        Map<String, GradientUpdater> all = new LinkedHashMap<>();
        parameters.forEach((name, p) -> {
            INDArray state = Nd4j.zeros(p.dataType(), 1, config.stateSize(p.length()));
            GradientUpdater u = config.instantiate(state, true);
            u.setStateViewArray(state, p.shape(), p.ordering(), true);
            all.put(name, u);
        });
        return all;
    }

    /** Sentences as ids: {@code tokens [N*T]}, "bank"'s row {@code b*T + bankAt} of each, labels [N]. */
    private record Batch(int n, int[] tokens, int[] bankRows, int[] labels) {
        static Batch of(List<Sentence> sentences) {
            int n = sentences.size();
            int[] tokens = new int[n * LENGTH], bankRows = new int[n], labels = new int[n];
            for (int i = 0; i < n; i++) {
                Sentence s = sentences.get(i);
                for (int t = 0; t < LENGTH; t++) {
                    tokens[i * LENGTH + t] = VOCAB.indexOf(s.words().get(t));
                }
                bankRows[i] = i * LENGTH + s.bankAt();
                labels[i] = s.sense();
            }
            return new Batch(n, tokens, bankRows, labels);
        }
    }

    /** Held-out loss, "bank"'s weights {@code [N, T]} and the predicted senses. */
    private record Evaluation(double loss, double[][] weights, int[] predicted) {
    }

    /**
     * The model on the engine: x = embed[token] + position[t]; a = attention(x, x, x); logits = a[bank] W^T + b.
     * Its backward is the attention layer's own, with the embeddings' and the classifier's written out here.
     */
    private static final class Model {
        // Small embeddings start every attention row near uniform. With unit-variance ones, "bank" often
        // starts out attending to itself, and once the loss is near 0 nothing pushes it off again.
        private final INDArray embed = Nd4j.randn(DataType.FLOAT, VOCAB.size(), WIDTH).muli(0.3); // [V, C]
        private final INDArray position = Nd4j.randn(DataType.FLOAT, LENGTH, WIDTH).muli(0.1); // [T, C]
        private final MultiHeadAttention attention = new MultiHeadAttention("attn",
                MultiHeadAttention.Config.of(WIDTH, 1));
        private final Linear classifier = new Linear("classify", new Linear.Config(WIDTH, SENSES.size(), true));
        private final INDArray weight = classifier.parameters().get("classify.weight"); // [2, C]
        private final INDArray bias = classifier.parameters().get("classify.bias"); // [2]
        private final Map<String, INDArray> all = new LinkedHashMap<>();

        Model() {
            all.put("embed.weight", embed);
            all.put("position.weight", position);
            attention.parameters().forEach((name, v) -> all.put(name, v));
            all.put("classify.weight", weight);
            all.put("classify.bias", bias);
        }

        Map<String, INDArray> parameters() {
            return all;
        }

        /** x [N, T, C]: token embedding rows plus learned positions. */
        private INDArray embed(Batch batch) {
            INDArray x = Nd4j.pullRows(embed, 1, batch.tokens()).reshape(batch.n(), LENGTH * WIDTH); // [N, T*C]
            return x.addiRowVector(position.reshape(1, LENGTH * WIDTH)).reshape(batch.n(), LENGTH, WIDTH);
        }

        /** "bank"'s output row of each sentence {@code [N, C]} from the attention's output {@code [N, T, C]}. */
        private static INDArray atBank(INDArray output, Batch batch) {
            return Nd4j.pullRows(output.reshape(batch.n() * LENGTH, WIDTH), 1, batch.bankRows()); // [N, C]
        }

        /** Softmax of the classifier's logits {@code [N, 2]}. */
        private INDArray probabilities(INDArray atBank) {
            return Transforms.softmax(atBank.mmul(weight.transpose()).addiRowVector(bias));
        }

        private static double loss(INDArray probs, Batch batch) {
            double sum = 0;
            for (int i = 0; i < batch.n(); i++) {
                sum -= Math.log(probs.getDouble(i, batch.labels()[i]));
            }
            return sum / batch.n();
        }

        Evaluation evaluate(Batch batch) {
            AttentionOutput<INDArray> a = attention.apply(embed(batch), AttentionMask.none());
            INDArray probs = probabilities(atBank(a.output(), batch));
            double[][] weights = new double[batch.n()][LENGTH];
            for (int i = 0; i < batch.n(); i++) {
                int bankAt = batch.bankRows()[i] - i * LENGTH;
                for (int j = 0; j < LENGTH; j++) {
                    weights[i][j] = a.weights().getDouble(i, 0, bankAt, j); // [N, H=1, T, T]
                }
            }
            return new Evaluation(loss(probs, batch), weights, probs.argMax(1).toIntVector());
        }

        /** Gradients of the batch's mean cross-entropy by parameter name. */
        Map<String, INDArray> gradients(Batch batch) {
            int n = batch.n();
            INDArray x = embed(batch);
            AttentionPass pass = attention.train(x, x, x, AttentionMask.none()); // self-attention
            INDArray atBank = atBank(pass.output(), batch);
            INDArray probs = probabilities(atBank);
            // Softmax cross-entropy: dLogits = (p - onehot(label)) / N.
            INDArray dLogits = probs.dup();
            for (int i = 0; i < n; i++) {
                dLogits.putScalar(i, batch.labels()[i], dLogits.getDouble(i, batch.labels()[i]) - 1);
            }
            dLogits.divi(n);
            Map<String, INDArray> g = new LinkedHashMap<>();
            // logits = a W^T + b:  dW = dLogits^T a,  db = column sums,  da = dLogits W.
            INDArray dWeight = dLogits.transpose().mmul(atBank), dBias = dLogits.sum(0);
            float[] dAtBank = dLogits.mmul(weight).data().asFloat(); // [N, C]
            // Only "bank"'s row of the attention's output reaches the classifier.
            float[] dOutput = new float[n * LENGTH * WIDTH];
            for (int i = 0; i < n; i++) {
                System.arraycopy(dAtBank, i * WIDTH, dOutput, batch.bankRows()[i] * WIDTH, WIDTH);
            }
            AttentionGradients a = pass.backward(Nd4j.create(dOutput, new long[] {n, LENGTH, WIDTH}, 'c'));
            pass.close(); // its activations, freed now rather than when the garbage collector finds the pass
            // x = embed[token] + position[t]: each row's gradient adds into its token's row and its position's.
            float[] dx = a.input().data().asFloat(), dEmbed = new float[VOCAB.size() * WIDTH],
                    dPosition = new float[LENGTH * WIDTH];
            for (int r = 0; r < n * LENGTH; r++) {
                int token = batch.tokens()[r] * WIDTH, t = (r % LENGTH) * WIDTH;
                for (int j = 0; j < WIDTH; j++) {
                    dEmbed[token + j] += dx[r * WIDTH + j];
                    dPosition[t + j] += dx[r * WIDTH + j];
                }
            }
            g.put("embed.weight", Nd4j.create(dEmbed, new long[] {VOCAB.size(), WIDTH}, 'c'));
            g.put("position.weight", Nd4j.create(dPosition, new long[] {LENGTH, WIDTH}, 'c'));
            g.putAll(a.parameters());
            g.put("classify.weight", dWeight);
            g.put("classify.bias", dBias);
            return g;
        }
    }

    /**
     * Draws "bank"'s weights in the first {@code rows} held-out sentences as a PNG heatmap: one row per
     * sentence, one cell per word with the word and its weight, darker for more weight; "bank"'s own
     * cell is outlined and the sense word is in bold. Drawn with Java2D rather than XChart because
     * every cell needs its own word.
     */
    static void drawWeights(Result r, int rows, Path png) throws IOException {
        int cellW = 92, cellH = 44, left = 16, top = 44;
        int n = Math.min(rows, r.heldOut().size());
        BufferedImage image = new BufferedImage(left * 2 + cellW * LENGTH, top + cellH * n + 16,
                BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, image.getWidth(), image.getHeight());
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.drawString("Where \"bank\" looks: its attention weights in held-out sentences", left, 26);
        for (int i = 0; i < n; i++) {
            Sentence s = r.heldOut().get(i);
            for (int t = 0; t < LENGTH; t++) {
                int x = left + t * cellW, y = top + i * cellH;
                float w = (float) r.weights()[i][t];
                g.setColor(new Color(1 - 0.8f * w, 1 - 0.55f * w, 1 - 0.2f * w)); // white to dark blue
                g.fillRect(x, y, cellW, cellH);
                g.setColor(t == s.bankAt() ? Color.RED : Color.LIGHT_GRAY);
                g.setStroke(new BasicStroke(t == s.bankAt() ? 3 : 1));
                g.drawRect(x, y, cellW, cellH);
                g.setColor(w > 0.55f ? Color.WHITE : Color.BLACK);
                g.setFont(new Font(Font.SANS_SERIF, t == s.senseAt() ? Font.BOLD : Font.PLAIN, 14));
                g.drawString(s.words().get(t), x + 8, y + 18);
                g.setFont(new Font(Font.MONOSPACED, Font.PLAIN, 13));
                g.drawString(String.format(Locale.ROOT, "%.3f", w), x + 8, y + 36);
            }
        }
        g.dispose();
        ImageIO.write(image, "png", png.toFile());
    }

    static int argMax(double[] w) {
        int best = 0;
        for (int j = 1; j < w.length; j++) {
            best = w[j] > w[best] ? j : best;
        }
        return best;
    }

    private static List<Sentence> sentences(int n, Random random) {
        List<Sentence> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int sense = random.nextInt(SENSES.size());
            int bankAt = random.nextInt(LENGTH);
            int senseAt = (bankAt + 1 + random.nextInt(LENGTH - 1)) % LENGTH; // any position but bank's
            List<String> senseWords = sense == 0 ? RIVER : MONEY;
            List<String> words = new ArrayList<>();
            for (int t = 0; t < LENGTH; t++) {
                words.add(t == bankAt ? BANK : t == senseAt ? senseWords.get(random.nextInt(senseWords.size()))
                        : FILLER.get(random.nextInt(FILLER.size())));
            }
            out.add(new Sentence(List.copyOf(words), bankAt, senseAt, sense));
        }
        return out;
    }

    private static List<String> vocabulary() {
        List<String> v = new ArrayList<>(List.of(BANK));
        v.addAll(RIVER);
        v.addAll(MONEY);
        v.addAll(FILLER);
        return List.copyOf(v);
    }
}
