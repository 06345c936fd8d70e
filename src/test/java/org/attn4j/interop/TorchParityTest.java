package org.attn4j.interop;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.attn4j.testing.ParityFixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * attn4j against PyTorch 1.13 on the cases written by src/test/python/gen_parity_fixtures.py:
 * outputs, attention weights and gradients, float64 to 1e-12 and float32 to 1e-4 relative.
 */
class TorchParityTest {
    static final Path FIXTURES = ParityFixtures.DIR;

    static List<Path> cases() throws IOException {
        return ParityFixtures.cases(".*\\.json");
    }

    @Test
    void everyKindAndPrecisionIsCovered() throws IOException {
        List<String> names = cases().stream().map(p -> p.getFileName().toString()).toList();
        assertEquals(28, names.size(), "the generator writes 14 cases in two precisions: " + names);
        for (String prefix : List.of("mha_", "enc_", "dec_")) {
            for (String suffix : List.of("_f64.json", "_f32.json")) {
                assertTrue(names.stream().anyMatch(n -> n.startsWith(prefix) && n.endsWith(suffix)), prefix + suffix);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void matchesPyTorch(Path json) {
        ParityCase c = ParityCase.load(json);
        TorchParity.Result r = TorchParity.check(c);
        double tolerance = c.dataType() == DataType.DOUBLE ? 1e-12 : 1e-4;
        assertTrue(r.outputErr() <= tolerance, r.line());
        assertTrue(r.gradErr() <= tolerance, r.line());
        if (c.kind().equals("mha")) {
            assertTrue(r.weightsErr() <= tolerance, r.line());
        }
        assertTrue(r.passed(), r.line());
    }

    @Test
    void aWrongWeightIsCaught() {
        ParityCase c = ParityCase.load(FIXTURES.resolve("enc_pre_gelu_f64.json"));
        INDArray w = c.arrays().get("param/linear2.bias");
        w.putScalar(0, w.getDouble(0) + 1e-6);
        TorchParity.Result r = TorchParity.check(c);
        assertFalse(r.passed(), r.line());
        assertTrue(r.line().startsWith("FAIL enc_pre_gelu_f64"), r.line());
    }

    @Test
    void aMissingEntryIsNamed(@TempDir Path dir) throws IOException {
        Path json = dir.resolve("broken.json");
        Files.writeString(json, "{\"kind\": \"mha\", \"nhead\": 2}");
        Files.copy(FIXTURES.resolve("mha_self_f64.npz"), dir.resolve("broken.npz"));
        ParityCase.FormatException e = assertThrows(ParityCase.FormatException.class,
                () -> TorchParity.check(ParityCase.load(json)));
        assertTrue(e.getMessage().contains("'d_model' is missing"), e.getMessage());
    }

    @Test
    void aMissingArrayFileIsNamed(@TempDir Path dir) throws IOException {
        Path json = dir.resolve("lonely.json");
        Files.copy(FIXTURES.resolve("mha_self_f64.json"), json);
        ParityCase.FormatException e = assertThrows(ParityCase.FormatException.class, () -> ParityCase.load(json));
        assertTrue(e.getMessage().contains("lonely.npz is missing"), e.getMessage());
    }

    @Test
    void anUnknownKindIsNamed(@TempDir Path dir) throws IOException {
        Path json = dir.resolve("odd.json");
        Files.writeString(json, "{\"kind\": \"lstm\", \"d_model\": 8, \"nhead\": 2}");
        Files.copy(FIXTURES.resolve("mha_self_f64.npz"), dir.resolve("odd.npz"));
        ParityCase.FormatException e = assertThrows(ParityCase.FormatException.class,
                () -> TorchParity.check(ParityCase.load(json)));
        assertTrue(e.getMessage().contains("kind 'lstm'"), e.getMessage());
    }

    @Test
    void parametersThatDoNotFitTheConfigurationAreNamed(@TempDir Path dir) throws IOException {
        Path json = dir.resolve("nobias.json");
        Files.writeString(json, Files.readString(FIXTURES.resolve("mha_self_f64.json")).replace("\"bias\": true",
                "\"bias\": false"));
        Files.copy(FIXTURES.resolve("mha_self_f64.npz"), dir.resolve("nobias.npz"));
        ParityCase.FormatException e = assertThrows(ParityCase.FormatException.class,
                () -> TorchParity.check(ParityCase.load(json)));
        assertTrue(e.getMessage().contains("unexpected [k.bias, out.bias, q.bias, v.bias]"), e.getMessage());
    }

    @Test
    void torchNamesSplitTheFusedProjection() {
        INDArray fused = org.nd4j.linalg.factory.Nd4j.arange(0, 24).reshape(6, 4).castTo(DataType.DOUBLE);
        Map<String, INDArray> m = TorchNames.toAttn4j(Map.of("multihead_attn.in_proj_weight", fused), "block0");
        assertEquals(List.of("block0.cross_attn.q.weight", "block0.cross_attn.k.weight", "block0.cross_attn.v.weight"),
                List.copyOf(m.keySet()));
        assertEquals(8.0, m.get("block0.cross_attn.k.weight").getDouble(0, 0), "row 2 of the fused matrix starts K");
        assertEquals(Map.of("ff.linear1.weight", fused).keySet(),
                TorchNames.toAttn4j(Map.of("linear1.weight", fused), "").keySet());
    }

    @Test
    void theToolPrintsALinePerCaseAndFailsIfAnyFails(@TempDir Path dir) throws IOException {
        for (String ext : List.of(".json", ".npz")) {
            Files.copy(FIXTURES.resolve("mha_causal_f32" + ext), dir.resolve("good" + ext));
        }
        Files.writeString(dir.resolve("bad.json"), "{\"kind\": \"mha\", \"d_model\": 8, \"nhead\": 2}");
        Files.copy(FIXTURES.resolve("enc_pre_gelu_f64.npz"), dir.resolve("bad.npz"));
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        int code = TorchParity.run(new String[] {dir.toString()}, new java.io.PrintStream(bytes, true));
        String out = bytes.toString();
        assertEquals(1, code, out);
        assertTrue(out.contains("FAIL " + dir.resolve("bad.json") + ": bad.npz: required entry 'in/query' is missing"), out);
        assertTrue(out.contains("PASS good output_err="), out);
        assertTrue(out.endsWith("1 passed, 1 failed" + System.lineSeparator()), out);
        assertEquals(0, TorchParity.run(new String[] {dir.resolve("good.json").toString()},
                new java.io.PrintStream(new java.io.ByteArrayOutputStream())));
    }

    @Test
    void inputsThatDoNotFitTheConfigurationAreNamed(@TempDir Path dir) throws IOException {
        Path json = dir.resolve("narrow.json");
        Files.writeString(json, Files.readString(FIXTURES.resolve("mha_cross_kvdim_f64.json"))
                .replace("\"kdim\": 6", "\"kdim\": 7"));
        Files.copy(FIXTURES.resolve("mha_cross_kvdim_f64.npz"), dir.resolve("narrow.npz"));
        ParityCase.FormatException e = assertThrows(ParityCase.FormatException.class,
                () -> TorchParity.check(ParityCase.load(json)));
        assertTrue(e.getMessage().contains("'in/key' has shape [2, 5, 6]; expected [B, T, 7]"), e.getMessage());
    }
}
