package org.attn4j.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.Stream;
import org.attn4j.io.Checkpoint;
import org.attn4j.io.CheckpointException;
import org.attn4j.model.LanguageModel;
import org.attn4j.model.ModelConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.factory.Nd4j;

/**
 * More than 1,000 damaged variants of a real checkpoint: each ends in a CheckpointException with a
 * message naming a file, in bounded time; none crashes, hangs or loads wrong weights.
 */
class DamagedCheckpointTest {
    @Test
    void everyDamagedVariantFailsClearly(@TempDir Path root) throws IOException {
        Nd4j.getRandom().setSeed(1);
        Path good = root.resolve("good");
        Checkpoint.save(good, new LanguageModel(ModelConfig.languageModel(10, 8, 2, 16, 1, 8)), null, null, 3,
                java.util.Map.of());
        assertEquals(3, Checkpoint.load(good).step(), "the undamaged checkpoint loads");
        TreeMap<String, byte[]> files = read(good);
        Random rnd = new Random(7);
        int variants = 0;
        long start = System.nanoTime();
        for (String name : files.keySet()) {
            byte[] bytes = files.get(name);
            for (int i = 0; i < 60; i++) { // truncated at many points, including empty
                variants += check(root, files, name, java.util.Arrays.copyOf(bytes, (int) ((long) bytes.length * i / 60)),
                        "truncate " + name);
            }
            for (int i = 0; i < 200; i++) { // one flipped bit, anywhere
                byte[] b = bytes.clone();
                int at = rnd.nextInt(b.length);
                b[at] ^= (byte) (1 << rnd.nextInt(8));
                variants += check(root, files, name, b, "flip " + name + "@" + at);
            }
            for (int i = 0; i < 20; i++) { // random bytes of random length
                byte[] b = new byte[rnd.nextInt(4096)];
                rnd.nextBytes(b);
                variants += check(root, files, name, b, "random " + name);
            }
            variants += check(root, files, name, null, "remove " + name);
            TreeMap<String, byte[]> renamed = new TreeMap<>(files);
            renamed.put(name + ".renamed", renamed.remove(name));
            variants += checkAll(root, renamed, "rename " + name);
        }
        // Entries inside the npz renamed (same length, so only the checksum can tell).
        String weights = files.keySet().stream().filter(n -> n.endsWith("weights.npz")).findFirst().orElseThrow();
        String text = new String(files.get(weights), StandardCharsets.ISO_8859_1);
        for (String entry : List.of("embedding.weight.npy", "head.weight.npy", "positions.weight.npy")) {
            if (text.contains(entry)) {
                byte[] b = text.replace(entry, entry.replace('e', 'x')).getBytes(StandardCharsets.ISO_8859_1);
                variants += check(root, files, weights, b, "rename entry " + entry);
            }
        }
        // A LATEST that points elsewhere, and an empty directory.
        for (String latest : List.of("", "ckpt-00000003-00000000 " + "0".repeat(64), "../../etc/passwd x", "\u0000\u0001")) {
            TreeMap<String, byte[]> f = new TreeMap<>(files);
            f.put(Checkpoint.LATEST, latest.getBytes(StandardCharsets.UTF_8));
            variants += checkAll(root, f, "latest '" + latest + "'");
        }
        variants += checkAll(root, new TreeMap<>(), "empty directory");
        double seconds = (System.nanoTime() - start) / 1e9;
        assertTrue(variants >= 1000, variants + " variants");
        System.out.printf("%d damaged checkpoints, each refused with a clear message, in %.1f s%n", variants, seconds);
    }

    private static TreeMap<String, byte[]> read(Path dir) throws IOException {
        TreeMap<String, byte[]> files = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                files.put(dir.relativize(p).toString(), Files.readAllBytes(p));
            }
        }
        return files;
    }

    private static int check(Path root, TreeMap<String, byte[]> files, String name, byte[] replacement, String what)
            throws IOException {
        TreeMap<String, byte[]> f = new TreeMap<>(files);
        if (replacement == null) {
            f.remove(name);
        } else {
            f.put(name, replacement);
        }
        return checkAll(root, f, what);
    }

    private static int counter;

    private static int checkAll(Path root, TreeMap<String, byte[]> files, String what) throws IOException {
        Path dir = root.resolve("v" + counter++);
        Files.createDirectories(dir);
        for (var e : files.entrySet()) {
            Path p = dir.resolve(e.getKey());
            Files.createDirectories(p.getParent());
            Files.write(p, e.getValue());
        }
        try {
            Checkpoint.load(dir);
            fail(what + ": a damaged checkpoint loaded");
        } catch (CheckpointException e) {
            assertTrue(e.getMessage() != null && e.getMessage().contains(dir.toString()),
                    what + ": the message should name the file: " + e.getMessage());
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
        return 1;
    }
}
