package org.attn4j.interop;

import static org.attn4j.testing.Exact.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.attn4j.config.AttentionMask;
import org.attn4j.config.BlockConfig;
import org.attn4j.io.Npz;
import org.attn4j.nn.TransformerBlock;
import org.attn4j.testing.FixtureTools;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** attn4j weights exported under PyTorch's names: back to exactly PyTorch's state_dicts. */
class TorchExportTest {
    @Test
    void everyFixtureRoundTripsToItsStateDict() throws Exception {
        for (Path json : TorchParityTest.cases()) {
            ParityCase c = ParityCase.load(json);
            Map<String, INDArray> torch = c.group("param");
            Map<String, INDArray> back = TorchNames.toTorch(TorchNames.toAttn4j(torch, ""));
            assertEquals(new java.util.TreeSet<>(torch.keySet()), new java.util.TreeSet<>(back.keySet()), c.name());
            torch.forEach((k, v) -> assertSameBits(c.name() + " " + k, v, back.get(k)));
        }
    }

    /**
     * Writes target/torch-export/encoder_layer_weights.npz and encoder_layer_io.npz: an attn4j block's weights under
     * PyTorch names, and an input with attn4j's output, for src/test/python/check_torch_export.py by hand.
     */
    @Test
    void exportsABlockForPyTorch() throws Exception {
        Map<String, INDArray> exported = export(Files.createDirectories(Path.of("target/torch-export")));
        assertTrue(exported.containsKey("self_attn.in_proj_weight") && exported.containsKey("linear1.weight")
                && exported.containsKey("norm2.bias"), exported.keySet().toString());
        assertEquals(12, exported.size(), "TransformerEncoderLayer's 12 state_dict entries");
    }

    /** PyTorch loads the export with strict=True and computes attn4j's output to 1e-12 of its scale. */
    @Test
    void pyTorchLoadsTheExportAndComputesTheSameOutput(@TempDir Path dir) throws Exception {
        FixtureTools.requirePython("torch");
        export(dir);
        FixtureTools.Result r = FixtureTools.python(List.of("src/test/python/check_torch_export.py", dir.toString()));
        System.out.print("check_torch_export.py: " + r.output());
        assertEquals(0, r.status(), r.output());
        assertTrue(r.output().strip().endsWith("PASS"), r.output());
    }

    private static Map<String, INDArray> export(Path dir) throws Exception {
        Nd4j.getRandom().setSeed(9);
        TransformerBlock block = TransformerBlock.create(BlockConfig.encoder(8, 2, 16), DataType.DOUBLE);
        Path weights = dir.resolve("encoder_layer_weights.npz");
        TorchNames.exportNpz(block, weights);
        INDArray x = Nd4j.randn(DataType.DOUBLE, 2, 3, 8);
        try (var out = Files.newOutputStream(dir.resolve("encoder_layer_io.npz"))) {
            Npz.write(Map.of("src", x, "output", block.apply(x, AttentionMask.none()).output()), out);
        }
        return Npz.read(weights);
    }
}
