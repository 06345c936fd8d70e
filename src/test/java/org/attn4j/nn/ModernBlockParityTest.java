package org.attn4j.nn;

import org.attn4j.samediff.TransformerBlockGraph;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.attn4j.engine.BlockEngine;
import org.attn4j.engine.BlockState;
import org.attn4j.interop.ParityCase;
import org.attn4j.config.Activation;
import org.attn4j.config.AttentionMask;
import org.attn4j.samediff.Gradients;
import org.attn4j.config.BlockConfig;
import org.attn4j.config.Normalization;
import org.attn4j.nn.TransformerBlock;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.attn4j.kernels.Parallel;

/**
 * RMSNorm, grouped- and multi-query attention, ALiBi, sliding windows and the current-style block against
 * PyTorch on the committed cases of src/test/python/gen_modern_fixtures.py: the engine ({@link BlockEngine}) and
 * the SameDiff graph ({@code TransformerBlock.forward}, gradients by SameDiff's autodiff) each give the output
 * and the gradients of sum(output * grad_output) for x and every parameter, relative to each reference
 * tensor's largest value, within 1e-12 in float64 and 1e-4 in float32.
 */
class ModernBlockParityTest {
    private static final Path DIR = Path.of("src/test/resources/modern_parity");

    static List<Path> cases() throws IOException {
        try (var files = java.nio.file.Files.list(DIR)) {
            return files.filter(f -> f.toString().endsWith(".json")).sorted().toList();
        }
    }

    static BlockConfig config(ParityCase c) {
        return BlockConfig.encoder(c.integer("d_model"), c.integer("heads"), c.integer("ff_dim"))
                .withActivation(Activation.parse(c.string("activation"))).withNormFirst(c.flag("norm_first", true))
                .withCausal(c.flag("causal", false)).withEps(c.number("eps", 1e-5)).withBias(c.flag("bias", true))
                .withRotary(c.flag("rotary", false)).withNorm(Normalization.parse(c.string("norm")))
                .withKvHeads(c.integer("kv_heads")).withAlibi(c.flag("alibi", false))
                .withWindow((int) c.number("window", 0)); // 0: no window
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void engineMatchesPyTorch(Path json) {
        ParityCase c = ParityCase.load(json);
        DataType type = c.dataType();
        TransformerBlock block = TransformerBlock.create(config(c), type);
        block.loadParameters(c.group("param"));
        INDArray x = c.array("in/x", 3).castTo(type);
        AttentionMask<INDArray> mask = c.has("in/keep") ? AttentionMask.ofPadding(c.array("in/keep", 2).castTo(type))
                : AttentionMask.none();
        BlockEngine fast = BlockEngine.of(block.config(), block.weights(), new Parallel(2));
        BlockState state = fast.newState();
        List<String> report = new ArrayList<>();
        double worst = err("output", fast.forward(state, x, mask).output(), c.array("out/output", 3), report);
        INDArray dx = fast.backward(state, c.array("in/grad_output", 3).castTo(type));
        worst = Math.max(worst, compareGradients(c, dx, state.gradients(), report));
        check(c, type, worst, report);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void sameDiffMatchesPyTorch(Path json) {
        ParityCase c = ParityCase.load(json);
        DataType type = c.dataType();
        SameDiff sd = SameDiff.create();
        TransformerBlock block = new TransformerBlock("", config(c), type);
        block.loadParameters(c.group("param"));
        SDVariable x = sd.var("x", c.array("in/x", 3).castTo(type));
        AttentionMask<SDVariable> mask = c.has("in/keep")
                ? AttentionMask.ofPadding(sd.constant(c.array("in/keep", 2).castTo(type))) : AttentionMask.none();
        SDVariable out = new TransformerBlockGraph(sd, block).forward(x, mask).output();
        sd.setLossVariables(out.mul(sd.constant(c.array("in/grad_output", 3).castTo(type))).sum());
        List<String> report = new ArrayList<>();
        double worst = err("output", sd.output(Map.of(), out.name()).get(out.name()), c.array("out/output", 3), report);
        List<String> names = new ArrayList<>(block.parameters().keySet());
        names.add("x");
        Map<String, INDArray> g = new LinkedHashMap<>(Gradients.of(sd, Map.of(), names.toArray(String[]::new)));
        worst = Math.max(worst, compareGradients(c, g.remove("x"), g, report));
        check(c, type, worst, report);
    }

    private static double compareGradients(ParityCase c, INDArray dx, Map<String, INDArray> grads,
            List<String> report) {
        double worst = 0;
        for (Map.Entry<String, INDArray> e : c.group("grad").entrySet()) {
            INDArray actual = e.getKey().equals("x") ? dx : grads.get(e.getKey());
            assertTrue(actual != null, c.name() + ": no gradient for " + e.getKey() + " among " + grads.keySet());
            // The key bias adds q . b_k to every score of a row, which the softmax ignores: its gradient is zero
            // but for rounding, so it is measured against the scale of the key weight's gradient.
            INDArray scale = e.getKey().equals("self_attn.k.bias") ? c.array("grad/self_attn.k.weight", 2) : e.getValue();
            worst = Math.max(worst, err("grad/" + e.getKey(), actual, e.getValue(), scale, report));
        }
        assertTrue(grads.keySet().equals(c.group("param").keySet()), c.name() + ": parameters " + grads.keySet()
                + ", PyTorch's " + c.group("param").keySet());
        return worst;
    }

    private static void check(ParityCase c, DataType type, double worst, List<String> report) {
        double tolerance = type == DataType.DOUBLE ? 1e-12 : 1e-4;
        System.out.printf(java.util.Locale.ROOT, "%s: worst relative difference %.1e of %d tensors%n", c.name(), worst,
                report.size());
        assertTrue(worst <= tolerance, c.name() + " worst " + worst + " > " + tolerance + ": " + report);
        assertTrue(report.size() == 2 + c.group("param").size(), "output, x and every parameter compared: " + report);
    }

    private static double err(String what, INDArray actual, INDArray expected, List<String> report) {
        return err(what, actual, expected, expected, report);
    }

    /** Largest |actual - expected| relative to the largest |scale|. */
    private static double err(String what, INDArray actual, INDArray expected, INDArray scaleOf, List<String> report) {
        INDArray e = expected.castTo(DataType.DOUBLE);
        assertTrue(java.util.Arrays.equals(actual.shape(), e.shape()), what + " shape " + java.util.Arrays.toString(
                actual.shape()) + ", expected " + java.util.Arrays.toString(e.shape()));
        double scale = Math.max(scaleOf.castTo(DataType.DOUBLE).amaxNumber().doubleValue(), 1e-12);
        double err = actual.castTo(DataType.DOUBLE).sub(e).amaxNumber().doubleValue() / scale;
        report.add(String.format(java.util.Locale.ROOT, "%s=%.1e", what, err));
        return Double.isNaN(err) ? Double.POSITIVE_INFINITY : err;
    }
}
