package org.attn4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import org.attn4j.data.Batch;
import org.attn4j.kernels.DropoutSeed;
import org.attn4j.testing.Exact;
import org.attn4j.testing.FiniteDifferences;
import org.attn4j.train.Schedules;
import org.attn4j.train.Trainer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * PEFT's {@code lora_dropout} on the engine, in a two-block language model with adapters on every linear layer:
 * with a step's seed the loss and every adapter gradient (the lower block's reach it through the upper block's
 * dropped paths) agree with central differences in float64; the dropout changes a training step's loss but neither
 * the evaluation loss nor the logits.
 */
class LoraDropoutTest {
    private static final DropoutSeed SEED = new DropoutSeed(4, 1);

    /** Adapters with dropout {@code p} on a small model, A and B random (B zero would hide the path). */
    private static LoraAdapters adapters(LanguageModel base, double p) {
        LoraAdapters lora = LoraAdapters.create(base, LoraConfig.of(2, 4, "all-linear").withDropout(p));
        Nd4j.getRandom().setSeed(5);
        lora.parameters().values().forEach(a -> a.assign(Nd4j.randn(a.dataType(), a.shape()).muli(0.3)));
        return lora;
    }

    private static LanguageModel base() {
        Nd4j.getRandom().setSeed(3);
        return new LanguageModel(ModelConfig.languageModel(20, 16, 2, 24, 2, 8).withoutPadding(), DataType.DOUBLE);
    }

    private static INDArray[] batch() {
        return new INDArray[] {Nd4j.createFromArray(new int[][] {{1, 5, 9, 2, 7, 3}, {4, 4, 8, 6, 2, 11}}),
            Nd4j.createFromArray(new int[][] {{5, 9, 2, 7, 3, 1}, {4, 8, 6, 2, 11, 13}})};
    }

    @Test
    void adapterGradientsWithDropoutMatchCentralDifferences() {
        LoraAdapters lora = adapters(base(), 0.3);
        INDArray[] b = batch();
        TransformerModel.EngineState state = lora.newEngineState();
        Map<String, INDArray> analytic = new LinkedHashMap<>();
        lora.lossAndGradients(state, null, b[0], b[1], 0, true, SEED).gradients()
                .forEach((k, v) -> analytic.put(k, v.dup()));
        int checked = FiniteDifferences.check(lora.parameters(), analytic,
                () -> lora.lossAndGradients(state, null, b[0], b[1], 0, false, SEED).loss());
        assertEquals(lora.parameterCount(), checked);
    }

    @Test
    void dropoutChangesTheTrainingLossButNotTheEvaluationLossOrTheLogits() {
        LanguageModel base = base();
        LoraAdapters plain = adapters(base, 0), dropped = adapters(base, 0.3);
        INDArray[] b = batch();
        Exact.assertSameBits("logits", plain.predict(b[0]), dropped.predict(b[0]));
        Trainer plainTrainer = new Trainer(plain, Trainer.Config.adam(Schedules.constant(1e-3)));
        Trainer droppedTrainer = new Trainer(dropped, Trainer.Config.adam(Schedules.constant(1e-3)));
        Batch batch = new Batch(null, b[0], b[1]);
        assertEquals(plainTrainer.evaluateLoss(batch), droppedTrainer.evaluateLoss(batch), 0, "evaluation loss");
        double plainLoss = plainTrainer.step(batch).loss(), droppedLoss = droppedTrainer.step(batch).loss();
        assertTrue(Math.abs(plainLoss - droppedLoss) > 1e-3, "step 0's training loss: " + plainLoss + " without, "
                + droppedLoss + " with LoRA dropout");
    }
}
