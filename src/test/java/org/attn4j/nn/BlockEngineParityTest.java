package org.attn4j.nn;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.attn4j.config.Activation;
import org.attn4j.config.AttentionMask;
import org.attn4j.config.BlockConfig;
import org.attn4j.engine.BlockEngine;
import org.attn4j.engine.BlockState;
import org.attn4j.interop.ParityCase;
import org.attn4j.interop.TorchNames;
import org.attn4j.kernels.Parallel;
import org.attn4j.nn.TransformerBlock;
import org.attn4j.testing.ParityFixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The engine's block against PyTorch 1.13's {@code TransformerEncoderLayer} and {@code
 * TransformerDecoderLayer} on the committed cases of src/test/python/gen_parity_fixtures.py (pre/post-LN,
 * GELU/ReLU, key padding of target and memory, causal): output and the gradients of sum(output *
 * grad_output) for every parameter, the input and the memory, relative to each
 * reference tensor's largest value, within 1e-12 in float64 and 1e-4 in float32 (TorchParityTest's bounds).
 */
class BlockEngineParityTest {
    static List<Path> blockCases() throws IOException {
        return ParityFixtures.cases("(enc|dec)_.*\\.json");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("blockCases")
    void matchesPyTorch(Path json) {
        ParityCase c = ParityCase.load(json);
        DataType type = c.dataType();
        int d = c.integer("d_model");
        boolean decoder = c.string("kind", "").equals("decoder_layer");
        String in = decoder ? "tgt" : "src";
        TransformerBlock block = TransformerBlock.create(BlockConfig.encoder(d, c.integer("nhead"),
                c.integer("dim_feedforward")).withCrossAttention(decoder)
                .withActivation(Activation.parse(c.string("activation", "relu")))
                .withNormFirst(c.flag("norm_first", false))
                .withEps(c.number("layer_norm_eps", 1e-5)), type);
        block.loadParameters(TorchNames.toAttn4j(c.group("param"), ""));
        INDArray src = c.array("in/" + in, 3).castTo(type);
        AttentionMask<INDArray> mask = c.has("in/" + in + "_key_padding_mask")
                ? AttentionMask.ofPadding(c.array("in/" + in + "_key_padding_mask", 2).castTo(type).rsub(1.0))
                : AttentionMask.none();
        INDArray memory = decoder ? c.array("in/memory", 3).castTo(type) : null;
        INDArray memoryKeep = decoder && c.has("in/memory_key_padding_mask")
                ? c.array("in/memory_key_padding_mask", 2).castTo(type).rsub(1.0) : null;
        if (c.flag("causal", false)) {
            mask = mask.withCausal();
        }
        BlockEngine fast = BlockEngine.of(block.config(), block.weights(), new Parallel(2));
        BlockState state = fast.newState();
        double tolerance = type == DataType.DOUBLE ? 1e-12 : 1e-4;
        List<String> report = new ArrayList<>();
        double worst = err("output", fast.forward(state, src, mask, memory, memoryKeep).output(),
                c.array("out/output", 3), report);
        INDArray dx = fast.backward(state, c.array("in/grad_output", 3).castTo(type));
        for (Map.Entry<String, INDArray> e : c.group("grad").entrySet()) {
            INDArray actual;
            if (e.getKey().equals(in)) {
                actual = dx;
            } else if (e.getKey().equals("memory")) {
                actual = state.memoryGradient();
            } else { // in_proj_* are q, k and v joined: compare them joined, as TorchParity does
                INDArray[] parts = TorchNames.toAttn4j(Map.of(e.getKey(), e.getValue()), "").keySet().stream()
                        .map(state.gradients()::get).toArray(INDArray[]::new);
                actual = parts.length == 1 ? parts[0] : Nd4j.concat(0, parts);
            }
            worst = Math.max(worst, err("grad/" + e.getKey(), actual, e.getValue(), report));
        }
        assertTrue(worst <= tolerance, c.name() + " worst " + worst + " > " + tolerance + ": " + report);
        assertTrue(report.size() >= (decoder ? 20 : 13), "output, input (and memory) and every parameter gradient "
                + "compared: " + report);
    }

    private static double err(String what, INDArray actual, INDArray expected, List<String> report) {
        INDArray e = expected.castTo(DataType.DOUBLE);
        assertTrue(java.util.Arrays.equals(actual.shape(), e.shape()), what + " shape");
        double scale = Math.max(e.amaxNumber().doubleValue(), 1e-12);
        double err = actual.castTo(DataType.DOUBLE).sub(e).amaxNumber().doubleValue() / scale;
        report.add(String.format(java.util.Locale.ROOT, "%s=%.1e", what, err));
        return Double.isNaN(err) ? Double.POSITIVE_INFINITY : err;
    }
}
