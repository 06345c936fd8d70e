package org.attn4j.examples;

import java.io.PrintStream;

/** How every example starts: a bad option ends it with one line on standard error and exit status 2. */
public final class Cli {
    /** An example's body: parses and checks all its options before it prints or writes anything. */
    public interface Program {
        void run(String[] args) throws Exception;
    }

    private Cli() {
    }

    /** Runs {@code program}; returns 0, or 2 after printing {@code name: message} for a {@link BadOption}. */
    public static int run(String name, String[] args, PrintStream err, Program program) throws Exception {
        try {
            program.run(args);
            return 0;
        } catch (BadOption e) {
            err.println(name + ": " + e.getMessage());
            return 2;
        }
    }

    /** {@link #run} for a {@code main} method: exits with status 2 on a bad option. */
    public static void main(String name, String[] args, Program program) throws Exception {
        int status = run(name, args, System.err, program);
        if (status != 0) {
            System.exit(status);
        }
    }
}
