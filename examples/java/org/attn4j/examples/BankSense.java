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
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import javax.imageio.ImageIO;
import org.attn4j.config.AttentionMask;
import org.attn4j.nn.AttentionOutput;
import org.attn4j.nn.Gradients;
import org.attn4j.nn.Linear;
import org.attn4j.nn.MultiHeadAttention;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.TrainingConfig;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

/**
 * "The bank by the river", exercise 4 of {@link Basics}: a one-head attention model that learns which
 * sense of "bank" a sentence means, and in doing so learns to look at the word that decides it.
 *
 * <p>Data: sentences of {@value #LENGTH} words, "bank" at a random position, one sense word ("river",
 * "water", ... or "money", "loan", ...) at another random position, and the rest filler words that
 * appear equally often with both senses. Neither position nor filler tells the sense; only the sense
 * word does.
 *
 * <p>Model: token embeddings (rows of a {@code [V, C]} variable) plus learned positions, one
 * single-head {@link MultiHeadAttention} layer without a residual, so the only way information
 * reaches "bank" is through its attention weights, and a linear classifier on "bank"'s output.
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

        SameDiff sd = SameDiff.create();
        SDVariable tokens = sd.placeHolder("tokens", DataType.INT, -1, LENGTH);
        SDVariable bankAt = sd.placeHolder("bank_at", DataType.FLOAT, -1, LENGTH); // one-hot
        SDVariable label = sd.placeHolder("label", DataType.FLOAT, -1, SENSES.size()); // one-hot
        // Small embeddings start every attention row near uniform. With unit-variance ones, "bank" often
        // starts out attending to itself, and once the loss is near 0 nothing pushes it off again.
        SDVariable embed = sd.var("embed.weight", Nd4j.randn(DataType.FLOAT, VOCAB.size(), WIDTH).muli(0.3));
        SDVariable position = sd.var("position.weight", Nd4j.randn(DataType.FLOAT, LENGTH, WIDTH).muli(0.1));
        // The embedding lookup is a one-hot product: in ND4J M2.1, fit fails on sd.gather's gradient
        // ("One of Input arguments was closed before call") where calculateGradients does not.
        SDVariable oneHot = sd.reshape(sd.oneHot(tokens, VOCAB.size(), -1, 1.0, 0.0, DataType.FLOAT),
                -1, VOCAB.size()); // [B*T, V]
        SDVariable x = sd.reshape(sd.mmul(oneHot, embed), -1, LENGTH, WIDTH).add(position); // [B, T, C]
        MultiHeadAttention attention = new MultiHeadAttention(sd, "attn", MultiHeadAttention.Config.of(WIDTH, 1));
        AttentionOutput<SDVariable> a = attention.forward(x, AttentionMask.none());
        SDVariable select = sd.expandDims(bankAt, 2); // [B, T, 1]: picks bank's row
        SDVariable atBank = sd.sum(a.output().mul(select), 1); // [B, C]
        sd.sum("bank_weights", sd.squeeze(a.weights(), 1).mul(select), 1); // [B, Tk]
        SDVariable logits = new Linear(sd, "classify", new Linear.Config(WIDTH, SENSES.size(), true))
                .forward(atBank); // [B, 2]
        sd.nn.softmax("probs", logits, 1);
        sd.setLossVariables(sd.loss.softmaxCrossEntropy("loss", label, logits, null));
        sd.setTrainingConfig(TrainingConfig.builder().updater(new Adam(3e-2))
                .dataSetFeatureMapping("tokens", "bank_at").dataSetLabelMapping("label").build());
        Gradients.build(sd);

        List<MultiDataSet> batches = new ArrayList<>();
        for (int i = 0; i < TRAIN; i += BATCH) {
            batches.add(encode(train.subList(i, i + BATCH)));
        }
        MultiDataSet test = encode(heldOut);
        Map<String, INDArray> testFeed = Map.of("tokens", test.getFeatures(0), "bank_at", test.getFeatures(1),
                "label", test.getLabels(0));
        // fit does not report the loss, so it is evaluated on the held-out set as training goes.
        double initialLoss = sd.output(testFeed, "loss").get("loss").getDouble(0);
        long start = System.nanoTime();
        for (int step = 1; step <= steps; step++) {
            sd.fit(batches.get((step - 1) % batches.size()));
            if (step % Math.max(1, steps / 4) == 0) {
                System.out.printf(Locale.ROOT, "     step %4d  held-out loss %.2e%n", step,
                        sd.output(testFeed, "loss").get("loss").getDouble(0));
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;

        Map<String, INDArray> r = sd.output(testFeed, "loss", "probs", "bank_weights");
        double[][] weights = r.get("bank_weights").toDoubleMatrix();
        int[] predicted = r.get("probs").argMax(1).toIntVector();
        int right = 0, onSense = 0;
        for (int i = 0; i < heldOut.size(); i++) {
            right += predicted[i] == heldOut.get(i).sense() ? 1 : 0;
            onSense += argMax(weights[i]) == heldOut.get(i).senseAt() ? 1 : 0;
        }
        return new Result(heldOut, weights, predicted, right / (double) heldOut.size(),
                onSense / (double) heldOut.size(), initialLoss, r.get("loss").getDouble(0), seconds);
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

    /** Features {@code tokens [N, T]} (INT) and {@code bank_at [N, T]} (one-hot); label {@code [N, 2]}. */
    private static MultiDataSet encode(List<Sentence> sentences) {
        int n = sentences.size();
        INDArray tokens = Nd4j.zeros(DataType.INT, n, LENGTH);
        INDArray bankAt = Nd4j.zeros(DataType.FLOAT, n, LENGTH);
        INDArray label = Nd4j.zeros(DataType.FLOAT, n, SENSES.size());
        for (int i = 0; i < n; i++) {
            Sentence s = sentences.get(i);
            for (int t = 0; t < LENGTH; t++) {
                tokens.putScalar(i, t, VOCAB.indexOf(s.words().get(t)));
            }
            bankAt.putScalar(i, s.bankAt(), 1);
            label.putScalar(i, s.sense(), 1);
        }
        return new MultiDataSet(new INDArray[] {tokens, bankAt}, new INDArray[] {label});
    }

    private static List<String> vocabulary() {
        List<String> v = new ArrayList<>(List.of(BANK));
        v.addAll(RIVER);
        v.addAll(MONEY);
        v.addAll(FILLER);
        return List.copyOf(v);
    }
}
