package org.attn4j.examples;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** What a program prints to standard output, for the examples' smoke tests. */
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
}
