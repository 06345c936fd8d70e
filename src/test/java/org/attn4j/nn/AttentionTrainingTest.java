package org.attn4j.nn;

import static org.attn4j.testing.Exact.assertSameBits;
import org.attn4j.testing.ConcurrentCalls;
import org.attn4j.samediff.Gradients;
import org.attn4j.samediff.MultiHeadAttentionGraph;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.attn4j.config.AttentionConfig;
import org.attn4j.config.AttentionMask;
import org.attn4j.config.AttentionOutput;
import org.attn4j.kernels.DropoutSeed;
import org.attn4j.testing.FiniteDifferences;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@link MultiHeadAttention#train} and {@link AttentionPass#backward}, the layer's training pass on the
 * engine: input and parameter gradients against central differences in float64 and against SameDiff's
 * autodiff of the layer's own {@code forward} graph (float64 and float32), and one layer trained by four
 * threads at once giving the sequential results.
 */
class AttentionTrainingTest {
    /**
     * A layer and its inputs: batch 2, query length tq, key length tk (self-attention when kDim = vDim = 0 and
     * tq = tk: one input x), with biases, a causal mask and a padding mask that hides key 0 of batch row 1
     * (so with causal its first query sees nothing).
     */
    record Case(String name, AttentionConfig config, int tq, int tk, boolean padding, double dropout) {
        boolean self() {
            return config.kDim() == config.dModel() && config.vDim() == config.dModel() && tq == tk;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> cases() {
        AttentionConfig base = AttentionConfig.of(8, 2);
        return Stream.of(
                new Case("self, causal and padding", base.withCausal(true), 5, 5, true, 0),
                new Case("self, no bias, padding", base.withBias(false), 4, 4, true, 0),
                new Case("cross kDim 6 vDim 10, padding", base.withKeyValueDims(6, 10), 3, 5, true, 0),
                new Case("cross Tq > Tk, causal", base.withCausal(true), 5, 3, false, 0),
                new Case("self rotary, grouped-query, ALiBi, window 3, causal", AttentionConfig.of(8, 4)
                        .withRotary(true).withKvHeads(2).withAlibi(true).withWindow(3).withCausal(true), 6, 6, true, 0),
                new Case("self, attention dropout 0.3 (seeded)", base.withDropout(0.3), 5, 5, true, 0.3));
    }

    /** The inputs of a case: query, key, value (the same array three times for self-attention), mask, dLoss/dOutput. */
    private record Inputs(INDArray query, INDArray key, INDArray value, AttentionMask<INDArray> mask, INDArray r) {
    }

    private static Inputs inputs(Case c, DataType type) {
        int b = 2;
        AttentionConfig cf = c.config();
        INDArray q = Nd4j.randn(type, b, c.tq(), cf.dModel());
        INDArray k = c.self() ? q : Nd4j.randn(type, b, c.tk(), cf.kDim());
        INDArray v = c.self() ? q : Nd4j.randn(type, b, c.tk(), cf.vDim());
        AttentionMask<INDArray> mask = AttentionMask.none();
        if (c.padding()) {
            INDArray keep = Nd4j.ones(type, b, c.tk());
            keep.putScalar(new long[] {1, 0}, 0);
            keep.putScalar(new long[] {0, c.tk() - 1}, 0);
            mask = AttentionMask.ofPadding(keep);
        }
        return new Inputs(q, k, v, mask, Nd4j.randn(type, b, c.tq(), cf.dModel()));
    }

    /** Random parameters (biases nonzero) of scale 0.5. */
    private static MultiHeadAttention layer(Case c, DataType type) {
        MultiHeadAttention mha = MultiHeadAttention.create(c.config(), type);
        mha.parameters().values().forEach(v -> v.assign(Nd4j.randn(type, v.shape()).muli(0.5)));
        return mha;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradientsMatchCentralDifferences(Case c) {
        Nd4j.getRandom().setSeed(5);
        MultiHeadAttention mha = layer(c, DataType.DOUBLE);
        Inputs in = inputs(c, DataType.DOUBLE);
        DropoutSeed seed = c.dropout() > 0 ? new DropoutSeed(11, 3) : null;
        AttentionGradients g = mha.train(in.query(), in.key(), in.value(), in.mask(), seed).backward(in.r());

        Map<String, INDArray> values = new LinkedHashMap<>(), analytic = new LinkedHashMap<>();
        if (c.self()) {
            values.put("x", in.query());
            analytic.put("x", g.input());
        } else {
            values.put("query", in.query());
            values.put("key", in.key());
            values.put("value", in.value());
            analytic.put("query", g.query());
            analytic.put("key", g.key());
            analytic.put("value", g.value());
        }
        mha.parameters().forEach((name, v) -> values.put(name, v));
        analytic.putAll(g.parameters());
        assertEquals(mha.parameters().keySet(), g.parameters().keySet(), "gradients by the layer's parameter names");
        int n = FiniteDifferences.check(values, analytic, () -> mha.train(in.query(), in.key(), in.value(), in.mask(),
                seed).output().mul(in.r()).sumNumber().doubleValue());
        assertTrue(n > 200, c + ": " + n + " entries checked");
        if (c.dropout() > 0) {
            INDArray undropped = mha.train(in.query(), in.key(), in.value(), in.mask()).backward(in.r()).input();
            assertTrue(undropped.sub(g.input()).amaxNumber().doubleValue() > 1e-3, "the seed's masks drop something");
        }
    }

    static Stream<Arguments> graphCases() {
        List<Arguments> all = new ArrayList<>();
        for (DataType type : List.of(DataType.DOUBLE, DataType.FLOAT)) {
            cases().filter(c -> c.dropout() == 0).forEach(c -> all.add(Arguments.of(type, c)));
        }
        return all.stream();
    }

    /** The engine's gradients equal SameDiff's of the layer's own graph, loss sum(output * R). */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("graphCases")
    void gradientsMatchTheSameDiffGraph(DataType type, Case c) {
        Nd4j.getRandom().setSeed(7);
        MultiHeadAttention mha = layer(c, type);
        Inputs in = inputs(c, type);
        AttentionPass pass = mha.train(in.query(), in.key(), in.value(), in.mask());
        AttentionGradients g = pass.backward(in.r());

        SameDiff sd = SameDiff.create();
        SDVariable q = sd.var("in.query", in.query().dup());
        SDVariable k = c.self() ? q : sd.var("in.key", in.key().dup());
        SDVariable v = c.self() ? q : sd.var("in.value", in.value().dup());
        AttentionOutput<SDVariable> o = new MultiHeadAttentionGraph(sd, mha).forward(q, k, v, in.mask().map(sd::constant));
        SDVariable loss = o.output().mul(sd.constant(in.r())).sum();
        sd.setLossVariables(loss);
        List<String> names = new ArrayList<>(mha.parameters().keySet());
        names.addAll(c.self() ? List.of("in.query") : List.of("in.query", "in.key", "in.value"));
        Map<String, INDArray> graph = Gradients.of(sd, Map.of(), names.toArray(String[]::new));
        Map<String, INDArray> forward = sd.output(Map.of(), o.output().name(), o.weights().name());

        double tol = type == DataType.DOUBLE ? 1e-10 : 1e-5;
        BlockEngineTest.assertClose(c + " output", forward.get(o.output().name()), pass.output(), tol);
        BlockEngineTest.assertClose(c + " weights", forward.get(o.weights().name()), pass.weights(), tol);
        for (String name : mha.parameters().keySet()) {
            // The key bias adds q.b to every score of a query's row, which the softmax ignores: its gradient is 0
            // in exact arithmetic, rounding noise in both, so it is compared on the scale of the others (1).
            BlockEngineTest.assertClose(c + " d" + name, graph.get(name), g.parameters().get(name), tol,
                    name.equals("k.bias") ? 1 : 0);
        }
        if (c.self()) {
            BlockEngineTest.assertClose(c + " dx", graph.get("in.query"), g.input(), tol);
        } else {
            BlockEngineTest.assertClose(c + " dQuery", graph.get("in.query"), g.query(), tol);
            BlockEngineTest.assertClose(c + " dKey", graph.get("in.key"), g.key(), tol);
            BlockEngineTest.assertClose(c + " dValue", graph.get("in.value"), g.value(), tol);
        }
    }

    /** Four threads training one layer at once (and running apply), 240 calls, get the sequential results' bits. */
    @Test
    void fourThreadsOnOneLayerGiveTheSequentialResults() throws Exception {
        Nd4j.getRandom().setSeed(9);
        Case c = new Case("self, causal and padding", AttentionConfig.of(16, 4).withCausal(true), 7, 7, true, 0);
        MultiHeadAttention mha = layer(c, DataType.FLOAT);
        int calls = 24;
        List<Inputs> inputs = new ArrayList<>();
        for (int i = 0; i < calls; i++) {
            inputs.add(inputs(c, DataType.FLOAT));
        }
        ConcurrentCalls.assertSameAsSequential("attention train and apply", 4, 10, inputs, in -> run(mha, in));
    }

    /** Output, weights, dx and every parameter gradient of one training pass, and apply's output. */
    private static List<INDArray> run(MultiHeadAttention mha, Inputs in) {
        AttentionPass pass = mha.train(in.query(), in.query(), in.query(), in.mask());
        AttentionGradients g = pass.backward(in.r());
        List<INDArray> all = new ArrayList<>(List.of(pass.output(), pass.weights(), g.input()));
        all.addAll(g.parameters().values());
        all.add(mha.apply(in.query(), in.mask()).output());
        return all;
    }

    @Test
    void aWrongOutputGradientIsRefusedByName() {
        MultiHeadAttention mha = MultiHeadAttention.create(AttentionConfig.of(8, 2), DataType.FLOAT);
        INDArray x = Nd4j.randn(DataType.FLOAT, 2, 3, 8);
        AttentionPass pass = mha.train(x, x, x, AttentionMask.none());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> pass.backward(Nd4j.randn(DataType.FLOAT, 2, 4, 8)));
        assertTrue(e.getMessage().contains("gradOutput [B=2, Tq=3, dModel=8] has shape [2, 4, 8]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> pass.backward(Nd4j.randn(DataType.DOUBLE, 2, 3, 8)));
        assertTrue(e.getMessage().contains("gradOutput is DOUBLE but the layer's parameters are FLOAT"), e.getMessage());
    }

    /** A closed pass keeps its output and weights (what apply returns) and refuses a backward. */
    @Test
    void closedPassKeepsItsResultsAndRefusesBackward() {
        MultiHeadAttention mha = MultiHeadAttention.create(AttentionConfig.of(8, 2), DataType.DOUBLE);
        INDArray x = Nd4j.randn(DataType.DOUBLE, 2, 3, 8);
        AttentionPass pass = mha.train(x, x, x, AttentionMask.causalOnly());
        pass.close();
        AttentionOutput<INDArray> applied = mha.apply(x, AttentionMask.causalOnly());
        assertSameBits("closed pass output", applied.output(), pass.output());
        assertSameBits("closed pass weights", applied.weights(), pass.weights());
        assertThrows(IllegalStateException.class,
                () -> pass.backward(Nd4j.ones(DataType.DOUBLE, 2, 3, 8)));
    }
}
