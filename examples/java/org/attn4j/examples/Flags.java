package org.attn4j.examples;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * An example's options, parsed by {@link Args}, read as the kinds they must be. Every reader throws a
 * {@link BadOption} naming the option, the kind or range expected and the value given.
 */
public final class Flags {
    private final Map<String, String> values;

    private Flags(Map<String, String> values) {
        this.values = values;
    }

    /** Parses {@code args} over {@code defaults}; an unknown option is a {@link BadOption}. */
    public static Flags parse(String[] args, Map<String, String> defaults) {
        return new Flags(Args.parse(args, defaults));
    }

    /** The raw text of an option. */
    public String text(String key) {
        String v = values.get(key);
        if (v == null) {
            throw new IllegalStateException("No option " + key + " among " + values.keySet()); // a bug, not a user's mistake
        }
        return v;
    }

    /** {@code true} or {@code false}. */
    public boolean flag(String key) {
        String v = text(key);
        if (!v.equals("true") && !v.equals("false")) {
            throw BadOption.of(key, "true or false", "'" + v + "'");
        }
        return v.equals("true");
    }

    /** A whole number of at least {@code min}. */
    public int integer(String key, int min) {
        String v = text(key);
        int n;
        try {
            n = Integer.parseInt(v.trim());
        } catch (NumberFormatException e) {
            throw BadOption.of(key, "a whole number of at least " + min, "'" + v + "'");
        }
        if (n < min) {
            throw BadOption.of(key, "a whole number of at least " + min, n);
        }
        return n;
    }

    /** Any whole number that fits a long (a seed). */
    public long seed(String key) {
        String v = text(key);
        try {
            return Long.parseLong(v.trim());
        } catch (NumberFormatException e) {
            throw BadOption.of(key, "a whole number", "'" + v + "'");
        }
    }

    /** A finite number greater than {@code above}. */
    public double real(String key, double above) {
        return real(key, above, false);
    }

    /** A finite number of at least {@code min}. */
    public double realAtLeast(String key, double min) {
        return real(key, min, true);
    }

    private double real(String key, double bound, boolean inclusive) {
        String v = text(key);
        double x;
        try {
            x = Double.parseDouble(v.trim());
        } catch (NumberFormatException e) {
            x = Double.NaN;
        }
        if (!Double.isFinite(x) || x < bound || (x == bound && !inclusive)) {
            throw BadOption.of(key, "a number " + (inclusive ? "of at least " : "greater than ") + number(bound),
                    "'" + v + "'");
        }
        return x;
    }

    /** One of {@code allowed}, exactly as written there. */
    public String choice(String key, String... allowed) {
        String v = text(key);
        if (!Arrays.asList(allowed).contains(v)) {
            throw BadOption.of(key, "one of " + String.join(", ", allowed), "'" + v + "'");
        }
        return v;
    }

    /** A comma-separated list of whole numbers of at least {@code min}, not empty. */
    public int[] integers(String key, int min) {
        String v = text(key);
        try {
            int[] out = Arrays.stream(v.split(",", -1)).mapToInt(s -> Integer.parseInt(s.trim())).toArray();
            if (out.length > 0 && Arrays.stream(out).allMatch(n -> n >= min)) {
                return out;
            }
        } catch (NumberFormatException e) {
            // reported below with the whole value
        }
        throw BadOption.of(key, "whole numbers of at least " + min + " separated by commas", "'" + v + "'");
    }

    /** A comma-separated list of names, each one of {@code allowed}. */
    public List<String> choices(String key, String... allowed) {
        String v = text(key);
        List<String> out = Arrays.stream(v.split(",", -1)).map(String::trim).toList();
        if (!Arrays.asList(allowed).containsAll(out)) {
            throw BadOption.of(key, "names from " + String.join(", ", allowed) + " separated by commas", "'" + v + "'");
        }
        return out;
    }

    /** A path; empty text is a {@link BadOption}. */
    public Path path(String key) {
        String v = text(key);
        if (v.isBlank()) {
            throw BadOption.of(key, "a path", "nothing");
        }
        try {
            return Path.of(v);
        } catch (java.nio.file.InvalidPathException e) {
            throw BadOption.of(key, "a path", "'" + v + "' (" + e.getReason() + ")");
        }
    }

    /** Throws a {@link BadOption} on {@code option} unless {@code ok}: for options that contradict each other. */
    public static void require(boolean ok, String option, String expected, Object given) {
        if (!ok) {
            throw BadOption.of(option, expected, given);
        }
    }

    /**
     * Builds what a group of options describes (a model configuration, a schedule) while the options are
     * checked, turning the builder's IllegalArgumentException into a {@link BadOption} on those options.
     */
    public static <T> T valid(String options, Supplier<T> build) {
        try {
            return build.get();
        } catch (BadOption e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new BadOption(options + ": " + e.getMessage());
        }
    }

    private static String number(double x) {
        return x == Math.rint(x) ? String.valueOf((long) x) : String.valueOf(x);
    }
}
