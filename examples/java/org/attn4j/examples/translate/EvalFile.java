package org.attn4j.examples.translate;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads sentences to evaluate, one pair per line: {@code source ||| reference target ||| gold alignment},
 * the alignment in Pharaoh format ({@code i-j} sure, {@code i?j} possible; 0-based source index i, target
 * index j). Blank lines and lines starting with {@code #} are skipped. A line with words outside the model's
 * vocabularies, or malformed, gets a message and is left out; the others are evaluated.
 */
final class EvalFile {
    private EvalFile() {
    }

    static List<ToyFrench.Pair> read(Path file, Translator translator, PrintStream err) throws IOException {
        List<ToyFrench.Pair> out = new ArrayList<>();
        List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        for (int n = 0; n < lines.size(); n++) {
            String line = lines.get(n).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String where = file + ":" + (n + 1) + ": ";
            String[] parts = line.split("\\|\\|\\|", -1);
            if (parts.length != 3) {
                err.println(where + "expected 'source ||| reference ||| alignment', found " + parts.length
                        + " field(s); line skipped");
                continue;
            }
            List<String> source = words(parts[0]), target = words(parts[1]);
            if (source.isEmpty() || target.isEmpty()) {
                err.println(where + "empty source or reference; line skipped");
                continue;
            }
            List<String> unknownSource = translator.unknownSourceWords(source);
            List<String> unknownTarget = translator.unknownTargetWords(target);
            if (!unknownSource.isEmpty() || !unknownTarget.isEmpty()) {
                err.println(where + "words outside the model's vocabulary: "
                        + (unknownSource.isEmpty() ? "" : "source " + unknownSource)
                        + (unknownSource.isEmpty() || unknownTarget.isEmpty() ? "" : ", ")
                        + (unknownTarget.isEmpty() ? "" : "reference " + unknownTarget) + "; line skipped");
                continue;
            }
            int maxLen = translator.model().config().maxLen();
            if (source.size() > maxLen || target.size() + 1 > maxLen) {
                err.println(where + "longer than the model's " + maxLen + " positions (source " + source.size()
                        + " words, reference " + target.size() + " plus the start); line skipped");
                continue;
            }
            try {
                out.add(new ToyFrench.Pair(source, target, Alignment.parse(parts[2], source.size(), target.size())));
            } catch (IllegalArgumentException e) {
                err.println(where + e.getMessage() + "; line skipped");
            }
        }
        return out;
    }

    static List<String> words(String text) {
        String t = text.strip();
        return t.isEmpty() ? List.of() : List.of(t.split("\\s+"));
    }
}
