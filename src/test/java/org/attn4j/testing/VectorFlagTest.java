package org.attn4j.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A JVM started without {@code --add-modules jdk.incubator.vector} says once, through SLF4J, that the
 * fast path's loops run scalar; one started with it says nothing. Each case is a fresh JVM, since the
 * check runs when the fast path's classes load.
 */
class VectorFlagTest {
    private static final String LINE = "jdk.incubator.vector is not loaded";

    /** The child JVM: loads the fast path's element-wise kernels twice over. */
    public static final class LoadFastPath {
        public static void main(String[] args) throws Exception {
            Class.forName("org.attn4j.kernels.RowMath", true, LoadFastPath.class.getClassLoader());
            Class.forName("org.attn4j.kernels.RowMath", true, LoadFastPath.class.getClassLoader());
        }
    }

    @Test
    void withoutTheFlagOneLineSaysTheLoopsRunScalar() throws Exception {
        assertEquals(1, count(childOutput(List.of())), "lines saying the loops run scalar");
    }

    @Test
    void withTheFlagNothingIsSaid() throws Exception {
        assertEquals(0, count(childOutput(List.of("--add-modules", "jdk.incubator.vector"))),
                "lines saying the loops run scalar");
    }

    private static long count(String output) {
        return output.lines().filter(l -> l.contains(LINE)).count();
    }

    private static String childOutput(List<String> flags) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        command.addAll(flags);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), LoadFastPath.class.getName()));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        byte[] out = p.getInputStream().readAllBytes();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(command + " ran past 60 s");
        }
        String text = new String(out, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), command + ": " + text);
        return text;
    }
}
