package org.attn4j.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.stream.Stream;
import org.attn4j.config.Activation;
import org.attn4j.decode.BeamSearch;
import org.attn4j.decode.Greedy;
import org.attn4j.decode.Hypothesis;
import org.attn4j.nn.PositionalEncoding;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A language model's decoding on the fast path ({@code DecodeEngine}) against the same
 * model's SameDiff decoding graphs ({@link GraphReference}): log-probabilities of every step,
 * greedy tokens and beam search, in float64 to 1e-10 and float32 to 1e-5.
 */
class DecodeEngineTest {
    static Stream<Arguments> models() {
        return Stream.of(
                Arguments.of("learned, untied, pre-LN", DataType.DOUBLE, PositionalEncoding.LEARNED, false, true,
                        Activation.GELU),
                Arguments.of("sinusoidal, tied, pre-LN", DataType.DOUBLE, PositionalEncoding.SINUSOIDAL, true, true,
                        Activation.GELU),
                Arguments.of("no positions, post-LN", DataType.DOUBLE, PositionalEncoding.NONE, false, false,
                        Activation.GELU),
                Arguments.of("learned, float32", DataType.FLOAT, PositionalEncoding.LEARNED, false, true, Activation.GELU),
                Arguments.of("rotary, pre-LN", DataType.DOUBLE, PositionalEncoding.ROTARY, false, true, Activation.GELU),
                Arguments.of("rotary, post-LN, ReLU", DataType.DOUBLE, PositionalEncoding.ROTARY, true, false,
                        Activation.RELU),
                Arguments.of("rotary, float32, SwiGLU", DataType.FLOAT, PositionalEncoding.ROTARY, false, true,
                        Activation.SWIGLU),
                Arguments.of("learned, GELU_TANH", DataType.DOUBLE, PositionalEncoding.LEARNED, false, true,
                        Activation.GELU_TANH),
                Arguments.of("sinusoidal, SiLU", DataType.DOUBLE, PositionalEncoding.SINUSOIDAL, false, false,
                        Activation.SILU),
                Arguments.of("learned, SwiGLU", DataType.DOUBLE, PositionalEncoding.LEARNED, true, true,
                        Activation.SWIGLU),
                Arguments.of("learned, float32, GELU_TANH", DataType.FLOAT, PositionalEncoding.LEARNED, false, true,
                        Activation.GELU_TANH),
                Arguments.of("learned, float32, SiLU", DataType.FLOAT, PositionalEncoding.LEARNED, false, true,
                        Activation.SILU));
    }

    private static ModelConfig config(PositionalEncoding p, boolean tied, boolean pre) {
        return config(p, tied, pre, Activation.GELU);
    }

    private static ModelConfig config(PositionalEncoding p, boolean tied, boolean pre, Activation act) {
        return ModelConfig.languageModel(23, 40, 4, 72, 2, 40).withPositions(p).withTiedEmbeddings(tied)
                .withActivation(act).withNormFirst(pre).withScaleEmbedding(!pre);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("models")
    void stepsMatchTheGraph(String name, DataType type, PositionalEncoding p, boolean tied, boolean pre,
            Activation act) {
        Nd4j.getRandom().setSeed(5);
        LanguageModel model = new LanguageModel(config(p, tied, pre, act), type);
        INDArray prompt = Nd4j.createFromArray(new int[][] {{1, 7, 3}, {4, 4, 9}});
        DecodingSession fast = model.startDecoding(null);
        StepDecoder graph = GraphReference.decoding(model, null);
        double tol = type == DataType.DOUBLE ? 1e-10 : 1e-5;
        assertClose(name + " prompt", graph.advance(prompt), fast.advance(prompt), tol);
        for (int step = 0; step < 5; step++) {
            INDArray next = Nd4j.createFromArray(new int[][] {{(step * 5) % 23}, {(step * 7 + 2) % 23}});
            assertClose(name + " step " + step, graph.advance(next), fast.advance(next), tol);
        }
        assertEquals(8, fast.length());
        assertClose(name + " recompute", graph.recompute(prompt), fast.recompute(prompt), tol);
    }

    @Test
    void greedyAndBeamSearchGiveTheGraphsTokens() {
        Nd4j.getRandom().setSeed(9);
        LanguageModel model = new LanguageModel(config(PositionalEncoding.LEARNED, false, true), DataType.DOUBLE);
        INDArray prompt = Nd4j.createFromArray(new int[][] {{2, 5}, {6, 1}, {3, 3}});
        List<Hypothesis> fastGreedy = Greedy.decode(model, null, prompt, 0, 12, true);
        List<Hypothesis> fastBeam = BeamSearch.decode(model, null, prompt, 0, new BeamSearch.Config(3, 0.6, 8), true);
        List<Hypothesis> fastRecompute = Greedy.decode(model, null, prompt, 0, 12, false);
        List<Hypothesis> graphGreedy = Greedy.decode(GraphReference.decoding(model, null), prompt, 0, 12, true);
        List<Hypothesis> graphBeam = BeamSearch.decode(GraphReference.decoding(model, null), prompt, 0,
                new BeamSearch.Config(3, 0.6, 8), true);
        assertSame("greedy", graphGreedy, fastGreedy);
        assertSame("greedy, cache against recomputation", fastGreedy, fastRecompute);
        assertSame("beam", graphBeam, fastBeam);
    }

    /** Same tokens and (to 1e-9) the same log-probability, row by row. */
    private static void assertSame(String what, List<Hypothesis> expected, List<Hypothesis> actual) {
        assertEquals(expected.size(), actual.size(), what);
        for (int i = 0; i < expected.size(); i++) {
            assertArrayEquals(expected.get(i).tokens(), actual.get(i).tokens(), what + " row " + i);
            assertEquals(expected.get(i).logProb(), actual.get(i).logProb(), 1e-9, what + " row " + i);
        }
    }

    /** Past 64 positions the caches grow (their rows copied into larger arrays), also after beam reordering. */
    @Test
    void longDecodingsGrowTheCacheAndKeepEveryRow() {
        Nd4j.getRandom().setSeed(13);
        LanguageModel model = new LanguageModel(ModelConfig.languageModel(17, 16, 2, 32, 2, 150), DataType.DOUBLE);
        INDArray prompt = Nd4j.createFromArray(new int[][] {{3}, {8}});
        List<Hypothesis> fastGreedy = Greedy.decode(model, null, prompt, -1, 100, true);
        List<Hypothesis> fastBeam = BeamSearch.decode(model, null, prompt, -1, new BeamSearch.Config(2, 0.6, 80), true);
        List<Hypothesis> graphGreedy = Greedy.decode(GraphReference.decoding(model, null), prompt, -1, 100, true);
        List<Hypothesis> graphBeam = BeamSearch.decode(GraphReference.decoding(model, null), prompt, -1,
                new BeamSearch.Config(2, 0.6, 80), true);
        assertEquals(100, fastGreedy.get(0).tokens().length, "no end token: every row runs past 64 positions");
        assertSame("greedy", graphGreedy, fastGreedy);
        assertSame("beam", graphBeam, fastBeam);
    }

    /** Rotary positions: greedy and beam search on the engine give the graphs' tokens. */
    @Test
    void rotaryGreedyAndBeamSearchGiveTheGraphsTokens() {
        Nd4j.getRandom().setSeed(10);
        LanguageModel model = new LanguageModel(config(PositionalEncoding.ROTARY, false, true, Activation.SWIGLU),
                DataType.DOUBLE);
        INDArray prompt = Nd4j.createFromArray(new int[][] {{2, 5}, {6, 1}});
        List<Hypothesis> fastGreedy = Greedy.decode(model, null, prompt, 0, 10, true);
        List<Hypothesis> fastBeam = BeamSearch.decode(model, null, prompt, 0, new BeamSearch.Config(3, 0.6, 8), true);
        assertSame("greedy", Greedy.decode(GraphReference.decoding(model, null), prompt, 0, 10, true), fastGreedy);
        assertSame("beam", BeamSearch.decode(GraphReference.decoding(model, null), prompt, 0,
                new BeamSearch.Config(3, 0.6, 8), true), fastBeam);
    }

    /**
     * An encoder-decoder on the engine (encoder stack, then decoder steps with cross-attention to cached memory
     * keys and values) against its SameDiff graphs: each step's log-probabilities with padded sources, greedy
     * and beam search (whose reordering also reorders the memory), pre- and post-LN, float64 and float32.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("seq2seqModels")
    void encoderDecoderStepsMatchTheGraph(String name, DataType type, boolean pre, PositionalEncoding p,
            Activation act) {
        Nd4j.getRandom().setSeed(6);
        ModelConfig c = ModelConfig.seq2seq(19, 24, 4, 40, 2, 30).withPositions(p).withActivation(act)
                .withNormFirst(pre);
        Seq2SeqTransformer model = new Seq2SeqTransformer(c, type);
        INDArray source = Nd4j.createFromArray(new int[][] {{4, 9, 13, 2, 0, 0}, {7, 7, 1, 18, 5, 3}});
        INDArray bos = Nd4j.createFromArray(new int[][] {{1}, {1}});
        double tol = type == DataType.DOUBLE ? 1e-10 : 1e-5;
        DecodingSession fast = model.startDecoding(source);
        StepDecoder graph = GraphReference.decoding(model, source);
        List<Hypothesis> graphGreedy = Greedy.decode(GraphReference.decoding(model, source), bos, 2, 10, true);
        List<Hypothesis> graphBeam = BeamSearch.decode(GraphReference.decoding(model, source), bos, 2,
                new BeamSearch.Config(3, 0.6, 10), true);
        assertClose(name + " first", graph.advance(bos), fast.advance(bos), tol);
        for (int step = 0; step < 4; step++) {
            INDArray next = Nd4j.createFromArray(new int[][] {{3 + step}, {(step * 5) % 19}});
            assertClose(name + " step " + step, graph.advance(next), fast.advance(next), tol);
        }
        if (type == DataType.DOUBLE) {
            assertSame(name + " greedy", graphGreedy, Greedy.decode(model, source, bos, 2, 10, true));
            assertSame(name + " beam", graphBeam, BeamSearch.decode(model, source, bos, 2, new BeamSearch.Config(3, 0.6,
                    10), true));
        }
    }

    /** Logits and every attention map of one forward pass: the engine's against the graph's. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("seq2seqModels")
    void predictAndAttentionMapsMatchTheGraph(String name, DataType type, boolean pre, PositionalEncoding p) {
        Nd4j.getRandom().setSeed(8);
        ModelConfig c = ModelConfig.seq2seq(19, 24, 4, 40, 2, 30).withPositions(p).withNormFirst(pre);
        Seq2SeqTransformer s2s = new Seq2SeqTransformer(c, type);
        LanguageModel lm = new LanguageModel(config(p, false, pre), type);
        INDArray source = Nd4j.createFromArray(new int[][] {{4, 9, 13, 2, 0, 0}, {7, 7, 1, 18, 5, 3}});
        INDArray input = Nd4j.createFromArray(new int[][] {{1, 5, 8, 0}, {1, 2, 3, 4}});
        double tol = type == DataType.DOUBLE ? 1e-10 : 1e-5;
        for (TransformerModel m : List.of(s2s, lm)) {
            INDArray src = m == s2s ? source : null;
            INDArray logits = m.predict(src, input);
            AttentionMaps maps = m.attention(src, input);
            assertClose(name + " logits", GraphReference.predict(m, src, input), logits, tol);
            AttentionMaps graph = GraphReference.attention(m, src, input);
            assertEquals(graph.encoderSelf().size(), maps.encoderSelf().size(), name);
            assertEquals(graph.cross().size(), maps.cross().size(), name);
            for (int i = 0; i < graph.encoderSelf().size(); i++) {
                assertClose(name + " encoder self " + i, graph.encoderSelf().get(i), maps.encoderSelf().get(i), tol);
            }
            for (int i = 0; i < graph.decoderSelf().size(); i++) {
                assertClose(name + " decoder self " + i, graph.decoderSelf().get(i), maps.decoderSelf().get(i), tol);
            }
            for (int i = 0; i < graph.cross().size(); i++) {
                assertClose(name + " cross " + i, graph.cross().get(i), maps.cross().get(i), tol);
            }
        }
    }

    static Stream<Arguments> seq2seqModels() {
        return Stream.of(Arguments.of("pre-LN, learned", DataType.DOUBLE, true, PositionalEncoding.LEARNED,
                        Activation.GELU),
                Arguments.of("post-LN, sinusoidal", DataType.DOUBLE, false, PositionalEncoding.SINUSOIDAL,
                        Activation.GELU),
                Arguments.of("pre-LN, float32", DataType.FLOAT, true, PositionalEncoding.LEARNED, Activation.GELU),
                Arguments.of("pre-LN, rotary, SwiGLU", DataType.DOUBLE, true, PositionalEncoding.ROTARY,
                        Activation.SWIGLU),
                Arguments.of("post-LN, rotary, GELU_TANH, float32", DataType.FLOAT, false, PositionalEncoding.ROTARY,
                        Activation.GELU_TANH));
    }

    @Test
    void badIdsAndLengthsAreNamed() {
        LanguageModel model = new LanguageModel(ModelConfig.languageModel(11, 8, 2, 16, 1, 6), DataType.FLOAT);
        DecodingSession s = model.startDecoding(null);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> s.advance(Nd4j.createFromArray(new int[][] {{3, 11}})));
        assertTrue(e.getMessage().contains("token id 11 outside the vocabulary [0, 11)"), e.getMessage());
        s.advance(Nd4j.createFromArray(new int[][] {{1, 2, 3, 4, 5}}));
        e = assertThrows(IllegalArgumentException.class, () -> s.advance(Nd4j.createFromArray(new int[][] {{1, 2}})));
        assertTrue(e.getMessage().contains("Decoding past the model's 6 positions (maxLen): 5 fed, 2 more asked"),
                e.getMessage());
    }

    private static void assertClose(String what, INDArray expected, INDArray actual, double tol) {
        assertArrayEquals(expected.shape(), actual.shape(), what);
        double err = expected.castTo(DataType.DOUBLE).sub(actual.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
        assertTrue(err <= tol * Math.max(1, expected.amaxNumber().doubleValue()), what + ": max difference " + err);
    }

}
