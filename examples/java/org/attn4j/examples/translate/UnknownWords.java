package org.attn4j.examples.translate;

import java.util.List;
import java.util.TreeSet;
import org.attn4j.data.Vocabulary;

/**
 * The words of some pairs that a model does not know (it reads them as {@code <unk>}): how many, on how many
 * lines, and which.
 */
record UnknownWords(int words, int lines, int of, TreeSet<String> source, TreeSet<String> target) {
    static final int LISTED = 10;

    static UnknownWords count(Translator t, List<ToyFrench.Pair> pairs) {
        TreeSet<String> source = new TreeSet<>(), target = new TreeSet<>();
        int lines = 0, words = 0;
        for (ToyFrench.Pair p : pairs) {
            List<String> s = t.unknownSourceWords(p.source()), r = t.unknownTargetWords(p.target());
            source.addAll(s);
            target.addAll(r);
            long n = p.source().stream().filter(s::contains).count() + p.target().stream().filter(r::contains).count();
            words += (int) n;
            lines += n > 0 ? 1 : 0;
        }
        return new UnknownWords(words, lines, pairs.size(), source, target);
    }

    /** One line for the report about {@code name}. */
    String describe(String name) {
        if (words == 0) {
            return name + ": every word is known to the model";
        }
        return name + ": " + words + " unknown word(s) on " + lines + " of " + of + " lines (source " + listed(source)
                + ", reference " + listed(target) + "); they are read as " + Vocabulary.UNK + ", and those lines are "
                + "translated and scored like the others";
    }

    private static String listed(TreeSet<String> words) {
        List<String> first = words.stream().limit(LISTED).toList();
        return first + (words.size() > first.size() ? " and " + (words.size() - first.size()) + " more" : "");
    }
}
