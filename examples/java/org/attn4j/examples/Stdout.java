package org.attn4j.examples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** What a program prints to standard output, and its RESULT line, for the examples' smoke tests. */
public final class Stdout {
    /** Code that prints. */
    public interface Program {
        void run() throws Exception;
    }

    private Stdout() {
    }

    /** Runs {@code program} and returns what it printed to standard output. */
    public static String capture(Program program) throws Exception {
        PrintStream original = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            program.run();
        } finally {
            System.setOut(original);
        }
        return captured.toString(StandardCharsets.UTF_8);
    }

    /** The last line of {@code out}, matched whole by {@code regex} (the test fails, showing the line, when not). */
    public static Matcher lastLine(String out, String regex) {
        String last = out.strip().lines().reduce((a, b) -> b).orElse("");
        Matcher m = Pattern.compile(regex).matcher(last);
        assertTrue(m.matches(), last);
        return m;
    }
}
