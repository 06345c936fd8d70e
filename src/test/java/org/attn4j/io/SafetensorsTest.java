package org.attn4j.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.attn4j.interop.TorchNames;
import org.attn4j.nn.Activation;
import org.attn4j.nn.AttentionMask;
import org.attn4j.nn.TransformerBlock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The safetensors reader against a file written from the format's definition (src/test/python/gen_safetensors_fixture.py). */
class SafetensorsTest {
    static final Path DIR = Path.of("src/test/resources/safetensors");

    @Test
    void readsEveryDtype() {
        Map<String, INDArray> got = Safetensors.read(DIR.resolve("mixed.safetensors"));
        Map<String, INDArray> expected = Npz.read(DIR.resolve("mixed_expected.npz"));
        assertEquals(expected.keySet(), got.keySet());
        for (String k : expected.keySet()) {
            assertEquals(java.util.Arrays.toString(expected.get(k).shape()), java.util.Arrays.toString(got.get(k).shape()),
                    k);
            org.junit.jupiter.api.Assertions.assertArrayEquals(
                    expected.get(k).castTo(DataType.DOUBLE).reshape(-1).toDoubleVector(),
                    got.get(k).castTo(DataType.DOUBLE).reshape(-1).toDoubleVector(), 0.0, k);
        }
    }

    @Test
    void aPyTorchEncoderLayerLoadsFromSafetensors() {
        TransformerBlock block = TransformerBlock.create(TransformerBlock.Config.encoder(8, 2, 16)
                .withActivation(Activation.RELU), DataType.DOUBLE);
        block.loadParameters(TorchNames.toAttn4j(Safetensors.read(DIR.resolve("encoder_layer.safetensors")), ""));
        Map<String, INDArray> io = Npz.read(DIR.resolve("encoder_layer_io.npz"));
        INDArray out = block.apply(io.get("src"), AttentionMask.none()).output();
        assertTrue(out.equalsWithEps(io.get("output"), 1e-12), "max diff " + out.sub(io.get("output")).amaxNumber());
    }

    @Test
    void damagedFilesAreNamed(@TempDir Path dir) throws IOException {
        byte[] good = Files.readAllBytes(DIR.resolve("mixed.safetensors"));
        Path f = dir.resolve("x.safetensors");
        Files.write(f, java.util.Arrays.copyOf(good, 5));
        expect(f, "shorter than the 8-byte header length");
        Files.write(f, java.util.Arrays.copyOf(good, 40));
        expect(f, "does not fit a file of 40 bytes");
        Files.write(f, java.util.Arrays.copyOf(good, good.length - 3));
        expect(f, "data_offsets");
        byte[] header = good.clone();
        header[8] = '[';
        Files.write(f, header);
        expect(f, "not a JSON object");
    }

    private static void expect(Path f, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Safetensors.read(f));
        assertTrue(e.getMessage().startsWith(f.toString()) && e.getMessage().contains(fragment), e.getMessage());
    }
}
