package org.attn4j.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.attn4j.formats.Safetensors;
import org.attn4j.testing.CraftedFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Hundreds of safetensors files with crafted headers (overflowing shapes, shapes their offsets do not
 * hold, overlapping, out-of-order or incomplete ranges): each refused with one message naming the
 * file and the tensor, before any tensor is read. Every untouched file of the same generator loads.
 */
class CraftedSafetensorsTest {
    private static final String[] DTYPES = {"F64", "F32", "F16", "BF16", "I64", "I32"};
    private static final int[] WIDTHS = {8, 4, 2, 2, 8, 4};

    /** One header entry. */
    private record Tensor(String name, String dtype, long[] shape, long begin, long end) {
        String json() {
            return "\"" + name + "\":{\"dtype\":\"" + dtype + "\",\"shape\":" + Arrays.toString(shape).replace(" ", "")
                    + ",\"data_offsets\":[" + begin + "," + end + "]}";
        }

        String describe() {
            return "tensor '" + name + "' (" + dtype + " " + Arrays.toString(shape) + ", data_offsets [" + begin + ", "
                    + end + "])";
        }
    }

    @Test
    void everyCraftedHeaderIsRefusedNamingTheTensor(@TempDir Path dir) throws IOException {
        Random rnd = new Random(22);
        Map<String, Integer> kinds = new TreeMap<>();
        long start = System.nanoTime(), mostUsed = 0;
        int loaded = 0;
        for (int i = 0; i < 600; i++) {
            List<Tensor> tensors = valid(rnd);
            long size = tensors.get(tensors.size() - 1).end();
            Path f = dir.resolve("f" + i + ".safetensors");
            if (i % 10 == 0) { // the generator's files are valid
                Files.write(f, CraftedFiles.safetensors(header(tensors), new byte[(int) size]));
                Map<String, INDArray> read = Safetensors.read(f);
                assertEquals(tensors.size(), read.size());
                loaded++;
            }
            int k = rnd.nextInt(tensors.size());
            Tensor t = tensors.get(k);
            int width = WIDTHS[Arrays.asList(DTYPES).indexOf(t.dtype())];
            String kind;
            Tensor crafted;
            String says;
            long data = size;
            switch (i % 6) {
                case 0 -> { // dimensions whose byte count overflows a long
                    long[] shape = new long[2 + rnd.nextInt(2)];
                    for (int s = 0; s < shape.length; s++) {
                        shape[s] = (1L << (32 + rnd.nextInt(30))) + rnd.nextInt(3);
                    }
                    crafted = new Tensor(t.name(), t.dtype(), shape, t.begin(), t.begin() + rnd.nextInt(3) * width);
                    kind = "overflow";
                    says = crafted.describe() + " would need more than 2^63 bytes";
                }
                case 1 -> { // a shape the offsets do not hold
                    long[] shape = t.shape().clone();
                    shape[0] += 1 + rnd.nextInt(5);
                    crafted = new Tensor(t.name(), t.dtype(), shape, t.begin(), t.end());
                    kind = "shape";
                    says = crafted.describe() + " needs " + Arrays.stream(shape).reduce(1, (a, b) -> a * b) * width
                            + " bytes";
                }
                case 2 -> { // shifted into its neighbour, keeping its length
                    if (tensors.size() < 2 || k == 0) {
                        continue;
                    }
                    long shift = 1 + rnd.nextInt((int) Math.min(t.begin(), 64));
                    crafted = new Tensor(t.name(), t.dtype(), t.shape(), t.begin() - shift, t.end() - shift);
                    kind = "overlap";
                    says = "(?=.*" + Pattern.quote(crafted.describe()) + ").*(overlaps|leaves a hole)";
                }
                case 3 -> { // two tensors claiming the same bytes
                    if (tensors.size() < 2) {
                        continue;
                    }
                    Tensor other = tensors.get((k + 1) % tensors.size());
                    crafted = new Tensor(t.name(), other.dtype(), other.shape(), other.begin(), other.end());
                    kind = "same-range";
                    says = "overlaps|leaves a hole";
                }
                case 4 -> { // offsets reversed
                    if (t.begin() == t.end()) {
                        continue;
                    }
                    crafted = new Tensor(t.name(), t.dtype(), t.shape(), t.end(), t.begin());
                    kind = "reversed";
                    says = Pattern.quote(crafted.describe()) + " needs";
                }
                default -> { // bytes after the last tensor, or the data cut short
                    crafted = t;
                    data = rnd.nextBoolean() ? size + 1 + rnd.nextInt(16) : size - 1 - rnd.nextInt((int) Math.min(size, 8));
                    kind = "data-size";
                    says = data > size ? "the tensors' data end at byte " + size + " but the file holds " + data
                            : "needs \\d+ bytes at offsets within \\[0, " + data + "\\]";
                }
            }
            List<Tensor> changed = new ArrayList<>(tensors);
            changed.set(k, crafted);
            Files.write(f, CraftedFiles.safetensors(header(changed), new byte[(int) Math.max(0, data)]));
            long before = allocated();
            try {
                Safetensors.read(f);
                fail(kind + ": " + header(changed) + " loaded");
            } catch (IllegalArgumentException e) {
                mostUsed = Math.max(mostUsed, allocated() - before);
                assertTrue(e.getMessage().startsWith(f + ": "), e.getMessage());
                assertTrue(Pattern.compile(says.startsWith("tensor '") ? Pattern.quote(says) : says).matcher(e.getMessage())
                        .find(), kind + ": '" + e.getMessage() + "' should match " + says);
                assertEquals(1, e.getMessage().lines().count());
                kinds.merge(kind, 1, Integer::sum);
            }
            Files.delete(f);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        int refused = kinds.values().stream().mapToInt(Integer::intValue).sum();
        assertTrue(refused >= 450, refused + " refused");
        assertTrue(mostUsed < 4 << 20, mostUsed + " bytes allocated while refusing a file of a few kB");
        System.out.printf("%d crafted safetensors headers refused, %d valid files loaded, in %.1f s, each allocating at "
                + "most %.2f MB: %s%n", refused, loaded, seconds, mostUsed / 1e6, kinds);
    }

    /** One to four small tensors laid end to end, as a writer following the specification would. */
    private static List<Tensor> valid(Random rnd) {
        List<Tensor> tensors = new ArrayList<>();
        long offset = 0;
        for (int j = 0, n = 1 + rnd.nextInt(4); j < n; j++) {
            int d = rnd.nextInt(DTYPES.length);
            long[] shape = new long[1 + rnd.nextInt(3)];
            for (int s = 0; s < shape.length; s++) {
                shape[s] = 1 + rnd.nextInt(5);
            }
            long bytes = Arrays.stream(shape).reduce(1, (a, b) -> a * b) * WIDTHS[d];
            tensors.add(new Tensor("t" + j, DTYPES[d], shape, offset, offset + bytes));
            offset += bytes;
        }
        return tensors;
    }

    private static String header(List<Tensor> tensors) {
        return "{" + String.join(",", tensors.stream().map(Tensor::json).toList()) + "}";
    }

    private static long allocated() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }
}
