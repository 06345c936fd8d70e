package org.attn4j.io;

import static org.attn4j.testing.Exact.assertSameBits;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.attn4j.testing.CraftedFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The npz reader against files numpy itself wrote (src/test/python/gen_npz_fixtures.py), and crafted headers. */
class NpzTest {
    static final Path DIR = Path.of("src/test/resources/npz");

    @Test
    void readsWhatNumpyWritesAsNumpyReadsIt() throws IOException {
        Map<String, INDArray> got = Npz.read(DIR.resolve("supported.npz"));
        JsonObject entries = JsonParser.parseString(Files.readString(DIR.resolve("supported.json"))).getAsJsonObject()
                .getAsJsonObject("entries");
        assertEquals(new ArrayList<>(entries.keySet()), new ArrayList<>(got.keySet()));
        for (String name : entries.keySet()) {
            JsonObject e = entries.getAsJsonObject(name);
            INDArray a = got.get(name);
            String numpyType = e.get("dtype").getAsString();
            assertEquals(type(numpyType.substring(1)), a.dataType(), name + " " + numpyType);
            List<Long> shape = new ArrayList<>();
            e.getAsJsonArray("shape").forEach(d -> shape.add(d.getAsLong()));
            assertEquals(shape.toString(), java.util.Arrays.toString(a.shape()), name);
            assertEquals('c', a.ordering(), name);
            List<JsonElement> values = e.getAsJsonArray("values").asList();
            INDArray flat = a.dup('c').reshape(a.length());
            for (int i = 0; i < values.size(); i++) {
                if (a.dataType() == DataType.LONG) {
                    assertEquals(Long.parseLong(values.get(i).getAsString()), flat.getLong(i), name + "[" + i + "]");
                } else {
                    assertEquals(values.get(i).getAsDouble(), flat.castTo(DataType.DOUBLE).getDouble(i), 0.0,
                            name + "[" + i + "]");
                }
            }
        }
        assertEquals("[]", java.util.Arrays.toString(got.get("scalar_f64").shape()), "a numpy scalar is 0-d");
        assertEquals(2.5, got.get("scalar_f64").getDouble(), 0.0);
    }

    private static DataType type(String kindAndWidth) {
        return switch (kindAndWidth) {
            case "f2" -> DataType.HALF;
            case "f4" -> DataType.FLOAT;
            case "f8" -> DataType.DOUBLE;
            case "i1" -> DataType.BYTE;
            case "i2" -> DataType.SHORT;
            case "i4" -> DataType.INT;
            case "i8" -> DataType.LONG;
            case "u1" -> DataType.UBYTE;
            case "b1" -> DataType.BOOL;
            default -> throw new AssertionError(kindAndWidth);
        };
    }

    @Test
    void unsupportedDtypesNameTheEntryAndTheDtype() {
        Map<String, String> expected = new LinkedHashMap<>();
        expected.put("uint16", "has dtype '<u2'");
        expected.put("uint32", "has dtype '<u4'");
        expected.put("complex64", "has dtype '<c8'");
        expected.put("string", "has dtype '<U3'");
        expected.put("structured", "has a structured or unknown dtype");
        expected.forEach((entry, says) -> expect(DIR.resolve("unsupported_" + entry + ".npz"),
                "entry '" + entry + ".npy' " + says, "supported: " + Npy.SUPPORTED));
        expect(DIR.resolve("compressed.npz"), "entry 'x.npy' is compressed; save with np.savez");
    }

    @Test
    void roundTripsWhatItWrites() throws IOException {
        Map<String, INDArray> arrays = new LinkedHashMap<>();
        arrays.put("a", Nd4j.linspace(DataType.FLOAT, 1, 6, 1).reshape(2, 3));
        arrays.put("b", Nd4j.linspace(DataType.DOUBLE, -1, 4, 1).reshape(2, 2, 1).permute(2, 1, 0)); // a view
        arrays.put("c", Nd4j.createFromArray(3, 1, 4));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Npz.write(arrays, bytes);
        Path f = Files.createTempFile("roundtrip", ".npz");
        try {
            Files.write(f, bytes.toByteArray());
            Map<String, INDArray> back = Npz.read(f);
            assertEquals(arrays.keySet(), back.keySet());
            arrays.forEach((k, v) -> assertSameBits(k, v, back.get(k)));
        } finally {
            Files.delete(f);
        }
    }

    @Test
    void craftedHeadersAreRefusedWithTheEntryNamed(@TempDir Path dir) throws IOException {
        byte[] six = new byte[24];
        String f4 = "<f4";
        Map<String, String[]> cases = new LinkedHashMap<>(); // header shape -> fragments of the message
        cases.put("4611686018427387904, 4", new String[] {"[4611686018427387904, 4]", "more than 2^63 bytes"});
        cases.put("2147483648, 2147483648", new String[] {"[2147483648, 2147483648]) needs more than 2^63 bytes; the entry holds 24"});
        cases.put("2, 4", new String[] {"(<f4 [2, 4]) needs 32 bytes of data, the entry holds 24"});
        cases.put("5,", new String[] {"needs 20 bytes of data, the entry holds 24"});
        cases.put("", new String[] {"(<f4 []) needs 4 bytes"});
        cases.put("-6,", new String[] {"has shape (-6,), not non-negative integers"});
        cases.put("99999999999999999999,", new String[] {"not non-negative integers"});
        cases.put("0, 6", new String[] {"needs 0 bytes of data, the entry holds 24"});
        for (Map.Entry<String, String[]> c : cases.entrySet()) {
            Path f = write(dir, Map.of("w", CraftedFiles.npy(CraftedFiles.header(f4, false, c.getKey()), six)));
            List<String> fragments = new ArrayList<>(List.of(c.getValue()));
            fragments.add(0, "entry 'w.npy'");
            expect(f, fragments.toArray(String[]::new));
        }
        expect(write(dir, Map.of("w", CraftedFiles.npy("{'descr': '<f4', 'shape': (6,), }", six))),
                "entry 'w.npy' npy header is not {'descr'");
        byte[] v9 = CraftedFiles.npy(CraftedFiles.header(f4, false, "6,"), six);
        v9[6] = 9;
        expect(write(dir, Map.of("w", v9)), "entry 'w.npy' npy version 9.0");
        expect(write(dir, Map.of("w", new byte[] {1, 2, 3})), "entry 'w.npy' not an npy array");
        byte[] longHeader = CraftedFiles.npy(CraftedFiles.header(f4, false, "6,"), six);
        longHeader[8] = (byte) 0xff;
        longHeader[9] = (byte) 0xff;
        expect(write(dir, Map.of("w", longHeader)), "npy header of 65535 bytes does not fit the entry's");
    }

    @Test
    void fortranOrderIsTransposedIntoPlace(@TempDir Path dir) throws IOException {
        // Column-major [2, 3] holding 0..5 in memory order: element (i, j) is 2 j + i.
        java.nio.ByteBuffer data = java.nio.ByteBuffer.allocate(24).order(java.nio.ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 6; i++) {
            data.putFloat(i);
        }
        Path f = write(dir, Map.of("f", CraftedFiles.npy(CraftedFiles.header("<f4", true, "2, 3"), data.array())));
        INDArray a = Npz.read(f).get("f");
        assertArrayEquals(new float[][] {{0, 2, 4}, {1, 3, 5}}, a.toFloatMatrix());
        assertEquals('c', a.ordering());
    }

    private static int files;

    private static Path write(Path dir, Map<String, byte[]> entries) throws IOException {
        return Files.write(dir.resolve("crafted-" + files++ + ".npz"), CraftedFiles.npz(new LinkedHashMap<>(entries)));
    }

    private static void expect(Path f, String... fragments) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Npz.read(f));
        assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), "'" + e.getMessage() + "' should say '" + fragment + "'");
        }
    }
}
