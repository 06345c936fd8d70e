package org.attn4j.examples.translate;

import java.io.PrintStream;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** {@code --sentence}: one translation with its alignment, as word pairs and as a text grid of weights. */
final class SentenceView {
    private SentenceView() {
    }

    /** Prints the translation of {@code text}; status 1 (with the words listed) if some are unknown. */
    static int print(Translator t, AttentionAligner.Choice choice, String text, PrintStream out, PrintStream err) {
        List<String> source = ParallelFile.words(text);
        List<String> unknown = t.unknownSourceWords(source);
        if (!unknown.isEmpty()) {
            List<String> known = t.sourceVocabulary().tokens();
            err.println("translate: words outside the model's vocabulary: " + unknown + " (it knows "
                    + (known.size() - 4) + " source words, such as " + String.join(", ", known.subList(4,
                    Math.min(known.size(), 8))) + ")");
            return 1;
        }
        int maxLen = t.model().config().maxLen();
        if (source.isEmpty() || source.size() > maxLen) {
            err.println("translate: the sentence has " + source.size() + " words; the model takes 1 to " + maxLen);
            return 1;
        }
        Translator.Output translation = t.translate(List.of(source), 1).get(0);
        List<String> target = translation.words();
        out.println(String.join(" ", source) + "  ->  " + String.join(" ", target)
                + (translation.finished() ? "" : "   (unfinished: no end within the length limit)"));
        if (target.isEmpty()) {
            return 0;
        }
        double[][] w = AttentionAligner.combine(t.attention(List.of(source), List.of(target), 1).get(0).cross(), choice,
                target.size());
        Set<Alignment.Link> links = AttentionAligner.links(w);
        out.println("Alignment (" + choice.describe() + "):");
        for (Alignment.Link l : links.stream().sorted((a, b) -> Integer.compare(a.target(), b.target())).toList()) {
            out.printf(Locale.ROOT, "  %s -> %s (%.2f)%n", source.get(l.source()), target.get(l.target()),
                    w[l.target()][l.source()]);
        }
        out.println("Pharaoh: " + Alignment.of(links).pharaoh());
        out.print(grid(source, target, w));
        return 0;
    }

    /** Weights as percentages, English down the side, French along the top, each row's maximum in brackets. */
    static String grid(List<String> source, List<String> target, double[][] w) {
        int left = target.stream().mapToInt(String::length).max().orElse(0) + 2;
        StringBuilder sb = new StringBuilder(" ".repeat(left));
        int[] width = new int[source.size()];
        for (int i = 0; i < source.size(); i++) {
            width[i] = Math.max(6, source.get(i).length() + 1);
            sb.append(String.format("%" + width[i] + "s", source.get(i)));
        }
        sb.append('\n');
        for (int j = 0; j < target.size(); j++) {
            sb.append(String.format("%-" + left + "s", target.get(j)));
            int best = 0;
            for (int i = 1; i < source.size(); i++) {
                best = w[j][i] > w[j][best] ? i : best;
            }
            for (int i = 0; i < source.size(); i++) {
                long pct = Math.round(100 * w[j][i]);
                sb.append(String.format("%" + width[i] + "s", i == best ? "[" + pct + "]" : pct < 1 ? "." : pct + " "));
            }
            sb.append('\n');
        }
        return sb.toString();
    }
}
