package org.attn4j.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.attn4j.data.Batch;
import org.attn4j.model.LanguageModel;
import org.attn4j.model.ModelConfig;
import org.attn4j.model.Seq2SeqTransformer;
import org.attn4j.model.TransformerModel;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The update loop: it learns, it is deterministic, it clips, it decays, it refuses NaN, it resumes. */
class TrainerTest {
    static final int V = 12;

    /** A fixed little language-model batch: each row counts up from a different start. */
    static Batch countingBatch() {
        int[][] in = new int[4][6], out = new int[4][6];
        for (int r = 0; r < 4; r++) {
            for (int t = 0; t < 6; t++) {
                in[r][t] = 1 + (r + t) % (V - 1);
                out[r][t] = 1 + (r + t + 1) % (V - 1);
            }
        }
        out[3][5] = 0; // one padded target
        return new Batch(null, ids(in), ids(out));
    }

    static INDArray ids(int[][] a) {
        return Nd4j.createFromArray(a).castTo(DataType.INT);
    }

    static LanguageModel model(long seed, DataType type) {
        return model(seed, type, 0.1);
    }

    static LanguageModel model(long seed, DataType type, double dropout) {
        Nd4j.getRandom().setSeed(seed);
        return new LanguageModel(ModelConfig.languageModel(V, 16, 2, 32, 1, 16).withDropout(dropout)
                .withAttnDropout(dropout), type);
    }

    static Trainer.Config adam(double lr) {
        return Trainer.Config.adam(Schedules.constant(lr)).withSeed(3);
    }

    @Test
    void aTinyModelOverfitsATinyBatch() {
        Trainer t = new Trainer(model(1, DataType.FLOAT, 0), adam(1e-2).withClipNorm(1.0));
        Batch b = countingBatch();
        double first = t.step(b).loss();
        for (int i = 0; i < 150; i++) {
            t.step(b);
        }
        double last = t.evaluateLoss(b);
        assertTrue(first > 2.0 && last < 0.05, "loss " + first + " -> " + last);
    }

    @Test
    void theSameSeedGivesTheSameLossSequence() {
        double[] noDropout1 = losses(new Trainer(model(5, DataType.FLOAT, 0), adam(3e-3)), 3);
        double[] noDropout2 = losses(new Trainer(model(5, DataType.FLOAT, 0), adam(3e-3)), 3);
        assertArrayEquals(noDropout1, noDropout2, 0.0, "without dropout");
        double[] a = losses(new Trainer(model(5, DataType.FLOAT), adam(3e-3)), 8);
        double[] b = losses(new Trainer(model(5, DataType.FLOAT), adam(3e-3)), 8);
        assertArrayEquals(a, b, 0.0);
        double[] other = losses(new Trainer(model(5, DataType.FLOAT), adam(3e-3).withSeed(4)), 8);
        assertTrue(a[1] != other[1], "another dropout seed gives other losses");
    }

    /**
     * Gradient checkpointing set in the config ({@code checkpointActivations} of its builder) or by the method: the
     * weights after three steps of a two-block model with dropout are the same bits as without it, and each
     * checkpointing trainer holds fewer blocks' activations than the plain one (what shows the setting took).
     */
    @Test
    void checkpointedActivationsFromTheConfigOrTheMethodUpdateAsWithout() {
        Trainer.Config checkpointed = adam(3e-3).toBuilder().checkpointActivations(true).build();
        assertTrue(checkpointed.checkpointActivations() && !adam(3e-3).checkpointActivations());
        LanguageModel[] models = new LanguageModel[3];
        for (int i = 0; i < 3; i++) {
            Nd4j.getRandom().setSeed(5);
            models[i] = new LanguageModel(ModelConfig.languageModel(V, 16, 2, 32, 2, 16).withDropout(0.1),
                    DataType.DOUBLE);
        }
        Trainer plain = new Trainer(models[0], adam(3e-3)), byConfig = new Trainer(models[1], checkpointed),
                byMethod = new Trainer(models[2], adam(3e-3));
        byMethod.checkpointActivations(true);
        for (Trainer t : List.of(plain, byConfig, byMethod)) {
            losses(t, 3);
        }
        org.attn4j.testing.Exact.assertSameBits("checkpointed by the config", models[0].parameters(),
                models[1].parameters());
        org.attn4j.testing.Exact.assertSameBits("checkpointed by the method", models[0].parameters(),
                models[2].parameters());
        long held = plain.memory().engine().blockRows();
        assertTrue(byConfig.memory().engine().blockRows() < held, "checkpointed by the config: block rows "
                + byConfig.memory().engine().blockRows() + " bytes, plain " + held);
        assertTrue(byMethod.memory().engine().blockRows() < held, "checkpointed by the method: block rows "
                + byMethod.memory().engine().blockRows() + " bytes, plain " + held);
    }

    private static double[] losses(Trainer t, int steps) {
        double[] out = new double[steps];
        for (int i = 0; i < steps; i++) {
            out[i] = t.step(countingBatch()).loss();
        }
        return out;
    }

    @Test
    void clippingBoundsTheUpdateByTheGlobalNorm() {
        // SGD without momentum: the update is lr * clipped gradient, so its norm is lr * clip.
        LanguageModel m = model(2, DataType.DOUBLE);
        Trainer t = new Trainer(m, adam(0.1).withOptimizer(Trainer.Optimizer.SGD_MOMENTUM).withClipNorm(0.5));
        Map<String, INDArray> before = snapshot(m);
        Trainer.StepResult r = t.step(countingBatch());
        assertTrue(r.gradNorm() > 0.5, "the gradient norm " + r.gradNorm() + " is above the clip");
        double moved = 0;
        for (Map.Entry<String, INDArray> e : snapshot(m).entrySet()) {
            moved += Math.pow(e.getValue().sub(before.get(e.getKey())).norm2Number().doubleValue(), 2);
        }
        assertEquals(0.1 * 0.5, Math.sqrt(moved), 1e-6);
    }

    @Test
    void adamWDecaysTheWeightsByLearningRateTimesDecay() {
        double lr = 1e-2, wd = 0.1;
        LanguageModel plain = model(3, DataType.DOUBLE), decayed = model(3, DataType.DOUBLE);
        Map<String, INDArray> start = snapshot(plain);
        new Trainer(plain, adam(lr)).step(countingBatch());
        new Trainer(decayed, adam(lr).withOptimizer(Trainer.Optimizer.ADAMW).withWeightDecay(wd)).step(countingBatch());
        Map<String, INDArray> a = snapshot(plain), b = snapshot(decayed);
        for (String p : start.keySet()) {
            INDArray expected = a.get(p).sub(start.get(p).mul(lr * wd));
            assertTrue(expected.equalsWithEps(b.get(p), 1e-12), p);
        }
    }

    @Test
    void decayOnMatricesOnlySparesBiasesAndNorms() {
        double lr = 1e-2, wd = 0.1;
        LanguageModel plain = model(3, DataType.DOUBLE), decayed = model(3, DataType.DOUBLE);
        for (LanguageModel m : List.of(plain, decayed)) { // zero biases would look decayed and not decayed alike
            m.parameters().values().forEach(v -> v.addi(0.5));
        }
        Map<String, INDArray> start = snapshot(plain);
        new Trainer(plain, adam(lr)).step(countingBatch());
        new Trainer(decayed, adam(lr).withOptimizer(Trainer.Optimizer.ADAMW).withWeightDecay(wd)
                .withDecayMatricesOnly(true))
                .step(countingBatch());
        Map<String, INDArray> a = snapshot(plain), b = snapshot(decayed);
        Set<String> expectedDecayed = new TreeSet<>(), foundDecayed = new TreeSet<>();
        for (String p : start.keySet()) {
            boolean matrix = p.equals("embedding.weight") || p.equals("positions.weight")
                    || (p.endsWith(".weight") && !p.contains("norm"));
            assertEquals(matrix, start.get(p).rank() >= 2, p + ": rank " + start.get(p).rank());
            if (matrix) {
                expectedDecayed.add(p);
            }
            INDArray ifDecayed = a.get(p).sub(start.get(p).mul(lr * wd));
            if (ifDecayed.equalsWithEps(b.get(p), 1e-12)) {
                foundDecayed.add(p);
            } else {
                assertTrue(a.get(p).equalsWithEps(b.get(p), 1e-12), p + " is neither decayed nor left alone");
            }
        }
        assertTrue(expectedDecayed.contains("embedding.weight") && expectedDecayed.size() < start.size(),
                expectedDecayed.toString());
        assertEquals(expectedDecayed, foundDecayed);
    }

    @Test
    void aNaNStepIsRefusedAndTheWeightsStay() {
        LanguageModel m = model(4, DataType.FLOAT);
        Trainer t = new Trainer(m, adam(1e-3));
        t.step(countingBatch());
        String name = "embedding.weight";
        m.parameters().get(name).putScalar(0, 0, Float.NaN);
        Map<String, INDArray> before = snapshot(m);
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class, () -> t.step(countingBatch()));
        assertTrue(e.getMessage().contains("step 1") && e.getMessage().contains("after step 0"), e.getMessage());
        Map<String, INDArray> after = snapshot(m);
        for (String p : before.keySet()) {
            assertTrue(before.get(p).equalsWithEps(after.get(p), 0) || p.equals(name), p);
        }
        assertEquals(1, t.stepCount(), "the refused step does not count");
    }

    @Test
    void gradientsThenApplyIsOneStep() {
        Trainer whole = new Trainer(model(7, DataType.DOUBLE), adam(3e-3).withClipNorm(0.1));
        Trainer split = new Trainer(model(7, DataType.DOUBLE), adam(3e-3).withClipNorm(0.1));
        for (int i = 0; i < 3; i++) {
            Trainer.StepResult a = whole.step(countingBatch());
            Trainer.BatchGradients g = split.gradients(countingBatch());
            assertEquals(i, split.stepCount(), "computing gradients does not count as a step");
            Trainer.StepResult b = split.apply(g);
            assertEquals(a, b);
        }
        Map<String, INDArray> a = snapshot(whole.model()), b = snapshot(split.model());
        a.forEach((p, v) -> assertTrue(v.equalsWithEps(b.get(p), 0), p));

        Trainer.BatchGradients wrong = new Trainer.BatchGradients(1, Map.of("head.weight", Nd4j.zeros(DataType.DOUBLE, 2, 2)), 4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> split.apply(wrong));
        assertTrue(e.getMessage().startsWith("Gradient of '"), e.getMessage());
    }

    @Test
    void resumingContinuesTheSameLossSequence() {
        Trainer straight = new Trainer(model(6, DataType.FLOAT), adam(3e-3));
        double[] expected = losses(straight, 10);

        Trainer first = new Trainer(model(6, DataType.FLOAT), adam(3e-3));
        losses(first, 4);
        Map<String, INDArray> weights = snapshot(first.model());
        Map<String, INDArray> state = new HashMap<>();
        first.optimizerState().forEach((k, v) -> state.put(k, v.dup()));

        TransformerModel fresh = model(99, DataType.FLOAT);
        fresh.loadParameters(weights);
        Trainer resumed = new Trainer(fresh, adam(3e-3));
        resumed.restore(4, state);
        double[] rest = losses(resumed, 6);
        for (int i = 0; i < 6; i++) {
            assertEquals(expected[4 + i], rest[i], 0.0, "step " + (4 + i));
        }
    }

    @Test
    void aSeq2SeqModelTrainsToo() {
        Nd4j.getRandom().setSeed(8);
        Seq2SeqTransformer m = new Seq2SeqTransformer(ModelConfig.seq2seq(V, 16, 2, 32, 1, 16));
        Batch copy = new Batch(ids(new int[][] {{4, 5, 6}, {7, 8, 0}}), ids(new int[][] {{1, 4, 5, 6}, {1, 7, 8, 0}}),
                ids(new int[][] {{4, 5, 6, 2}, {7, 8, 2, 0}}));
        Trainer t = new Trainer(m, adam(1e-2).withLabelSmoothing(0.1));
        double first = t.step(copy).loss();
        for (int i = 0; i < 60; i++) {
            t.step(copy);
        }
        assertTrue(t.evaluateLoss(copy) < 0.5 * first, first + " -> " + t.evaluateLoss(copy));
    }

    static Map<String, INDArray> snapshot(TransformerModel m) {
        Map<String, INDArray> s = new HashMap<>();
        m.parameters().forEach((k, v) -> s.put(k, v.dup()));
        return s;
    }

    @Test
    void twoTrainersOnOneModelEachFollowTheirOwnLoss() {
        LanguageModel m = model(7, DataType.DOUBLE, 0);
        Trainer plain = new Trainer(m, adam(1e-3).withOptimizer(Trainer.Optimizer.SGD_MOMENTUM));
        Map<String, INDArray> start = snapshot(m);
        new Trainer(m, adam(1e-3).withLabelSmoothing(0.3)); // sets its own loss on the shared graph
        plain.step(countingBatch());
        Map<String, INDArray> afterPlain = snapshot(m);

        LanguageModel fresh = model(7, DataType.DOUBLE, 0);
        new Trainer(fresh, adam(1e-3).withOptimizer(Trainer.Optimizer.SGD_MOMENTUM)).step(countingBatch());
        for (String p : start.keySet()) {
            assertTrue(afterPlain.get(p).equalsWithEps(snapshot(fresh).get(p), 1e-12), p);
        }
    }
}
