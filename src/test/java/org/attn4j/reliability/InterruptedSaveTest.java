package org.attn4j.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.attn4j.io.Checkpoint;
import org.attn4j.model.LanguageModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A JVM killed (SIGKILL) in the middle of saving leaves a checkpoint that loads, intact: 6 saver processes, each
 * saving in a loop and killed a random 0-40 ms after its second save, so the kills land at random points of a save
 * (each run new ones: the seed is printed, and {@code -Dattn4j.killSeed=S} repeats a run's delays).
 */
class InterruptedSaveTest {
    @Test
    void killingTheSaverNeverDamagesTheCheckpoint(@TempDir Path dir) throws Exception {
        LanguageModel base = SaveLoop.base();
        long seed = Long.getLong("attn4j.killSeed", System.nanoTime());
        System.out.println("InterruptedSaveTest: kill seed " + seed + " (-Dattn4j.killSeed=" + seed + " repeats it)");
        java.util.Random random = new java.util.Random(seed);
        for (int round = 0; round < 6; round++) {
            long delay = random.nextInt(40);
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                    SaveLoop.class.getName(), dir.toString()).redirectErrorStream(true).start();
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream()));
            String line;
            int saved = 0;
            java.util.Deque<String> tail = new java.util.ArrayDeque<>(); // the child's last lines, for a failure
            while ((line = out.readLine()) != null && saved < 2) {
                tail.addLast(line);
                if (tail.size() > 20) {
                    tail.removeFirst();
                }
                if (line.startsWith("saved ")) {
                    saved = Integer.parseInt(line.substring(6));
                }
            }
            assertTrue(saved >= 2, "the saver process (round with delay " + delay + " ms) ended after " + saved
                    + " saves, exit status " + (line == null ? p.waitFor() : "still running") + "; its last lines:\n"
                    + String.join("\n", tail));
            Thread.sleep(delay);
            p.destroyForcibly(); // SIGKILL: no shutdown hooks, no finally blocks
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));

            Checkpoint.Loaded loaded = Checkpoint.load(dir);
            int k = loaded.step();
            assertTrue(k >= saved, "version " + k + " after seeing " + saved + " (kill seed " + seed + ", round " + round
                    + ", " + delay + " ms)");
            for (var e : base.parameters().entrySet()) {
                INDArray expected = e.getValue().add(k);
                INDArray got = loaded.model().parameters().get(e.getKey());
                assertTrue(expected.equalsWithEps(got, 1e-3), e.getKey() + " of version " + k + " (kill seed " + seed
                        + ", round " + round + ", " + delay + " ms)");
            }
            assertEquals(loaded.model().config(), base.config());
        }
        assertTrue(new File(dir.toFile(), Checkpoint.LATEST).exists());
    }
}
