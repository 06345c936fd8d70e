package org.attn4j.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.attn4j.data.Batch;
import org.attn4j.decode.Greedy;
import org.attn4j.model.LanguageModel;
import org.attn4j.model.ModelConfig;
import org.attn4j.train.Trainer;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.schedule.FixedSchedule;

/**
 * A program that uses the engine ends when its {@code main} returns: started with {@code java}, its JVM exits
 * at once (the engine's workers are daemon threads); under {@code mvn exec:java}, which runs main in a thread
 * group of its own and then interrupts every thread left in the group and waits up to 15 s for each (warning
 * "will linger despite being asked to die" for those still alive), the workers end when interrupted. Each case
 * is a fresh JVM with three engine threads, so the shared pool has workers to end.
 */
class ProgramExitTest {
    private static final Pattern MAIN_RETURNED = Pattern.compile("main returned at (\\d+)");

    /** What a user's program does: a training step and cached decoding on a small language model. */
    public static final class Program {
        public static void main(String[] args) {
            LanguageModel model = new LanguageModel(ModelConfig.languageModel(11, 32, 2, 64, 1, 16), DataType.FLOAT);
            INDArray ids = Nd4j.createFromArray(new int[][] {{1, 2, 3, 4}, {5, 6, 7, 8}, {2, 4, 6, 8}, {1, 3, 5, 7}});
            new Trainer(model, Trainer.Config.adam(new FixedSchedule(1e-3))).step(new Batch(null, ids, ids));
            Greedy.decode(model, null, Nd4j.createFromArray(new int[][] {{1}, {2}}), -1, 8, true);
            System.out.println("main returned at " + System.currentTimeMillis());
        }
    }

    /** exec:java's way of running {@link Program}: main in a thread group, then every thread left there interrupted. */
    public static final class LikeExecJava {
        public static void main(String[] args) throws InterruptedException {
            ThreadGroup group = new ThreadGroup("like-exec-java");
            Thread main = new Thread(group, () -> Program.main(args), Program.class.getName() + ".main()");
            main.start();
            main.join();
            Thread[] left = new Thread[group.activeCount() + 8];
            left = Arrays.copyOf(left, group.enumerate(left));
            long start = System.nanoTime();
            for (Thread t : left) {
                t.interrupt();
            }
            int lingering = 0;
            for (Thread t : left) {
                t.join(15_000);
                lingering += t.isAlive() ? 1 : 0;
            }
            System.out.printf("workers %d, lingering %d, ended in %d ms%n",
                    Arrays.stream(left).filter(t -> t.getName().equals("attn4j-fast")).count(), lingering,
                    (System.nanoTime() - start) / 1_000_000);
        }
    }

    @Test
    void underJavaTheJvmExitsWhenMainReturns() throws Exception {
        Child child = run(Program.class);
        Matcher m = MAIN_RETURNED.matcher(child.output());
        assertTrue(m.find(), "the program's output: " + child.output());
        long afterMain = child.exitedAt() - Long.parseLong(m.group(1));
        assertTrue(afterMain < 5_000, "the JVM exited " + afterMain + " ms after main returned");
    }

    @Test
    void underExecJavaTheWorkersEndWhenInterrupted() throws Exception {
        Child child = run(LikeExecJava.class);
        Matcher m = Pattern.compile("workers (\\d+), lingering (\\d+), ended in (\\d+) ms").matcher(child.output());
        assertTrue(m.find(), "the program's output: " + child.output());
        assertEquals(2, Integer.parseInt(m.group(1)), "engine workers started by the program (3 engine threads)");
        assertEquals(0, Integer.parseInt(m.group(2)), "threads alive 15 s after exec:java's interrupt: " + m.group());
        assertTrue(Long.parseLong(m.group(3)) < 2_000, m.group());
    }

    record Child(String output, long exitedAt) {
    }

    private static Child run(Class<?> main) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--add-modules", "jdk.incubator.vector", "-Dattn4j.threads=3", "-cp", System.getProperty("java.class.path"),
                main.getName()));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(command + " ran past 120 s");
        }
        long exitedAt = System.currentTimeMillis();
        String text = new String(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), command + ": " + text);
        return new Child(text, exitedAt);
    }
}
