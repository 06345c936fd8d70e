package org.attn4j.nn;

import static org.attn4j.testing.Exact.assertSameBits;
import org.attn4j.testing.ConcurrentCalls;
import org.attn4j.samediff.FeedForwardGraph;
import org.attn4j.samediff.Gradients;
import org.attn4j.samediff.NormGraph;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;
import java.util.stream.Stream;
import org.attn4j.config.Activation;
import org.attn4j.config.FeedForwardConfig;
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
 * {@link LayerNorm#train}, {@link RMSNorm#train} and {@link FeedForward#train}, the layers' training passes on
 * the engine: input and parameter gradients against central differences in float64 and against SameDiff's
 * autodiff of each layer's own {@code forward} graph (float64 and float32), and one layer trained by four
 * threads at once giving the sequential results.
 */
class NormAndFeedForwardTrainingTest {
    /** A layer (made in a given type) and the shape of its input x; a seeded case drops with DropoutSeed(11, 3). */
    record Case(String name, BiFunction<String, DataType, Module> layer, long[] shape, boolean seeded) {
        @Override
        public String toString() {
            return name;
        }
    }

    private static BiFunction<String, DataType, Module> feedForward(FeedForwardConfig config) {
        return (name, type) -> new FeedForward(name, config, type);
    }

    static Stream<Case> cases() {
        List<Case> all = new ArrayList<>(List.of(
                new Case("LayerNorm [2, 3, 6]", (name, type) -> new LayerNorm(name,
                        new LayerNorm.Config(6, 1e-5), type), new long[] {2, 3, 6}, false),
                new Case("LayerNorm [5, 4], eps 0.1", (name, type) -> new LayerNorm(name,
                        new LayerNorm.Config(4, 0.1), type), new long[] {5, 4}, false),
                new Case("RMSNorm [2, 3, 6]", (name, type) -> new RMSNorm(name,
                        new RMSNorm.Config(6, 1e-6), type), new long[] {2, 3, 6}, false),
                new Case("RMSNorm [2, 1, 2, 5], eps 0.1", (name, type) -> new RMSNorm(name,
                        new RMSNorm.Config(5, 0.1), type), new long[] {2, 1, 2, 5}, false)));
        for (Activation act : Activation.values()) {
            all.add(new Case("FeedForward " + act, feedForward(FeedForwardConfig.of(6, 10, act)),
                    new long[] {2, 3, 6}, false));
        }
        all.add(new Case("FeedForward SWIGLU, no bias", feedForward(new FeedForwardConfig(6, 10, Activation.SWIGLU,
                false, 0)), new long[] {2, 3, 6}, false));
        all.add(new Case("FeedForward GELU, no bias", feedForward(new FeedForwardConfig(6, 10, Activation.GELU, false,
                0)), new long[] {1, 4, 6}, false));
        all.add(new Case("FeedForward SILU, dropout 0.3 (seeded)", feedForward(new FeedForwardConfig(6, 10,
                Activation.SILU, true, 0.3)), new long[] {2, 3, 6}, true));
        all.add(new Case("FeedForward SWIGLU, dropout 0.3 (seeded)", feedForward(new FeedForwardConfig(6, 10,
                Activation.SWIGLU, true, 0.3)), new long[] {2, 3, 6}, true));
        return all.stream();
    }

    /** A training pass of either engine, as the checks read it. */
    private record Pass(INDArray output, java.util.function.Function<INDArray, LayerGradients> backward) {
    }

    private static Pass train(Module layer, INDArray x, DropoutSeed seed) {
        if (layer instanceof LayerNorm n) {
            NormPass p = n.train(x);
            return new Pass(p.output(), p::backward);
        }
        if (layer instanceof RMSNorm n) {
            NormPass p = n.train(x);
            return new Pass(p.output(), p::backward);
        }
        FeedForwardPass p = seed == null ? ((FeedForward) layer).train(x) : ((FeedForward) layer).train(x, seed);
        return new Pass(p.output(), p::backward);
    }

    private static SDVariable forward(Module layer, SDVariable x) {
        return layer instanceof Norm n ? new NormGraph(x.getSameDiff(), n).forward(x)
                : new FeedForwardGraph(x.getSameDiff(), (FeedForward) layer).forward(x);
    }

    /** The case's layer named {@code name} with random parameters of scale 0.5 (gains and biases far from 1 and 0). */
    private static Module layer(Case c, String name, DataType type) {
        Module m = c.layer().apply(name, type);
        m.parameters().values().forEach(v -> v.assign(Nd4j.randn(type, v.shape()).muli(0.5)));
        return m;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradientsMatchCentralDifferences(Case c) {
        Nd4j.getRandom().setSeed(5);
        Module layer = layer(c, "", DataType.DOUBLE);
        INDArray x = Nd4j.randn(DataType.DOUBLE, c.shape()), r = Nd4j.randn(DataType.DOUBLE, c.shape());
        DropoutSeed seed = c.seeded() ? new DropoutSeed(11, 3) : null;
        LayerGradients g = train(layer, x, seed).backward().apply(r);

        Map<String, INDArray> values = new LinkedHashMap<>(), analytic = new LinkedHashMap<>();
        values.put("x", x);
        analytic.put("x", g.input());
        layer.parameters().forEach((name, v) -> values.put(name, v));
        analytic.putAll(g.parameters());
        assertEquals(layer.parameters().keySet(), g.parameters().keySet(), "gradients by the layer's parameter names");
        int n = FiniteDifferences.check(values, analytic,
                () -> train(layer, x, seed).output().mul(r).sumNumber().doubleValue());
        assertTrue(n >= 20, c + ": " + n + " entries checked");
        if (c.seeded()) {
            INDArray undropped = train(layer, x, null).backward().apply(r).input();
            assertTrue(undropped.sub(g.input()).amaxNumber().doubleValue() > 1e-3, "the seed's masks drop something");
        }
    }

    static Stream<Arguments> graphCases() {
        List<Arguments> all = new ArrayList<>();
        for (DataType type : List.of(DataType.DOUBLE, DataType.FLOAT)) {
            cases().filter(c -> !c.seeded()).forEach(c -> all.add(Arguments.of(type, c)));
        }
        return all.stream();
    }

    /** The engine's output and gradients equal SameDiff's of the layer's own graph, loss sum(output * R). */
    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("graphCases")
    void gradientsMatchTheSameDiffGraph(DataType type, Case c) {
        Nd4j.getRandom().setSeed(7);
        Module layer = layer(c, "layer", type); // a named layer: gradients keyed "layer.weight", ...
        INDArray x = Nd4j.randn(type, c.shape()), r = Nd4j.randn(type, c.shape());
        Pass pass = train(layer, x, null);
        LayerGradients g = pass.backward().apply(r);

        SameDiff sd = SameDiff.create();
        SDVariable y = forward(layer, sd.var("in.x", x.dup()));
        sd.setLossVariables(y.mul(sd.constant(r)).sum());
        List<String> names = new ArrayList<>(layer.parameters().keySet());
        names.add("in.x");
        Map<String, INDArray> graph = Gradients.of(sd, Map.of(), names.toArray(String[]::new));
        INDArray output = sd.output(Map.of(), y.name()).get(y.name());

        double tol = type == DataType.DOUBLE ? 1e-10 : 1e-5;
        assertTrue(names.get(0).startsWith("layer."), names.toString());
        assertEquals(layer.parameters().keySet(), g.parameters().keySet());
        BlockEngineTest.assertClose(c + " output", output, pass.output(), tol);
        for (String name : layer.parameters().keySet()) {
            BlockEngineTest.assertClose(c + " d" + name, graph.get(name), g.parameters().get(name), tol);
        }
        BlockEngineTest.assertClose(c + " dx", graph.get("in.x"), g.input(), tol);
    }

    /** Four threads training one layer at once (and running backward twice), 192 calls, get the sequential bits. */
    @Test
    void fourThreadsOnOneLayerGiveTheSequentialResults() throws Exception {
        Nd4j.getRandom().setSeed(9);
        List<Case> layers = cases().filter(c -> c.name().equals("LayerNorm [2, 3, 6]") || c.name().equals("RMSNorm "
                + "[2, 3, 6]") || c.name().startsWith("FeedForward SWIGLU, dropout")).toList();
        assertEquals(3, layers.size());
        for (Case c : layers) {
            Module layer = layer(c, "", DataType.FLOAT);
            DropoutSeed seed = c.seeded() ? new DropoutSeed(4, 1) : null;
            long[] shape = {4, 8, c.shape()[2]}; // 32 rows: the engine's row phases split over its workers too
            List<INDArray[]> inputs = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                inputs.add(new INDArray[] {Nd4j.randn(DataType.FLOAT, shape), Nd4j.randn(DataType.FLOAT, shape)});
            }
            ConcurrentCalls.assertSameAsSequential(c.toString(), 4, 12, inputs,
                    in -> run(layer, in[0], in[1], seed));
        }
    }

    /** Output, dx and every parameter gradient of one pass, then dx again from a second backward of the same pass. */
    private static List<INDArray> run(Module layer, INDArray x, INDArray r, DropoutSeed seed) {
        Pass pass = train(layer, x, seed);
        LayerGradients g = pass.backward().apply(r);
        List<INDArray> all = new ArrayList<>(List.of(pass.output(), g.input()));
        all.addAll(g.parameters().values());
        all.add(pass.backward().apply(r).input());
        return all;
    }

    @Test
    void badInputsAndOutputGradientsAreRefusedByName() {
        LayerNorm norm = LayerNorm.create(LayerNorm.Config.of(6), DataType.FLOAT);
        assertMessage(() -> norm.train(Nd4j.randn(DataType.FLOAT, 2, 5)), "expects input [..., 6], got shape [2, 5]");
        assertMessage(() -> norm.train(Nd4j.randn(DataType.DOUBLE, 2, 6)),
                "x is DOUBLE but the layer's parameters are FLOAT");
        INDArray bad = Nd4j.randn(DataType.FLOAT, 2, 6);
        bad.putScalar(1, 3, Double.NaN);
        assertMessage(() -> norm.train(bad), "x contains 1 NaN or infinite value, the first at [1, 3]");
        assertMessage(() -> norm.apply(bad), "x contains 1 NaN or infinite value, the first at [1, 3]");
        INDArray good = Nd4j.randn(DataType.FLOAT, 2, 6);
        NormPass closedNorm = norm.train(good);
        closedNorm.close();
        assertSameBits("a closed pass keeps its output, apply's", norm.apply(good), closedNorm.output());
        assertThrows(IllegalStateException.class, () -> closedNorm.backward(Nd4j.ones(DataType.FLOAT, 2, 6)));
        FeedForward ffOf6 = FeedForward.create(FeedForwardConfig.of(6, 12, Activation.GELU), DataType.FLOAT);
        assertMessage(() -> ffOf6.apply(bad.reshape(1, 2, 6)), "x contains 1 NaN or infinite value, the first at [0, 1, 3]");
        FeedForwardPass closedFf = ffOf6.train(good.reshape(1, 2, 6));
        closedFf.close();
        assertSameBits("a closed pass keeps its output, apply's", ffOf6.apply(good.reshape(1, 2, 6)), closedFf.output());
        assertThrows(IllegalStateException.class, () -> closedFf.backward(Nd4j.ones(DataType.FLOAT, 1, 2, 6)));
        NormPass np = norm.train(Nd4j.randn(DataType.FLOAT, 2, 3, 6));
        assertMessage(() -> np.backward(Nd4j.randn(DataType.FLOAT, 6, 6)),
                "gradOutput has shape [6, 6], expected the output's [2, 3, 6]");
        assertMessage(() -> np.backward(Nd4j.randn(DataType.DOUBLE, 2, 3, 6)),
                "gradOutput is DOUBLE but the layer's parameters are FLOAT");
        RMSNorm rms = RMSNorm.create(new RMSNorm.Config(6, 1e-6), DataType.DOUBLE);
        assertMessage(() -> rms.train(Nd4j.randn(DataType.DOUBLE, 6, 2)), "expects input [..., 6], got shape [6, 2]");
        assertMessage(() -> rms.train(Nd4j.create(DataType.DOUBLE, 0, 6)),
                "x is empty (shape [0, 6]); expected [..., 6] with every size at least 1");

        FeedForward ff = FeedForward.create(FeedForwardConfig.of(6, 10, Activation.GELU), DataType.FLOAT);
        assertMessage(() -> ff.train(Nd4j.randn(DataType.FLOAT, 3, 6)), "x must be rank 3 [B, T, dModel], got shape [3, 6]");
        assertMessage(() -> ff.train(Nd4j.randn(DataType.FLOAT, 1, 3, 5)), "x [B, T, dModel=6] has shape [1, 3, 5]");
        FeedForwardPass fp = ff.train(Nd4j.randn(DataType.FLOAT, 2, 3, 6));
        assertMessage(() -> fp.backward(Nd4j.randn(DataType.FLOAT, 2, 4, 6)),
                "gradOutput [B=2, T=3, dModel=6] has shape [2, 4, 6]");
        assertMessage(() -> fp.backward(Nd4j.randn(DataType.DOUBLE, 2, 3, 6)),
                "gradOutput is DOUBLE but the layer's parameters are FLOAT");
    }

    private static void assertMessage(org.junit.jupiter.api.function.Executable call, String part) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
        assertTrue(e.getMessage().contains(part), "expected '" + part + "' in: " + e.getMessage());
    }
}
