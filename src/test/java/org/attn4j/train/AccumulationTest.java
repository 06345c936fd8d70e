package org.attn4j.train;

import static org.attn4j.train.TrainerTest.ids;
import static org.attn4j.train.TrainerTest.snapshot;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.attn4j.data.Batch;
import org.attn4j.io.Checkpoint;
import org.attn4j.model.LanguageModel;
import org.attn4j.model.ModelConfig;
import org.attn4j.model.Seq2SeqTransformer;
import org.attn4j.model.TransformerModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Gradient accumulation: k micro-batches make the update of one batch of all their rows (the loss is a mean
 * over non-padding targets, so micro-batches weigh by their token counts), with label smoothing and clipping,
 * for both model kinds: the losses, and the updates of 3 Adam steps within 1e-10 of the update's largest entry in
 * float64 and 2e-4 in float32 (measured: 2e-13 and 2e-11 in float64, 4e-5 in float32; relative to the update, not
 * to the weights, which are some 30 times larger). NaN anywhere refuses the whole update; resuming between updates
 * is exact.
 */
class AccumulationTest {
    static final int V = TrainerTest.V;

    /** Three language-model micro-batches of 1, 3 and 2 rows, lengths 5, 3 and 6, with 5, 7 and 10 target tokens. */
    static List<Batch> lmMicroBatches() {
        return List.of(
                new Batch(null, ids(new int[][] {{1, 2, 3, 4, 5}}), ids(new int[][] {{2, 3, 4, 5, 6}})),
                new Batch(null, ids(new int[][] {{3, 4, 5}, {7, 8, 0}, {9, 10, 11}}),
                        ids(new int[][] {{4, 5, 6}, {8, 9, 0}, {10, 11, 0}})),
                new Batch(null, ids(new int[][] {{1, 3, 5, 7, 9, 11}, {2, 4, 6, 8, 10, 0}}),
                        ids(new int[][] {{3, 5, 7, 9, 11, 1}, {4, 6, 8, 10, 0, 0}})));
    }

    /** The micro-batches' rows in one batch, padded (id 0) to the longest. */
    static Batch concatenated(List<Batch> parts) {
        boolean seq2seq = parts.get(0).source() != null;
        List<int[]> source = new ArrayList<>(), input = new ArrayList<>(), target = new ArrayList<>();
        for (Batch b : parts) {
            if (seq2seq) {
                source.addAll(List.of(b.source().toIntMatrix()));
            }
            input.addAll(List.of(b.input().toIntMatrix()));
            target.addAll(List.of(b.target().toIntMatrix()));
        }
        return new Batch(seq2seq ? padded(source) : null, padded(input), padded(target));
    }

    private static INDArray padded(List<int[]> rows) {
        int t = rows.stream().mapToInt(r -> r.length).max().orElseThrow();
        return ids(rows.stream().map(r -> java.util.Arrays.copyOf(r, t)).toArray(int[][]::new));
    }

    static LanguageModel lm(DataType type, double dropout) {
        return TrainerTest.model(11, type, dropout);
    }

    /** Adam with label smoothing and a clip the first steps' gradients exceed. */
    static Trainer.Config config() {
        return TrainerTest.adam(3e-3).withLabelSmoothing(0.1).withClipNorm(0.5);
    }

    /**
     * The largest |a - b| over all parameters' elements relative to the largest |a|. (Per parameter would not
     * do: the keys' bias has a gradient of 0 in exact arithmetic, so both sides hold rounding noise there.)
     */
    static double relativeDifference(Map<String, INDArray> a, Map<String, INDArray> b) {
        double diff = 0, scale = 0;
        for (String p : a.keySet()) {
            diff = Math.max(diff, a.get(p).sub(b.get(p)).amaxNumber().doubleValue());
            scale = Math.max(scale, a.get(p).amaxNumber().doubleValue());
        }
        return diff / scale;
    }

    /** The same for the updates {@code a - start} and {@code b - start}: relative to the update, not the weights. */
    static double relativeUpdateDifference(Map<String, INDArray> start, Map<String, INDArray> a,
            Map<String, INDArray> b) {
        Map<String, INDArray> da = new java.util.HashMap<>(), db = new java.util.HashMap<>();
        start.forEach((p, w) -> {
            da.put(p, a.get(p).sub(w));
            db.put(p, b.get(p).sub(w));
        });
        return relativeDifference(da, db);
    }

    @Test
    void microBatchesOfALanguageModelGiveTheUpdateOfTheirConcatenation() {
        Map<String, INDArray> start = snapshot(lm(DataType.DOUBLE, 0));
        Trainer whole = new Trainer(lm(DataType.DOUBLE, 0), config());
        Trainer accumulated = new Trainer(lm(DataType.DOUBLE, 0), config());
        Batch big = concatenated(lmMicroBatches());
        for (int i = 0; i < 3; i++) {
            Trainer.StepResult a = whole.step(big), b = accumulated.step(lmMicroBatches());
            assertEquals(22, b.tokens());
            assertEquals(a.tokens(), b.tokens());
            assertEquals(a.loss(), b.loss(), 1e-12 * a.loss(), "loss at step " + i);
            assertEquals(a.gradNorm(), b.gradNorm(), 1e-12 * a.gradNorm(), "gradient norm at step " + i);
            assertTrue(i > 0 || a.gradNorm() > 0.5, "the first step is clipped: norm " + a.gradNorm());
        }
        double update = relativeUpdateDifference(start, snapshot(whole.model()), snapshot(accumulated.model()));
        System.out.printf("accumulation float64 LM: updates of 3 Adam steps differ by %.2e relative%n", update);
        assertTrue(update <= 1e-10, "relative update difference " + update);
    }

    @Test
    void weighingEachMicroBatchEquallyWouldBeWrong() {
        Trainer t = new Trainer(lm(DataType.DOUBLE, 0), config());
        Map<String, INDArray> whole = t.gradients(concatenated(lmMicroBatches())).gradients();
        Map<String, INDArray> byTokens = new java.util.HashMap<>(), equally = new java.util.HashMap<>();
        for (Batch b : lmMicroBatches()) {
            Trainer.BatchGradients g = t.gradients(b);
            g.gradients().forEach((p, v) -> {
                byTokens.merge(p, v.mul(g.tokens() / 22.0), INDArray::add);
                equally.merge(p, v.div(3.0), INDArray::add);
            });
        }
        assertTrue(relativeDifference(whole, byTokens) < 1e-12, "weighted by tokens: " + relativeDifference(whole, byTokens));
        assertTrue(relativeDifference(whole, equally) > 1e-2, "a plain mean of the micro-batches' gradients differs: "
                + relativeDifference(whole, equally));
    }

    @Test
    void aSeq2SeqBatchSplitByTheConfigGivesTheSameUpdate() {
        Batch batch = new Batch(ids(new int[][] {{4, 5, 6}, {7, 8, 0}, {9, 0, 0}, {3, 4, 5}, {6, 0, 0}}),
                ids(new int[][] {{1, 4, 5, 6}, {1, 7, 8, 0}, {1, 9, 0, 0}, {1, 3, 4, 5}, {1, 6, 0, 0}}),
                ids(new int[][] {{4, 5, 6, 2}, {7, 8, 2, 0}, {9, 2, 0, 0}, {3, 4, 5, 2}, {6, 2, 0, 0}}));
        List<Map<String, INDArray>> after = new ArrayList<>();
        Map<String, INDArray> start = snapshot(seq2seq());
        List<Double> losses = new ArrayList<>();
        for (int k : new int[] {1, 3}) { // k = 3: rows 1, 2 and 2, with 4, 5 and 6 tokens
            Trainer t = new Trainer(seq2seq(), config().withMicroBatches(k));
            for (int i = 0; i < 3; i++) {
                losses.add(t.step(batch).loss());
            }
            after.add(snapshot(t.model()));
        }
        for (int i = 0; i < 3; i++) {
            assertEquals(losses.get(i), losses.get(3 + i), 1e-12 * losses.get(i), "loss at step " + i);
        }
        double update = relativeUpdateDifference(start, after.get(0), after.get(1));
        System.out.printf("accumulation float64 seq2seq: updates of 3 Adam steps differ by %.2e relative%n", update);
        assertTrue(update <= 1e-10, "relative update difference " + update);
        assertEquals(List.of(1L, 2L, 2L), GradientAccumulator.split(batch, 3).stream().map(b -> b.input().size(0)).toList());
    }

    private static Seq2SeqTransformer seq2seq() {
        org.nd4j.linalg.factory.Nd4j.getRandom().setSeed(12);
        return new Seq2SeqTransformer(ModelConfig.seq2seq(V, 16, 2, 32, 1, 16), DataType.DOUBLE);
    }

    @Test
    void inFloat32TheUpdatesAgreeToRounding() {
        Map<String, INDArray> start = snapshot(lm(DataType.FLOAT, 0));
        Trainer whole = new Trainer(lm(DataType.FLOAT, 0), config());
        Trainer accumulated = new Trainer(lm(DataType.FLOAT, 0), config());
        Batch big = concatenated(lmMicroBatches());
        for (int i = 0; i < 3; i++) {
            double a = whole.step(big).loss(), b = accumulated.step(lmMicroBatches()).loss();
            assertEquals(a, b, 1e-6 * a, "loss at step " + i);
        }
        double update = relativeUpdateDifference(start, snapshot(whole.model()), snapshot(accumulated.model()));
        System.out.printf("accumulation float32 LM: updates of 3 Adam steps differ by %.2e relative%n", update);
        assertTrue(update <= 2e-4, "relative update difference " + update);
    }

    @Test
    void microBatchesDrawTheirOwnDropoutMasks() {
        Batch b = lmMicroBatches().get(2);
        double single = new Trainer(lm(DataType.DOUBLE, 0.3), config()).step(b).loss();
        double once = new Trainer(lm(DataType.DOUBLE, 0.3), config()).step(List.of(b)).loss();
        double twice = new Trainer(lm(DataType.DOUBLE, 0.3), config()).step(List.of(b, b)).loss();
        assertEquals(single, once, 1e-12 * single, "micro-batch 0 draws the masks of an unsplit step");
        assertNotEquals(single, twice, "the second copy has masks of its own, so the mean differs");
    }

    @Test
    void aNaNInOneMicroBatchRefusesTheWholeUpdate() {
        LanguageModel m = lm(DataType.FLOAT, 0.1);
        Trainer t = new Trainer(m, config());
        t.step(lmMicroBatches());
        String name = "positions.weight"; // position 5 is only in micro-batch 2 (the others are shorter)
        m.parameters().get(name).putScalar(5, 0, Float.NaN);
        Map<String, INDArray> weights = snapshot(m), state = new java.util.HashMap<>();
        t.optimizerState().forEach((k, v) -> state.put(k, v.dup()));
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class, () -> t.step(lmMicroBatches()));
        assertTrue(e.getMessage().contains("micro-batch 2 of 3") && e.getMessage().contains("after step 0"),
                e.getMessage());
        assertEquals(1, t.stepCount(), "the refused update does not count");
        Map<String, INDArray> after = snapshot(m);
        weights.forEach((p, v) -> assertTrue(v.equalsWithEps(after.get(p), 0) || p.equals(name), p));
        after.get(name).putScalar(5, 0, 0);
        weights.get(name).putScalar(5, 0, 0);
        assertTrue(weights.get(name).equalsWithEps(after.get(name), 0), "the rest of the positions stay");
        t.optimizerState().forEach((k, v) -> assertTrue(v.equalsWithEps(state.get(k), 0), "optimizer state of " + k));
    }

    @Test
    void aCheckpointBetweenUpdatesResumesExactly(@TempDir Path dir) {
        Trainer.Config cfg = TrainerTest.adam(3e-3).withMicroBatches(2);
        Batch batch = TrainerTest.countingBatch();
        Trainer straight = new Trainer(lm(DataType.FLOAT, 0.1), cfg);
        double[] expected = new double[6];
        for (int i = 0; i < 6; i++) {
            expected[i] = straight.step(batch).loss();
        }
        Trainer first = new Trainer(lm(DataType.FLOAT, 0.1), cfg);
        for (int i = 0; i < 3; i++) {
            first.step(batch);
        }
        Checkpoint.save(dir, first.model(), null, null, first.stepCount(), first.optimizerState());
        Checkpoint.Loaded loaded = Checkpoint.load(dir);
        Trainer resumed = new Trainer(loaded.model(), cfg);
        resumed.restore(loaded.step(), loaded.optimizerState());
        for (int i = 3; i < 6; i++) {
            assertEquals(expected[i], resumed.step(batch).loss(), 0.0, "step " + i);
        }
        TransformerModel a = straight.model(), b = resumed.model();
        assertEquals(0.0, relativeDifference(snapshot(a), snapshot(b)));
    }

    @Test
    void badMicroBatchesAreNamed() {
        Trainer t = new Trainer(lm(DataType.FLOAT, 0), config());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> t.step(List.of())).getMessage()
                .contains("at least one micro-batch, given an empty list"));
        List<Batch> withNull = new ArrayList<>(lmMicroBatches());
        withNull.set(1, null);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> t.step(withNull)).getMessage()
                .contains("Micro-batch 1 of 3 is null"));
        Trainer four = new Trainer(lm(DataType.FLOAT, 0), config().withMicroBatches(4));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> four.step(lmMicroBatches().get(1)));
        assertTrue(e.getMessage().contains("[3, 3] cannot run as 4 micro-batches"), e.getMessage());
        assertTrue(assertThrows(IllegalArgumentException.class, () -> config().withMicroBatches(0)).getMessage()
                .contains("microBatches must be >= 1, got 0"));
        assertEquals(0, t.stepCount());
    }
}
