package org.attn4j.model;

import static org.attn4j.testing.Exact.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.attn4j.config.Activation;
import org.attn4j.data.Batch;
import org.attn4j.kernels.DropoutSeed;
import org.attn4j.nn.PositionalEncoding;
import org.attn4j.train.Schedules;
import org.attn4j.train.Trainer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Dropout while a model trains on the engine: embedding, residual, feed-forward and attention dropout with
 * masks from (seed, step). SameDiff draws other masks, so the checks are the engine's own: p = 0 is no
 * dropout, a seed and step repeat exactly (also on two threads at once), another step draws other masks,
 * and with the masks held fixed the gradients are the loss's (central differences, float64).
 */
class EngineDropoutTest {
    private static ModelConfig seq2seq(double dropout, double attnDropout) {
        return ModelConfig.seq2seq(13, 16, 4, 24, 2, 12).withSourceVocab(17).withActivation(Activation.SWIGLU)
                .withPositions(PositionalEncoding.ROTARY).withDropout(dropout).withAttnDropout(attnDropout);
    }

    private static Batch batch() {
        Batch lm = EngineTrainingTest.batch(0);
        return new Batch(Nd4j.createFromArray(new int[][] {{3, 16, 2, 9, 0}, {5, 1, 14, 0, 0}}), lm.input(), lm.target());
    }

    private record Result(double loss, Map<String, INDArray> gradients) {
    }

    private static Result run(TransformerModel model, TransformerModel.EngineState state, Batch b, DropoutSeed seed) {
        TransformerModel.LossAndGradients r = model.lossAndGradients(state, b.source(), b.input(), b.target(), 0, true,
                seed);
        Map<String, INDArray> copies = new LinkedHashMap<>();
        r.gradients().forEach((k, v) -> copies.put(k, v.dup()));
        return new Result(r.loss(), copies);
    }

    @Test
    void probabilityZeroIsExactlyNoDropout() {
        Nd4j.getRandom().setSeed(1);
        Seq2SeqTransformer model = new Seq2SeqTransformer(seq2seq(0, 0), DataType.FLOAT);
        Result plain = run(model, model.newEngineState(), batch(), null);
        Result seeded = run(model, model.newEngineState(), batch(), new DropoutSeed(3, 4));
        assertEquals(plain.loss(), seeded.loss(), 0.0);
        assertSameBits("gradients with a seed but no dropout", plain.gradients(), seeded.gradients());
    }

    @Test
    void aSeedAndStepRepeatOnAnyThreadAndAnotherStepDrawsOtherMasks() throws Exception {
        Nd4j.getRandom().setSeed(2);
        Seq2SeqTransformer model = new Seq2SeqTransformer(seq2seq(0.2, 0.1), DataType.FLOAT);
        Batch b = batch();
        DropoutSeed seed = new DropoutSeed(7, 11);
        Result first = run(model, model.newEngineState(), b, seed);
        Result again = run(model, model.newEngineState(), b, seed);
        assertEquals(first.loss(), again.loss(), 0.0);
        assertSameBits("gradients of the same seed again", first.gradients(), again.gradients());
        TransformerModel.EngineState s1 = model.newEngineState(), s2 = model.newEngineState();
        CompletableFuture<Result> a = CompletableFuture.supplyAsync(() -> run(model, s1, b, seed));
        CompletableFuture<Result> c = CompletableFuture.supplyAsync(() -> run(model, s2, b, seed));
        for (Result r : new Result[] {a.get(), c.get()}) {
            assertEquals(first.loss(), r.loss(), 0.0, "on two threads at once");
            assertSameBits("on two threads at once", first.gradients(), r.gradients());
        }
        Result inference = run(model, model.newEngineState(), b, null);
        Result nextStep = run(model, model.newEngineState(), b, new DropoutSeed(7, 12));
        Result otherSeed = run(model, model.newEngineState(), b, new DropoutSeed(8, 11));
        assertNotEquals(inference.loss(), first.loss(), "training drops");
        assertNotEquals(first.loss(), nextStep.loss(), "another step, other masks");
        assertNotEquals(first.loss(), otherSeed.loss(), "another seed, other masks");
    }

    /** Trainer.gradients uses (seed, stepCount()): a second trainer with the same seed gives the same gradients. */
    @Test
    void theTrainersSeedAndStepChooseTheMasks() {
        Nd4j.getRandom().setSeed(3);
        Seq2SeqTransformer model = new Seq2SeqTransformer(seq2seq(0.2, 0.1), DataType.FLOAT);
        Trainer.Config config = Trainer.Config.adam(Schedules.constant(1e-3));
        Trainer.BatchGradients a = new Trainer(model, config).gradients(batch());
        Trainer.BatchGradients b = new Trainer(model, config).gradients(batch());
        assertEquals(a.loss(), b.loss(), 0.0);
        assertSameBits("gradients of two trainers of one seed", a.gradients(), b.gradients());
        Result direct = run(model, model.newEngineState(), batch(), new DropoutSeed(config.seed(), 0));
        assertEquals(direct.loss(), a.loss(), 0.0, "step 0 of the trainer's seed");
    }

    /**
     * Central differences of the loss with the masks of one (seed, step) held fixed, float64, an
     * encoder-decoder with every kind of dropout: a sample of each parameter's elements.
     */
    @Test
    void gradientsWithFixedMasksMatchCentralDifferences() {
        Nd4j.getRandom().setSeed(4);
        Seq2SeqTransformer model = new Seq2SeqTransformer(seq2seq(0.25, 0.2), DataType.DOUBLE);
        Batch b = batch();
        DropoutSeed seed = new DropoutSeed(21, 5);
        TransformerModel.EngineState state = model.newEngineState();
        Result analytic = run(model, state, b, seed);
        double eps = 1e-6;
        Random pick = new Random(5);
        int checked = 0;
        for (var e : model.parameters().entrySet()) {
            INDArray p = e.getValue(), grad = analytic.gradients().get(e.getKey());
            for (int k = 0; k < Math.min(4, p.length()); k++) {
                long i = pick.nextInt((int) p.length());
                double orig = p.getDouble(i);
                p.putScalar(i, orig + eps);
                double plus = run(model, state, b, seed).loss();
                p.putScalar(i, orig - eps);
                double minus = run(model, state, b, seed).loss();
                p.putScalar(i, orig);
                double numeric = (plus - minus) / (2 * eps), a = grad.getDouble(i);
                double abs = Math.abs(a - numeric), rel = abs / Math.max(Math.abs(a) + Math.abs(numeric), 1e-300);
                assertTrue(rel <= 1e-5 || abs <= 1e-8, e.getKey() + "[" + i + "]: analytic " + a + ", numeric " + numeric);
                checked++;
            }
        }
        assertTrue(checked > 100, "checked " + checked);
    }
}
