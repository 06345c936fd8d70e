package org.attn4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import org.attn4j.data.Batch;
import org.attn4j.io.Npz;
import org.attn4j.testing.Exact;
import org.attn4j.train.Schedules;
import org.attn4j.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * LoRA on the engine against transformers + peft ({@code src/test/python/gen_lora_fixtures.py}, float64): the
 * adapted model's logits, its loss and every adapter tensor's gradient, unmerged; and training: only the adapters
 * have gradients and optimizer state, and the base model's tensors end bit-identical to the loaded ones.
 */
class LoraTrainingTest {
    private static final java.nio.file.Path FIXTURES = LoraAdaptersTest.FIXTURES, BASES = LoraAdaptersTest.BASES;

    @ParameterizedTest
    @CsvSource({"llama-qv, llama-gqa-4x", "llama-all, llama-gqa-4x", "gpt2-all, gpt2"})
    void logitsLossAndAdapterGradientsMatchPeft(String name, String baseName) {
        Map<String, INDArray> reference = Npz.read(FIXTURES.resolve(name + ".npz"));
        LanguageModel base = LanguageModel.fromPretrained(BASES.resolve(baseName), DataType.DOUBLE);
        LoraAdapters lora = LoraAdapters.load(base, FIXTURES.resolve(name));
        INDArray input = reference.get("input_ids").castTo(DataType.INT), target = reference.get("target_ids")
                .castTo(DataType.INT);
        HuggingFaceModelsTest.assertClose(name + " unmerged", reference.get("logits"), lora.predict(input), 1e-10);

        TransformerModel.LossAndGradients r = lora.lossAndGradients(lora.newEngineState(), null, input, target, 0,
                true, null);
        double loss = reference.get("loss").getDouble(0);
        assertTrue(Math.abs(r.loss() - loss) <= 1e-10 * loss, name + ": loss " + r.loss() + ", PEFT " + loss);
        Map<String, INDArray> expected = new LinkedHashMap<>();
        reference.forEach((k, v) -> {
            if (k.startsWith("grad:")) {
                expected.put(k.substring("grad:".length() + LoraAdapters.PREFIX.length()), v);
            }
        });
        assertEquals(expected.keySet(), r.gradients().keySet(), "a gradient for every adapter tensor, and only those");
        double worst = 0;
        for (String k : expected.keySet()) {
            INDArray e = expected.get(k);
            worst = Math.max(worst, e.sub(r.gradients().get(k)).amaxNumber().doubleValue() / e.amaxNumber().doubleValue());
        }
        System.out.printf("%s: relative loss error %.1e, worst relative adapter gradient error %.1e%n", name,
                Math.abs(r.loss() - loss) / loss, worst);
        Exact.assertCloseToScale(name + " adapter gradients", expected, r.gradients(), 1e-10);
    }

    @Test
    void trainingChangesTheAdaptersOnlyAndTheBaseStaysBitIdentical() {
        Nd4j.getRandom().setSeed(11);
        LanguageModel base = LanguageModel.fromPretrained(BASES.resolve("gpt2"));
        Map<String, INDArray> loaded = new LinkedHashMap<>();
        base.parameters().forEach((k, v) -> loaded.put(k, v.dup()));
        LoraAdapters lora = LoraAdapters.create(base, LoraConfig.of(4, 8, "all-linear"));
        Map<String, INDArray> before = new LinkedHashMap<>();
        lora.parameters().forEach((k, v) -> before.put(k, v.dup()));
        Trainer trainer = new Trainer(lora, Trainer.Config.adam(Schedules.constant(1e-2))
                .withOptimizer(Trainer.Optimizer.ADAMW).withWeightDecay(0.01));
        double first = Double.NaN, last = Double.NaN;
        for (int step = 0; step < 6; step++) {
            INDArray ids = Nd4j.createFromArray(new int[][] {{1, 5, 9, 2, 7, 3, 1, 5, 9}, {4, 4, 8, 6, 2, 0, 4, 4, 8}});
            Batch b = new Batch(null, ids.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                    org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 8)).dup(),
                    ids.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                            org.nd4j.linalg.indexing.NDArrayIndex.interval(1, 9)).dup());
            double loss = trainer.step(b).loss();
            first = step == 0 ? loss : first;
            last = loss;
        }
        assertTrue(last < first, "the adapters learn: loss " + first + " -> " + last);
        assertEquals(lora.parameters().keySet(), trainer.optimizerState().keySet(), "optimizer state: adapters only");
        base.parameters().forEach((k, v) -> Exact.assertSameBits("base tensor " + k, loaded.get(k), v));
        lora.parameters().forEach((k, v) -> assertFalse(v.equalsWithEps(before.get(k), 0), k + " trained"));
    }
}
