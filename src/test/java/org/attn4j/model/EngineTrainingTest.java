package org.attn4j.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.attn4j.config.Activation;
import org.attn4j.data.Batch;
import org.attn4j.samediff.Gradients;
import org.attn4j.nn.PositionalEncoding;
import org.attn4j.samediff.Losses;
import org.attn4j.samediff.ModelGraph;
import org.attn4j.train.Schedules;
import org.attn4j.train.Trainer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A language model's loss and gradients on the engine ({@code ModelEngine}, what
 * {@link Trainer} runs) against the same model's SameDiff training graph, an independent implementation
 * differentiated by SameDiff's autodiff: on a grid of configurations, float64 to 1e-10 and float32 to
 * 1e-4 of each gradient's scale; then three Adam steps from each set of gradients.
 */
class EngineTrainingTest {
    static Stream<Arguments> grid() {
        return Stream.of(
                Arguments.of("pre-LN, learned, tied, GELU", DataType.DOUBLE, true, PositionalEncoding.LEARNED, true,
                        Activation.GELU, 0, 0.0),
                Arguments.of("pre-LN, learned, untied, padding", DataType.DOUBLE, true, PositionalEncoding.LEARNED,
                        false, Activation.GELU, 0, 0.0),
                Arguments.of("post-LN, sinusoidal, ReLU, smoothing", DataType.DOUBLE, false,
                        PositionalEncoding.SINUSOIDAL, true, Activation.RELU, 0, 0.1),
                Arguments.of("pre-LN, no positions, untied, padding, smoothing", DataType.DOUBLE, true,
                        PositionalEncoding.NONE, false, Activation.GELU, 0, 0.2),
                Arguments.of("no padding id", DataType.DOUBLE, true, PositionalEncoding.LEARNED, true, Activation.GELU,
                        -1, 0.0),
                Arguments.of("float32, pre-LN, learned, tied", DataType.FLOAT, true, PositionalEncoding.LEARNED, true,
                        Activation.GELU, 0, 0.0),
                Arguments.of("pre-LN, rotary, GELU_TANH", DataType.DOUBLE, true, PositionalEncoding.ROTARY, false,
                        Activation.GELU_TANH, 0, 0.0),
                Arguments.of("post-LN, rotary, SiLU, smoothing", DataType.DOUBLE, false, PositionalEncoding.ROTARY, true,
                        Activation.SILU, 0, 0.1),
                Arguments.of("pre-LN, learned, SwiGLU, padding", DataType.DOUBLE, true, PositionalEncoding.LEARNED, false,
                        Activation.SWIGLU, 0, 0.0),
                Arguments.of("float32, rotary, SwiGLU", DataType.FLOAT, true, PositionalEncoding.ROTARY, false,
                        Activation.SWIGLU, 0, 0.0));
    }

    static ModelConfig config(boolean pre, PositionalEncoding p, boolean tied, Activation act, int pad) {
        return ModelConfig.languageModel(13, 16, 4, 24, 2, 12).withActivation(act).withNormFirst(pre).withPositions(p)
                .withTiedEmbeddings(tied).withScaleEmbedding(!tied).withPadId(pad);
    }

    /** Inputs with padding (id 0) at the ends of the second row when the model has a padding id. */
    static Batch batch(int pad) {
        int[][] in = {{1, 5, 9, 2, 11, 3, 7}, {4, 12, 6, 8, 0, 0, 0}};
        int[][] out = {{5, 9, 2, 11, 3, 7, 10}, {12, 6, 8, 1, 0, 0, 0}};
        if (pad < 0) { // every id is a real token: 0 is a character like any other
            in[1][4] = 0;
            out[1][4] = 0;
        }
        return new Batch(null, Nd4j.createFromArray(in), Nd4j.createFromArray(out));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("grid")
    void engineMatchesTheGraph(String name, DataType type, boolean pre, PositionalEncoding p, boolean tied,
            Activation act, int pad, double smoothing) {
        Nd4j.getRandom().setSeed(11);
        LanguageModel model = new LanguageModel(config(pre, p, tied, act, pad), type);
        Batch batch = batch(pad);
        Trainer.Config adam = Trainer.Config.adam(Schedules.constant(3e-3)).withLabelSmoothing(smoothing);
        Map<String, INDArray> initial = snapshot(model);

        Reference ref = graphLossAndGradients(model, batch, pad, smoothing);
        Trainer trainer = new Trainer(model, adam);
        Trainer.BatchGradients engine = trainer.gradients(batch);
        double tol = type == DataType.DOUBLE ? 1e-10 : 1e-4;
        assertEquals(ref.loss, engine.loss(), tol * Math.max(1, Math.abs(ref.loss)), name + ": loss");
        assertEquals(model.parameters().keySet(), engine.gradients().keySet(), name + ": one gradient per parameter");
        for (Map.Entry<String, INDArray> e : ref.gradients.entrySet()) {
            // The floor: the key bias's gradient is zero in exact arithmetic (softmax ignores a shift shared by a row).
            assertClose(name + ": gradient of " + e.getKey(), e.getValue(), engine.gradients().get(e.getKey()), tol, 1e-4);
        }
        long counted = pad < 0 ? 14 : 11;
        assertEquals(counted, engine.tokens(), name + ": targets counted");

        // Three Adam steps on the engine and three from the graph's gradients, on a second copy of the model.
        LanguageModel copy = new LanguageModel(model.config(), type);
        copy.loadParameters(initial);
        Trainer graphSteps = new Trainer(copy, adam);
        for (int step = 0; step < 3; step++) {
            trainer.step(batch);
            Reference r = graphLossAndGradients(copy, batch, pad, smoothing);
            graphSteps.apply(new Trainer.BatchGradients(r.loss, r.gradients, counted));
        }
        Map<String, INDArray> after = snapshot(model);
        // Parameters are of order 1. The key bias's gradient is rounding noise (zero in exact arithmetic), which
        // Adam scales up to steps of about the learning rate in float32: there it is left out.
        snapshot(copy).forEach((k, v) -> {
            if (type == DataType.DOUBLE || !k.endsWith("self_attn.k.bias")) {
                assertClose(name + ": " + k + " after 3 Adam steps", v, after.get(k), type == DataType.DOUBLE ? 1e-10 : 1e-4,
                        1);
            }
        });
    }

    /**
     * A head of 2^20 weights ({@code V = 65,536, C = 16}), large enough that the engine takes its weight gradient by
     * ranges of vocabulary rows (no per-worker copy) rather than by row shares: the same gradients as the graph, for
     * a separate head with its bias and for one tied to the embedding (its rows' gradient added to the lookup's).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("largeHeads")
    void largeHeadsMatchTheGraph(String name, DataType type, boolean tied) {
        Nd4j.getRandom().setSeed(17);
        ModelConfig config = ModelConfig.languageModel(65_536, 16, 4, 24, 1, 12).withTiedEmbeddings(tied)
                .withScaleEmbedding(!tied);
        LanguageModel model = new LanguageModel(config, type);
        int[][] in = {{1, 65_535, 9, 2, 40_000, 3}, {4, 12, 6, 8, 0, 0}};
        int[][] out = {{65_535, 9, 2, 40_000, 3, 7}, {12, 6, 8, 1, 0, 0}};
        engineMatchesTheGraph(name, model, type, in, out);
    }

    /**
     * Feed-forward weights of 2^20 elements ({@code C = 64, F = 16,384}), large enough that the workers take their
     * gradients by ranges of output rows (no per-worker copy) rather than by row shares: the same gradients as the
     * graph, for GELU (W1 and W2 with their biases) and SwiGLU (W1, the gate and W2, no biases); the attention's
     * 64 x 64 weights keep their row shares beside them.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("largeFeedForwards")
    void largeFeedForwardsMatchTheGraph(String name, DataType type, boolean swiglu) {
        Nd4j.getRandom().setSeed(19);
        ModelConfig config = swiglu ? ModelConfig.modernLanguageModel(50, 64, 4, 16_384, 1, 12)
                : ModelConfig.languageModel(50, 64, 4, 16_384, 1, 12);
        LanguageModel model = new LanguageModel(config, type);
        int[][] in = {{1, 49, 9, 2, 40, 3}, {4, 12, 6, 8, 0, 0}};
        int[][] out = {{49, 9, 2, 40, 3, 7}, {12, 6, 8, 1, 0, 0}};
        engineMatchesTheGraph(name, model, type, in, out);
    }

    /** The engine's loss and gradients of one batch against the graph's: float64 1e-10, float32 1e-4. */
    private static void engineMatchesTheGraph(String name, LanguageModel model, DataType type, int[][] in, int[][] out) {
        Batch batch = new Batch(null, Nd4j.createFromArray(in), Nd4j.createFromArray(out));
        Reference ref = graphLossAndGradients(model, batch, 0, 0.0);
        Trainer.BatchGradients engine = new Trainer(model, Trainer.Config.adam(Schedules.constant(3e-3))).gradients(batch);
        double tol = type == DataType.DOUBLE ? 1e-10 : 1e-4;
        assertEquals(ref.loss, engine.loss(), tol * Math.max(1, Math.abs(ref.loss)), name + ": loss");
        assertEquals(model.parameters().keySet(), engine.gradients().keySet(), name + ": one gradient per parameter");
        for (Map.Entry<String, INDArray> e : ref.gradients.entrySet()) {
            assertClose(name + ": gradient of " + e.getKey(), e.getValue(), engine.gradients().get(e.getKey()), tol, 1e-4);
        }
    }

    static Stream<Arguments> largeFeedForwards() {
        return Stream.of(Arguments.of("GELU, float64", DataType.DOUBLE, false),
                Arguments.of("SwiGLU, float64", DataType.DOUBLE, true),
                Arguments.of("GELU, float32", DataType.FLOAT, false));
    }

    static Stream<Arguments> largeHeads() {
        return Stream.of(Arguments.of("separate head, float64", DataType.DOUBLE, false),
                Arguments.of("tied head, float64", DataType.DOUBLE, true),
                Arguments.of("separate head, float32", DataType.FLOAT, false));
    }

    static Stream<Arguments> seq2seqGrid() {
        return Stream.of(
                Arguments.of("pre-LN, learned, separate vocabularies", DataType.DOUBLE, true, PositionalEncoding.LEARNED,
                        false, 0.0, Activation.GELU),
                Arguments.of("post-LN, sinusoidal, smoothing", DataType.DOUBLE, false, PositionalEncoding.SINUSOIDAL,
                        false, 0.1, Activation.GELU),
                Arguments.of("pre-LN, no positions, tied head", DataType.DOUBLE, true, PositionalEncoding.NONE, true, 0.0,
                        Activation.GELU),
                Arguments.of("float32, pre-LN, sinusoidal", DataType.FLOAT, true, PositionalEncoding.SINUSOIDAL, false,
                        0.0, Activation.GELU),
                Arguments.of("pre-LN, rotary, SwiGLU", DataType.DOUBLE, true, PositionalEncoding.ROTARY, false, 0.0,
                        Activation.SWIGLU),
                Arguments.of("post-LN, rotary, GELU_TANH, float32", DataType.FLOAT, false, PositionalEncoding.ROTARY,
                        false, 0.1, Activation.GELU_TANH));
    }

    /** Encoder-decoders: padding in source and target, 2 encoder and 2 decoder blocks, as above. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("seq2seqGrid")
    void seq2seqEngineMatchesTheGraph(String name, DataType type, boolean pre, PositionalEncoding p, boolean tied,
            double smoothing, Activation act) {
        Nd4j.getRandom().setSeed(12);
        ModelConfig config = ModelConfig.seq2seq(13, 16, 4, 24, 2, 12).withSourceVocab(17).withActivation(act)
                .withNormFirst(pre).withPositions(p).withTiedEmbeddings(tied);
        Seq2SeqTransformer model = new Seq2SeqTransformer(config, type);
        Batch lm = batch(0);
        Batch batch = new Batch(Nd4j.createFromArray(new int[][] {{3, 16, 2, 9, 0}, {5, 1, 14, 0, 0}}), lm.input(),
                lm.target());
        Trainer.Config adam = Trainer.Config.adam(Schedules.constant(3e-3)).withLabelSmoothing(smoothing);
        Reference ref = graphLossAndGradients(model, batch, 0, smoothing);
        Trainer.BatchGradients engine = new Trainer(model, adam).gradients(batch);
        double tol = type == DataType.DOUBLE ? 1e-10 : 1e-4;
        assertEquals(ref.loss, engine.loss(), tol * Math.max(1, Math.abs(ref.loss)), name + ": loss");
        assertEquals(model.parameters().keySet(), engine.gradients().keySet(), name + ": one gradient per parameter");
        for (Map.Entry<String, INDArray> e : ref.gradients.entrySet()) {
            // The floor: key biases' gradients are zero in exact arithmetic (softmax ignores a shift shared by a row).
            assertClose(name + ": gradient of " + e.getKey(), e.getValue(), engine.gradients().get(e.getKey()), tol, 1e-4);
        }
    }

    /**
     * The engine's training pass leaves each sequence's trailing padding out of its rows (packed rows); the rule
     * that decides how many positions a sequence keeps is checked here against the graph, which computes every
     * padded position: padding in the middle of a source and of an input (kept, masked as keys), a target that
     * runs past its input's last real id (kept: it counts in the loss), a row with nothing to predict, and a
     * source that is padding throughout (its memory row fully masked).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("irregularPadding")
    void packedRowsMatchTheGraphOnIrregularPadding(String name, boolean pre, PositionalEncoding p) {
        Nd4j.getRandom().setSeed(13);
        ModelConfig config = ModelConfig.seq2seq(13, 16, 4, 24, 2, 12).withSourceVocab(17).withNormFirst(pre)
                .withPositions(p);
        Seq2SeqTransformer model = new Seq2SeqTransformer(config, DataType.DOUBLE);
        int[][] source = {{3, 0, 2, 9, 0, 0}, {5, 1, 14, 7, 4, 0}, {0, 0, 0, 0, 0, 0}, {6, 0, 0, 0, 0, 0}};
        int[][] input = {{1, 5, 0, 2, 0, 0}, {4, 12, 6, 0, 0, 0}, {7, 3, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0}};
        int[][] target = {{5, 9, 2, 11, 0, 0}, {12, 6, 8, 1, 10, 0}, {3, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0}};
        Batch batch = new Batch(Nd4j.createFromArray(source), Nd4j.createFromArray(input), Nd4j.createFromArray(target));
        Reference ref = graphLossAndGradients(model, batch, 0, 0.0);
        Trainer.BatchGradients engine = new Trainer(model, Trainer.Config.adam(Schedules.constant(3e-3))).gradients(batch);
        assertEquals(10, engine.tokens(), name + ": targets counted");
        assertEquals(ref.loss, engine.loss(), 1e-10 * Math.max(1, Math.abs(ref.loss)), name + ": loss");
        for (Map.Entry<String, INDArray> e : ref.gradients.entrySet()) {
            assertClose(name + ": gradient of " + e.getKey(), e.getValue(), engine.gradients().get(e.getKey()), 1e-10,
                    1e-4);
        }
    }

    static Stream<Arguments> irregularPadding() {
        return Stream.of(Arguments.of("pre-LN, learned", true, PositionalEncoding.LEARNED),
                Arguments.of("post-LN, rotary", false, PositionalEncoding.ROTARY));
    }

    record Reference(double loss, Map<String, INDArray> gradients) {
    }

    /** The training graph's loss and SameDiff's gradients of it. */
    static Reference graphLossAndGradients(TransformerModel model, Batch batch, int pad, double smoothing) {
        ModelGraph g = GraphReference.graph(model);
        SameDiff sd = g.sameDiff();
        String name = "reference_loss_" + smoothing;
        SDVariable loss = sd.hasVariable(name) ? sd.getVariable(name)
                : Losses.crossEntropy(name, g.logits(), g.targets(), pad, model.config().targetVocab(), smoothing);
        sd.setLossVariables(loss.name());
        Gradients.build(sd);
        Map<String, INDArray> feeds = g.feeds(batch.source(), batch.input(), batch.target());
        var r = sd.calculateGradientsAndOutputs(feeds, List.of(loss.name()), List.copyOf(model.parameters().keySet()));
        return new Reference(r.getOutputs().get(loss.name()).getDouble(0), r.getGradients());
    }

    private static Map<String, INDArray> snapshot(TransformerModel m) {
        Map<String, INDArray> s = new LinkedHashMap<>();
        m.parameters().forEach((k, v) -> s.put(k, v.dup()));
        return s;
    }

    /** max |expected - actual| <= tol * max(floor, max |expected|). */
    static void assertClose(String what, INDArray expected, INDArray actual, double tol, double floor) {
        assertNotNull(actual, what + ": missing");
        assertEquals(List.of(expected.shape().length), List.of(actual.shape().length), what + ": rank");
        double scale = Math.max(floor, expected.amaxNumber().doubleValue());
        double diff = expected.castTo(DataType.DOUBLE).sub(actual.castTo(DataType.DOUBLE)).amaxNumber().doubleValue();
        assertTrue(diff <= tol * scale, what + ": max difference " + diff + " > " + tol + " x " + scale);
    }

    /** Bad calls of the engine's entry point name what was expected and what was given. */
    @org.junit.jupiter.api.Test
    void badCallsSayWhatWasExpected() {
        LanguageModel lm = new LanguageModel(config(true, PositionalEncoding.LEARNED, true, Activation.GELU, 0),
                DataType.DOUBLE);
        TransformerModel.EngineState s = lm.newEngineState();
        INDArray ids = Nd4j.createFromArray(new int[][] {{1, 2, 3}});
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> lm.lossAndGradients(s, null, ids, Nd4j.createFromArray(new int[][] {{1, 2}}), 0, true));
        assertTrue(e.getMessage().contains("input [1, 3] and target [1, 2] must have the same shape"), e.getMessage());
        e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> lm.lossAndGradients(s, ids, ids, ids, 0, true));
        assertTrue(e.getMessage().contains("takes no source"), e.getMessage());
        e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> lm.lossAndGradients(s, null, ids, Nd4j.createFromArray(new int[][] {{1, 2, 13}}), 0, true));
        assertTrue(e.getMessage().contains("token id 13 outside the vocabulary [0, 13)"), e.getMessage());
        e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> lm.lossAndGradients(s, null, ids, ids, 1.0, true));
        assertTrue(e.getMessage().contains("label smoothing must be in [0, 1), got 1.0"), e.getMessage());
        e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> ModelConfig.seq2seq(5, 16, 4, 24, 1, 12).withPadId(-1));
        assertTrue(e.getMessage().contains("An encoder-decoder needs a padding id"), e.getMessage());
    }
}
