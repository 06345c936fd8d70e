package org.attn4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.attn4j.config.WeightFormat;
import org.attn4j.decode.BeamSearch;
import org.attn4j.decode.Greedy;
import org.attn4j.decode.Hypothesis;
import org.attn4j.decode.Sampler;
import org.attn4j.kernels.CompactMatrix;
import org.attn4j.nn.Linear;
import org.attn4j.nn.Module;
import org.attn4j.train.Trainer;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.nd4j.linalg.schedule.FixedSchedule;

/**
 * A model converted to bfloat16 or int8 weights ({@link TransformerModel#convertWeights}) against a float64 model
 * holding the same weights, widened: the converted model's forward ({@code predict}, its products over every
 * position) and its cached decoding steps (one token at a time, batch 3, the head's compact product included) give
 * the float64 model's log-probabilities within float32 sums' error. Shapes are ragged (C 48, F 100: not multiples of
 * the int8 block of 32), the model Llama-like (RMSNorm, SwiGLU, rotary, grouped-query attention, untied head with a
 * compact copy). Beam search, sampling and attention maps run on it; training and saving are refused in one line.
 */
class CompactWeightsModelTest {
    private static final ModelConfig CONFIG = ModelConfig.modernLanguageModel(37, 48, 4, 100, 2, 32).withKvHeads(2)
            .withoutPadding();

    private static LanguageModel model() {
        Nd4j.getRandom().setSeed(7);
        return new LanguageModel(CONFIG);
    }

    /**
     * The float64 model whose weights are {@code converted}'s as its products see them: the compact matrices widened,
     * and the head widened from its compact copy when {@code compactHead} (what the decoding step reads), else its
     * float32 array (what predict reads).
     */
    private static LanguageModel widened(LanguageModel original, LanguageModel converted, boolean compactHead) {
        Map<String, INDArray> values = new HashMap<>(original.parameters());
        for (Module m : converted.modules()) {
            if (m instanceof Linear l && l.weightFormat() != WeightFormat.FLOAT32) {
                values.put(l.name() + ".weight", widen((CompactMatrix) l.weights().compact()));
            }
        }
        if (compactHead) {
            values.put("head.weight", widen(converted.compactHead()));
        }
        LanguageModel reference = new LanguageModel(CONFIG, DataType.DOUBLE);
        reference.loadParameters(values);
        return reference;
    }

    private static INDArray widen(CompactMatrix m) {
        double[][] w = new double[m.rows()][m.columns()];
        for (int o = 0; o < m.rows(); o++) {
            for (int i = 0; i < m.columns(); i++) {
                w[o][i] = m.get(o, i);
            }
        }
        return Nd4j.createFromArray(w);
    }

    private static double maxDifference(INDArray a, INDArray b) {
        return Transforms.abs(a.castTo(DataType.DOUBLE).sub(b.castTo(DataType.DOUBLE))).maxNumber().doubleValue();
    }

    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"BFLOAT16", "INT8"})
    void predictAndCachedDecodingMatchAFloat64ModelOfTheWidenedWeights(WeightFormat format) {
        LanguageModel original = model(), converted = model();
        converted.convertWeights(format);
        assertEquals(format, converted.weightFormat());
        INDArray ids = Nd4j.createFromArray(new int[][] {{3, 9, 14, 1, 30, 2, 8}, {5, 5, 20, 36, 0, 11, 4},
            {7, 1, 2, 3, 4, 5, 6}}); // [3, 7]

        INDArray logits = converted.predict(null, ids), want = widened(original, converted, false).predict(null, ids);
        assertTrue(maxDifference(logits, want) < 1e-4, format + " predict: " + maxDifference(logits, want));
        assertTrue(maxDifference(logits, original.predict(null, ids)) > 1e-6, "the compact weights were not read");

        LanguageModel reference = widened(original, converted, true);
        try (DecodingSession s = converted.startDecoding(null); DecodingSession r = reference.startDecoding(null)) {
            INDArray got = s.advance(ids.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                    org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 4)));
            INDArray expected = r.advance(ids.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                    org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 4)));
            assertTrue(maxDifference(got, expected) < 1e-4, format + " prompt: " + maxDifference(got, expected));
            for (int t = 4; t < 7; t++) { // one token a step: [3, 1]
                INDArray token = ids.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                        org.nd4j.linalg.indexing.NDArrayIndex.interval(t, t + 1)).dup('c');
                got = s.advance(token);
                expected = r.advance(token);
                assertTrue(maxDifference(got, expected) < 1e-4, format + " step " + t + ": " + maxDifference(got, expected));
            }
        }
    }

    /**
     * Decoding three sequences at once (each step's products read every weight once for the batch) gives each
     * sequence the log-probabilities it gets decoded alone, in every format, to float32 rounding: the compact
     * products are the same sums either way, float32's come from OpenBLAS's GEMM of three rows or its GEMV of one.
     */
    @ParameterizedTest
    @EnumSource(WeightFormat.class)
    void aBatchDecodesAsItsSequencesDoAlone(WeightFormat format) {
        LanguageModel m = model();
        if (format != WeightFormat.FLOAT32) {
            m.convertWeights(format);
        }
        int[][] ids = {{3, 9, 14, 1, 30, 2, 8}, {5, 5, 20, 36, 0, 11, 4}, {7, 1, 2, 3, 4, 5, 6}};
        double tolerance = format == WeightFormat.FLOAT32 ? 1e-5 : 1e-6;
        try (DecodingSession batch = m.startDecoding(null)) {
            INDArray[] batchSteps = decodeSteps(batch, ids);
            for (int row = 0; row < ids.length; row++) {
                try (DecodingSession alone = m.startDecoding(null)) {
                    INDArray[] aloneSteps = decodeSteps(alone, new int[][] {ids[row]});
                    for (int step = 0; step < batchSteps.length; step++) {
                        double d = maxDifference(batchSteps[step].getRow(row), aloneSteps[step].getRow(0));
                        assertTrue(d < tolerance, format + " sequence " + row + " step " + step + ": " + d);
                    }
                }
            }
        }
    }

    /** The log-probabilities after a 4-token prompt and after each of the remaining tokens fed one at a time. */
    private static INDArray[] decodeSteps(DecodingSession s, int[][] ids) {
        int n = ids[0].length;
        INDArray all = Nd4j.createFromArray(ids);
        INDArray[] steps = new INDArray[n - 3];
        steps[0] = s.advance(all.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 4)).dup('c'));
        for (int t = 4; t < n; t++) {
            steps[t - 3] = s.advance(all.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                    org.nd4j.linalg.indexing.NDArrayIndex.interval(t, t + 1)).dup('c'));
        }
        return steps;
    }

    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"BFLOAT16", "INT8"})
    void beamSearchSamplingAndAttentionMapsRunAndTrainingAndSavingAreRefused(WeightFormat format, @TempDir Path dir) {
        LanguageModel converted = model();
        long before = converted.parameterCount();
        converted.convertWeights(format);
        assertTrue(converted.parameterCount() < before / 2, "the converted float32 arrays are no parameters");
        INDArray prompt = Nd4j.createFromArray(new int[][] {{3, 9, 14}});
        List<Hypothesis> beams = BeamSearch.decode(converted, null, prompt, -1, new BeamSearch.Config(3, 1.0, 5), true);
        assertEquals(5, beams.get(0).tokens().length, "5 new tokens");
        assertTrue(Double.isFinite(beams.get(0).logProb()));
        List<Hypothesis> greedy = Greedy.decode(converted, null, prompt, -1, 5, true);
        List<Hypothesis> recomputed = Greedy.decode(converted, null, prompt, -1, 5, false);
        assertEquals(java.util.Arrays.toString(greedy.get(0).tokens()), java.util.Arrays.toString(recomputed.get(0).tokens()),
                "cached and recomputed greedy decoding");
        int[] sampled = new Sampler(Sampler.Config.plain(), 3).generate(converted, new int[] {3, 9, 14}, 4);
        assertEquals(4, sampled.length);
        AttentionMaps maps = converted.attention(null, prompt);
        assertFalse(maps.decoderSelf().isEmpty());

        IllegalStateException train = assertThrows(IllegalStateException.class, () -> new Trainer(converted,
                Trainer.Config.adam(new FixedSchedule(1e-3))).step(new org.attn4j.data.Batch(null, prompt, prompt)));
        assertEquals("this model holds " + format + " weights for inference; training needs FLOAT32 (build or load the "
                + "model without converting it)", train.getMessage());
        IllegalStateException save = assertThrows(IllegalStateException.class, () -> converted.savePretrained(dir));
        assertTrue(save.getMessage().startsWith("this model holds " + format), save.getMessage());
        IllegalStateException back = assertThrows(IllegalStateException.class,
                () -> converted.convertWeights(WeightFormat.FLOAT32));
        assertTrue(back.getMessage().contains("do not convert back"), back.getMessage());
    }
}
