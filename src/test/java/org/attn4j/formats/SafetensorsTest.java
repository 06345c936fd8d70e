package org.attn4j.formats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.attn4j.io.Npz;
import org.attn4j.config.Activation;
import org.attn4j.config.AttentionMask;
import org.attn4j.config.BlockConfig;
import org.attn4j.interop.TorchNames;
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
            // The generator's np.ascontiguousarray made the 0-d "scalar" [1] in the npz; the safetensors file keeps [].
            String shape = k.equals("scalar") ? "[]" : java.util.Arrays.toString(expected.get(k).shape());
            assertEquals(shape, java.util.Arrays.toString(got.get(k).shape()), k);
            org.junit.jupiter.api.Assertions.assertArrayEquals(
                    expected.get(k).castTo(DataType.DOUBLE).reshape(-1).toDoubleVector(),
                    got.get(k).castTo(DataType.DOUBLE).reshape(-1).toDoubleVector(), 0.0, k);
        }
    }

    @Test
    void aPyTorchEncoderLayerLoadsFromSafetensors() {
        TransformerBlock block = TransformerBlock.create(BlockConfig.encoder(8, 2, 16)
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

    @Test
    void craftedHeadersAreRefusedBeforeAnythingIsRead(@TempDir Path dir) throws IOException {
        Map<String, String> refused = new java.util.LinkedHashMap<>(); // header -> what the message says
        refused.put("{\"a\":{\"dtype\":\"F32\",\"shape\":[2147483648,2147483648],\"data_offsets\":[0,0]}}",
                "tensor 'a' (F32 [2147483648, 2147483648], data_offsets [0, 0]) would need more than 2^63 bytes");
        refused.put("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,0]}}",
                "tensor 'a' (F32 [4611686018427387904, 4], data_offsets [0, 0]) would need more than 2^63 bytes");
        refused.put("{\"a\":{\"dtype\":\"F16\",\"shape\":[2147483648,2147483648],\"data_offsets\":[0,12]}}",
                "would need more than 2^63 bytes; the data hold 12");
        refused.put("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,12]}}",
                "tensor 'a' (F32 [2], data_offsets [0, 12]) needs 8 bytes at offsets within [0, 12]; data_offsets hold 12");
        refused.put("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
                "tensor 'b' (F32 [2], data_offsets [4, 12]) overlaps tensor 'a' (F32 [2], data_offsets [0, 8]): "
                        + "expected it to begin at 8");
        refused.put("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}}", "overlaps tensor '");
        refused.put("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
                "tensor 'b' (F32 [1], data_offsets [8, 12]) leaves a hole after tensor 'a'");
        refused.put("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]},"
                + "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
                "leaves a hole after the start of the data");
        refused.put("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
                "the tensors' data end at byte 8 but the file holds 12 bytes of data");
        refused.put("{\"a\":{\"dtype\":\"F32\",\"shape\":[-3],\"data_offsets\":[0,12]}}", "has a negative dimension");
        refused.put("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[12,0]}}", "data_offsets [12, 0]");
        refused.put("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0]}}", "data_offsets has 1 numbers, not 2");
        refused.put("{\"a\":{\"dtype\":\"U16\",\"shape\":[6],\"data_offsets\":[0,12]}}", "tensor 'a' has dtype U16");
        Path f = dir.resolve("crafted.safetensors");
        for (Map.Entry<String, String> c : refused.entrySet()) {
            Files.write(f, org.attn4j.testing.CraftedFiles.safetensors(c.getKey(), new byte[12]));
            expect(f, c.getValue());
        }
        // The specification orders tensors by their offsets, not by the header: these tile the data and load.
        Files.write(f, org.attn4j.testing.CraftedFiles.safetensors("{\"b\":{\"dtype\":\"I32\",\"shape\":[1],"
                + "\"data_offsets\":[8,12]},\"e\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[12,12]},"
                + "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", new byte[12]));
        Map<String, INDArray> read = Safetensors.read(f);
        assertEquals("[1][0, 5][2]", read.values().stream().map(a -> java.util.Arrays.toString(a.shape()))
                .reduce("", String::concat));
    }

    private static void expect(Path f, String fragment) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Safetensors.read(f));
        assertTrue(e.getMessage().startsWith(f.toString()) && e.getMessage().contains(fragment), e.getMessage());
    }
}
