package org.attn4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.attn4j.config.WeightFormat;
import org.attn4j.data.Batch;
import org.attn4j.kernels.CompactMatrix;
import org.attn4j.nn.Linear;
import org.attn4j.nn.Module;
import org.attn4j.testing.Exact;
import org.attn4j.train.Schedules;
import org.attn4j.train.Trainer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * LoRA adapters trained on a base whose blocks hold bfloat16 or int8 weights (QLoRA-style): the loss and the adapters'
 * gradients against the same adapters on a float32 model holding the compact weights widened (the products differ
 * only in float32 rounding), the base left bit-identical by training, and merging refused. Shapes are ragged (C 48,
 * F 100: not multiples of the int8 block of 32), the model Llama-like, every linear layer adapted, and the batch has
 * more rows per thread than a decoding step, so the products are the training ones (tiles widened for GEMM).
 */
class QLoraTest {
    private static final ModelConfig CONFIG = ModelConfig.modernLanguageModel(37, 48, 4, 100, 2, 32).withKvHeads(2)
            .withoutPadding();
    private static final LoraConfig LORA = LoraConfig.of(4, 8, "all-linear");

    private static LanguageModel model() {
        Nd4j.getRandom().setSeed(7);
        return new LanguageModel(CONFIG);
    }

    /** A float32 model holding {@code converted}'s weights as its products see them (the compact ones widened). */
    private static LanguageModel widened(LanguageModel original, LanguageModel converted) {
        Map<String, INDArray> values = new HashMap<>(original.parameters());
        for (Module m : converted.modules()) {
            if (m instanceof Linear l && l.weightFormat() != WeightFormat.FLOAT32) {
                values.put(l.name() + ".weight", widen((CompactMatrix) l.weights().compact()));
            }
        }
        LanguageModel reference = new LanguageModel(CONFIG);
        reference.loadParameters(values);
        return reference;
    }

    private static INDArray widen(CompactMatrix m) {
        float[][] w = new float[m.rows()][m.columns()];
        for (int o = 0; o < m.rows(); o++) {
            for (int i = 0; i < m.columns(); i++) {
                w[o][i] = m.get(o, i);
            }
        }
        return Nd4j.createFromArray(w);
    }

    /** Adapters on {@code base} with A and B of {@code seed} (B not zero, so the adapters change the output). */
    private static LoraAdapters adapters(LanguageModel base, long seed) {
        LoraAdapters lora = LoraAdapters.create(base, LORA);
        Nd4j.getRandom().setSeed(seed);
        lora.parameters().values().forEach(p -> p.assign(Nd4j.randn(DataType.FLOAT, p.shape()).muli(0.2)));
        return lora;
    }

    /** [3, 17] windows of one id sequence: inputs and next-token targets. */
    private static Batch batch(int step) {
        int[][] ids = new int[3][18];
        for (int b = 0; b < 3; b++) {
            for (int t = 0; t < 18; t++) {
                ids[b][t] = (7 * b + 3 * t * t + 5 * step) % 37;
            }
        }
        INDArray all = Nd4j.createFromArray(ids);
        return new Batch(null, all.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 17)).dup(),
                all.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                        org.nd4j.linalg.indexing.NDArrayIndex.interval(1, 18)).dup());
    }

    private static TransformerModel.LossAndGradients lossAndGradients(LoraAdapters lora) {
        Batch b = batch(0);
        return lora.lossAndGradients(lora.newEngineState(), null, b.input(), b.target(), 0, true, null);
    }

    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"BFLOAT16", "INT8"})
    void adapterGradientsOnACompactBaseMatchAFloat32BaseOfTheWidenedWeights(WeightFormat format) {
        LanguageModel original = model(), converted = model();
        converted.convertWeights(format);
        LoraAdapters onCompact = adapters(converted, 3), onWidened = adapters(widened(original, converted), 3);
        LoraAdapters onOriginal = adapters(original, 3);

        TransformerModel.LossAndGradients got = lossAndGradients(onCompact), want = lossAndGradients(onWidened);
        assertEquals(want.loss(), got.loss(), 1e-5 * want.loss(), format + " loss");
        assertEquals(want.gradients().keySet(), got.gradients().keySet(), "the adapters' gradients, and only those");
        Exact.assertCloseToScale(format + " adapter gradients", copies(want.gradients()), got.gradients(), 1e-5);
        Exact.assertCloseToScale(format + " logits", onWidened.predict(batch(0).input()),
                onCompact.predict(batch(0).input()), 1e-5);
        double moved = largestDifference(lossAndGradients(onOriginal).gradients(), want.gradients());
        System.out.printf("%s: adapter gradients on the unconverted base differ by %.1e of their scale%n", format, moved);
        assertTrue(moved > 1e-4, format + ": the check cannot tell the compact weights from the float32 ones ("
                + moved + ")");
    }

    /** The largest |a - b| of any tensor, relative to that tensor's largest |a|. */
    private static double largestDifference(Map<String, INDArray> a, Map<String, INDArray> b) {
        double worst = 0;
        for (String k : a.keySet()) {
            worst = Math.max(worst, a.get(k).sub(b.get(k)).amaxNumber().doubleValue() / a.get(k).amaxNumber()
                    .doubleValue());
        }
        return worst;
    }

    private static Map<String, INDArray> copies(Map<String, INDArray> m) {
        Map<String, INDArray> c = new LinkedHashMap<>();
        m.forEach((k, v) -> c.put(k, v.dup()));
        return c;
    }

    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"BFLOAT16", "INT8"})
    void trainingLeavesTheCompactBaseBitIdenticalAndMergingIsRefused(WeightFormat format) {
        LanguageModel base = model();
        base.convertWeights(format);
        Map<String, INDArray> loaded = copies(base.parameters());
        Map<String, INDArray> compact = new LinkedHashMap<>();
        for (Module m : base.modules()) {
            if (m instanceof Linear l && l.weightFormat() != WeightFormat.FLOAT32) {
                compact.put(l.name(), widen((CompactMatrix) l.weights().compact()));
            }
        }
        assertEquals(2 * 7, compact.size(), "q, k, v, out, gate, linear1, linear2 of 2 blocks held compact");
        LoraAdapters lora = LoraAdapters.create(base, LORA);
        Map<String, INDArray> before = copies(lora.parameters());
        Trainer trainer = new Trainer(lora, Trainer.Config.adam(Schedules.constant(1e-2)));
        double first = trainer.step(batch(0)).loss(), last = first;
        for (int step = 1; step < 5; step++) {
            last = trainer.step(batch(0)).loss();
        }
        assertTrue(last < first, format + ": the adapters learn, loss " + first + " -> " + last);
        assertEquals(lora.parameters().keySet(), trainer.optimizerState().keySet(), "optimizer state: adapters only");
        base.parameters().forEach((k, v) -> Exact.assertSameBits("base tensor " + k, loaded.get(k), v));
        for (Module m : base.modules()) {
            if (m instanceof Linear l && compact.containsKey(l.name())) {
                Exact.assertSameBits(format + " weight " + l.name(), compact.get(l.name()),
                        widen((CompactMatrix) l.weights().compact()));
            }
        }
        lora.parameters().forEach((k, v) -> assertFalse(v.equalsWithEps(before.get(k), 0), k + " trained"));

        IllegalStateException merge = assertThrows(IllegalStateException.class, lora::merge);
        assertEquals("merge folds the adapters into float32 base weights; this base holds " + format + " weights (save "
                + "the adapters, load them onto the float32 model and merge there)", merge.getMessage());
    }
}
