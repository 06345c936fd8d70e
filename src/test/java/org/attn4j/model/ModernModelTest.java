package org.attn4j.model;

import static org.attn4j.testing.Exact.assertSameBits;
import static org.attn4j.model.EngineTrainingTest.assertClose;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.attn4j.data.Batch;
import org.attn4j.decode.BeamSearch;
import org.attn4j.decode.Hypothesis;
import org.attn4j.engine.DecodeEngine;
import org.attn4j.io.Checkpoint;
import org.attn4j.io.ParameterShapes;
import org.attn4j.config.Normalization;
import org.attn4j.nn.PositionalEncoding;
import org.attn4j.train.Schedules;
import org.attn4j.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Language models with the 2026 options (RMSNorm, grouped-query attention, ALiBi, windows, and the
 * {@link ModelConfig#modernLanguageModel} preset): the engine's loss and gradients against the SameDiff training
 * graph's autodiff, cached decoding against the SameDiff decoding graphs and against recomputation, checkpoints
 * and the parameter shapes they are checked against.
 */
class ModernModelTest {
    static Stream<Arguments> models() {
        ModelConfig modern = ModelConfig.modernLanguageModel(13, 16, 4, 24, 2, 12).withKvHeads(2);
        return Stream.of(
                Arguments.of("current-style (RMSNorm, SwiGLU, rotary, GQA 4/2, no biases)", DataType.DOUBLE, modern),
                Arguments.of("current-style, multi-query, ALiBi", DataType.DOUBLE,
                        modern.withKvHeads(1).withPositions(PositionalEncoding.ALIBI)),
                Arguments.of("current-style, window 3", DataType.DOUBLE, modern.withWindow(3)),
                Arguments.of("GPT-2 style with RMSNorm, GQA 4/2, learned positions, biases", DataType.DOUBLE,
                        ModelConfig.languageModel(13, 16, 4, 24, 2, 12).withNorm(Normalization.RMS).withKvHeads(2)),
                Arguments.of("current-style, float32", DataType.FLOAT, modern));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void engineMatchesTheGraph(String name, DataType type, ModelConfig config) {
        Nd4j.getRandom().setSeed(11);
        LanguageModel model = new LanguageModel(config, type);
        Batch batch = EngineTrainingTest.batch(0);
        EngineTrainingTest.Reference ref = EngineTrainingTest.graphLossAndGradients(model, batch, 0, 0);
        Trainer.BatchGradients engine = new Trainer(model, Trainer.Config.adam(Schedules.constant(3e-3))).gradients(batch);
        double tol = type == DataType.DOUBLE ? 1e-10 : 1e-4;
        assertEquals(ref.loss(), engine.loss(), tol * Math.max(1, Math.abs(ref.loss())), name + ": loss");
        assertEquals(model.parameters().keySet(), engine.gradients().keySet(), name + ": one gradient per parameter");
        double worst = 0;
        for (Map.Entry<String, INDArray> e : ref.gradients().entrySet()) {
            // floor as EngineTrainingTest: a key bias's gradient is zero in exact arithmetic
            assertClose(name + ": gradient of " + e.getKey(), e.getValue(), engine.gradients().get(e.getKey()), tol, 1e-4);
            INDArray diff = e.getValue().castTo(DataType.DOUBLE).sub(engine.gradients().get(e.getKey())
                    .castTo(DataType.DOUBLE));
            worst = Math.max(worst, diff.amaxNumber().doubleValue() / Math.max(1e-4, e.getValue().amaxNumber()
                    .doubleValue()));
        }
        System.out.printf("%s: loss %.6f, engine - graph %.1e; worst gradient difference %.1e of its scale%n", name,
                ref.loss(), Math.abs(ref.loss() - engine.loss()), worst);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void cachedDecodingMatchesTheGraphAndRecomputation(String name, DataType type, ModelConfig config) {
        Nd4j.getRandom().setSeed(5);
        LanguageModel model = new LanguageModel(config, type);
        INDArray prompt = Nd4j.createFromArray(new int[][] {{1, 7, 3}, {4, 4, 9}});
        DecodingSession fast = model.startDecoding(null);
        StepDecoder graph = GraphReference.decoding(model, null);
        double tol = type == DataType.DOUBLE ? 1e-10 : 1e-5;
        assertClose(name + " prompt", graph.advance(prompt), fast.advance(prompt), tol, 1);
        int[][] all = {{1, 7, 3, 0, 0, 0, 0, 0}, {4, 4, 9, 0, 0, 0, 0, 0}};
        INDArray last = null;
        for (int step = 0; step < 5; step++) {
            all[0][3 + step] = (step * 5 + 1) % 13;
            all[1][3 + step] = (step * 7 + 2) % 13;
            INDArray next = Nd4j.createFromArray(new int[][] {{all[0][3 + step]}, {all[1][3 + step]}});
            last = fast.advance(next);
            assertClose(name + " step " + step, graph.advance(next), last, tol, 1);
        }
        assertEquals(8, fast.length());
        INDArray whole = Nd4j.createFromArray(all);
        DecodingSession fresh = model.startDecoding(null);
        assertClose(name + " cached against recomputed", fresh.advance(whole), last, tol, 1);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void parameterShapesAndCheckpointsKnowTheNewFields(String name, DataType type, ModelConfig config,
            @TempDir Path dir) {
        Nd4j.getRandom().setSeed(3);
        LanguageModel model = new LanguageModel(config, type);
        Map<String, long[]> shapes = ParameterShapes.of(config);
        assertEquals(model.parameters().keySet().stream().toList(), shapes.keySet().stream().toList(), name);
        model.parameters().forEach((k, v) -> assertArrayEquals(v.shape(), shapes.get(k), name + ": " + k));
        Checkpoint.save(dir, model, null, null, 3, null);
        Checkpoint.Loaded back = Checkpoint.load(dir);
        assertEquals(config, back.model().config(), name);
        INDArray ids = Nd4j.createFromArray(new int[][] {{1, 2, 3, 4}});
        assertSameBits(name, model.predict(null, ids), back.model().predict(null, ids));
    }

    /** Beam search reorders the rows of caches whose window has dropped keys: the same hypotheses as the graphs. */
    @Test
    void beamSearchWithAWindowGivesTheGraphsHypotheses() {
        Nd4j.getRandom().setSeed(13);
        LanguageModel model = new LanguageModel(ModelConfig.modernLanguageModel(17, 16, 4, 24, 2, 40).withKvHeads(2)
                .withWindow(4).withPositions(PositionalEncoding.ALIBI), DataType.DOUBLE);
        INDArray prompt = Nd4j.createFromArray(new int[][] {{3, 5}, {8, 1}});
        BeamSearch.Config beam = new BeamSearch.Config(3, 0.6, 20);
        List<Hypothesis> fast = BeamSearch.decode(model, null, prompt, -1, beam, true);
        List<Hypothesis> graph = BeamSearch.decode(GraphReference.decoding(model, null), prompt, -1, beam, true);
        assertEquals(graph.size(), fast.size());
        for (int i = 0; i < graph.size(); i++) {
            assertArrayEquals(graph.get(i).tokens(), fast.get(i).tokens(), "row " + i);
            assertEquals(graph.get(i).logProb(), fast.get(i).logProb(), 1e-9, "row " + i);
        }
        assertTrue(fast.get(0).tokens().length > 4, "decoded past the window: " + fast.get(0).tokens().length);
    }

    @Test
    void groupedQueryModelsHoldSmallerCaches() {
        long[] elements = new long[3];
        int[] kvHeads = {4, 2, 1};
        for (int i = 0; i < 3; i++) {
            Nd4j.getRandom().setSeed(2);
            LanguageModel model = new LanguageModel(ModelConfig.modernLanguageModel(13, 32, 4, 48, 2, 64)
                    .withKvHeads(kvHeads[i]),
                    DataType.FLOAT);
            try (DecodeEngine.Session s = model.fastDecoder().start(3)) {
                s.advance(Nd4j.createFromArray(new int[][] {{1, 2, 3, 4}, {5, 6, 7, 8}, {9, 10, 11, 12}}));
                for (int t = 0; t < 30; t++) {
                    s.advance(Nd4j.createFromArray(new int[][] {{t % 13}, {(t + 1) % 13}, {(t + 2) % 13}}));
                }
                elements[i] = s.cacheElements();
            }
            System.out.printf("language model, 2 blocks, heads 4, kvHeads %d: cache %d elements (%d KiB float32)%n",
                    kvHeads[i], elements[i], elements[i] * 4 / 1024);
        }
        assertEquals(2 * elements[1], elements[0]);
        assertEquals(4 * elements[2], elements[0]);
        assertTrue(ModelConfig.modernLanguageModel(13, 32, 4, 48, 2, 64).withKvHeads(2).kvHeads() == 2);
    }
}
