package org.attn4j.examples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** An example's run in a child JVM, killed as soon as it has saved its first checkpoint: for the resume tests. */
public final class KilledRun {
    private KilledRun() {
    }

    /**
     * Runs {@code main}'s {@code main(args)} in a child JVM (this JVM's options and class path, its output into
     * {@code log}), waits until {@code latest} exists (two minutes at most) and kills the child. Fails when the child
     * ended before it could be killed.
     */
    public static void killAfter(Class<?> main, String[] args, Path latest, Path log)
            throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments().stream()
                .filter(a -> !a.startsWith("-agentlib") && !a.startsWith("-javaagent")).toList());
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), main.getName()));
        command.addAll(List.of(args));
        Process child = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (!Files.exists(latest) && child.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertTrue(child.isAlive(), "the child ended before it could be killed after its first checkpoint:\n"
                + Files.readString(log));
        child.destroyForcibly().waitFor();
    }
}
