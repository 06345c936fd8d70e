package org.attn4j.examples.translate;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Parallel text, one pair per line: {@code source ||| target} or {@code source ||| target ||| gold alignment},
 * the alignment in Pharaoh format ({@code i-j} sure, {@code i?j} possible; 0-based source index i, target
 * index j). Words are separated by white space. Blank lines and lines starting with {@code #} are skipped.
 *
 * <p>Training and validation files are read strictly (the first malformed line ends the program); files to
 * evaluate leniently (a malformed line gets a message and is left out).
 */
final class ParallelFile {
    /** A line that cannot be used, or a file without a usable line; the message names the file and line. */
    static final class BadFile extends RuntimeException {
        BadFile(String message) {
            super(message);
        }
    }

    private ParallelFile() {
    }

    /** Every pair of {@code file}; the alignment column is optional. */
    static List<ToyFrench.Pair> readAll(Path file) throws IOException {
        List<ToyFrench.Pair> out = new ArrayList<>();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (int n = 0; n < lines.size(); n++) {
            String line = lines.get(n).strip();
            if (!line.isEmpty() && !line.startsWith("#")) {
                try {
                    out.add(parse(line));
                } catch (IllegalArgumentException e) {
                    throw new BadFile(file + ":" + (n + 1) + ": " + e.getMessage());
                }
            }
        }
        if (out.isEmpty()) {
            throw new BadFile(file + ": no usable line (expected lines 'source ||| target' or 'source ||| target "
                    + "||| alignment'; found " + lines.size() + " line(s), all blank or comments)");
        }
        return out;
    }

    /**
     * The pairs of {@code file} that fit a model of {@code maxLen} positions; each longer line is named on
     * {@code err} and left out, and so is each malformed line unless {@code strict}.
     *
     * @throws BadFile for a malformed line when {@code strict}
     */
    static List<ToyFrench.Pair> readUsable(Path file, int maxLen, boolean strict, PrintStream err) throws IOException {
        List<ToyFrench.Pair> out = new ArrayList<>();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (int n = 0; n < lines.size(); n++) {
            String line = lines.get(n).strip(), where = file + ":" + (n + 1) + ": ";
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            ToyFrench.Pair p;
            try {
                p = parse(line);
            } catch (IllegalArgumentException e) {
                if (strict) {
                    throw new BadFile(where + e.getMessage());
                }
                err.println(where + e.getMessage() + "; line skipped");
                continue;
            }
            if (p.source().size() > maxLen || p.target().size() + 1 > maxLen) {
                err.println(where + "longer than the model's " + maxLen + " positions (source " + p.source().size()
                        + " words, target " + p.target().size() + " plus the start); line skipped");
                continue;
            }
            out.add(p);
        }
        return out;
    }

    /**
     * One line; the gold alignment is null when the line has none.
     *
     * @throws IllegalArgumentException saying what is wrong with it
     */
    static ToyFrench.Pair parse(String line) {
        String[] parts = line.split("\\|\\|\\|", -1);
        if (parts.length != 2 && parts.length != 3) {
            throw new IllegalArgumentException("expected 'source ||| target' or 'source ||| target ||| alignment', found "
                    + parts.length + " field(s)");
        }
        List<String> source = words(parts[0]), target = words(parts[1]);
        if (source.isEmpty() || target.isEmpty()) {
            throw new IllegalArgumentException("expected words on both sides of '|||', found an empty "
                    + (source.isEmpty() ? "source" : "target"));
        }
        Alignment gold = parts.length == 3 ? Alignment.parse(parts[2], source.size(), target.size()) : null;
        return new ToyFrench.Pair(source, target, gold);
    }

    /** Writes pairs in the format {@link #parse} reads, after a comment line. */
    static void write(Path file, String comment, List<ToyFrench.Pair> pairs) throws IOException {
        StringBuilder sb = new StringBuilder("# " + comment + "\n");
        for (ToyFrench.Pair p : pairs) {
            sb.append(p.sourceText()).append(" ||| ").append(p.targetText());
            sb.append(p.gold() == null ? "" : " ||| " + p.gold().pharaoh()).append('\n');
        }
        Translate.write(file, sb.toString());
    }

    static List<String> words(String text) {
        String t = text.strip();
        return t.isEmpty() ? List.of() : List.of(t.split("\\s+"));
    }
}
