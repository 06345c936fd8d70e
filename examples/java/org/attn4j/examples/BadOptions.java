package org.attn4j.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** For the examples' tests: how every example must answer a bad option. */
public final class BadOptions {
    private BadOptions() {
    }

    /**
     * Runs {@code program} as its {@code main} does and checks: exit status 2, one line on standard error
     * that starts with {@code name: } and contains each of {@code expected}, no stack trace, nothing on
     * standard output and nothing at {@code output} (the folder the run would write to).
     *
     * @return the line
     */
    public static String rejected(String name, Cli.Program program, Path output, String[] args, String... expected)
            throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int[] status = new int[1];
        String out = Stdout.capture(() -> status[0] = Cli.run(name, args, new PrintStream(err, true,
                StandardCharsets.UTF_8), program));
        String line = err.toString(StandardCharsets.UTF_8).strip();
        String what = String.join(" ", args) + " -> " + line;
        assertEquals(2, status[0], what);
        assertEquals(1, line.lines().count(), what);
        assertTrue(line.startsWith(name + ": "), what);
        assertFalse(line.contains("Exception") || line.contains("\tat "), "no exception or stack trace: " + what);
        for (String e : expected) {
            assertTrue(line.contains(e), "'" + e + "' in " + what);
        }
        assertEquals("", out, "nothing printed before the error: " + what);
        assertFalse(Files.exists(output), output + " written: " + what);
        return line;
    }
}
