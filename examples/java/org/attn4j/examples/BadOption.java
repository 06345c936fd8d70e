package org.attn4j.examples;

/**
 * A command-line option an example cannot use: unknown, a value of the wrong kind, or values that
 * contradict each other. Its message is one line naming the option, what was expected and what was
 * given; {@link Cli} prints it and ends the program with status 2.
 */
public final class BadOption extends IllegalArgumentException {
    public BadOption(String message) {
        super(message);
    }

    /** {@code --steps: expected a whole number of at least 1, given 'x'}. */
    public static BadOption of(String option, String expected, Object given) {
        return new BadOption("--" + option + ": expected " + expected + ", given " + given);
    }
}
