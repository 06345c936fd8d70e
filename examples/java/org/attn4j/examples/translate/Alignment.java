package org.attn4j.examples.translate;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * A word alignment between a source sentence and a target sentence, in the sure/possible convention of
 * Och and Ney (2003): sure links are those every annotator would draw, possible links (a superset of the
 * sure ones) also those an annotator might draw. A predicted alignment has only sure links.
 *
 * <p>Written in Pharaoh format: space-separated {@code i-j} (sure) or {@code i?j} (possible only), with
 * {@code i} the 0-based source word index and {@code j} the 0-based target word index.
 */
record Alignment(Set<Link> sure, Set<Link> possible) {
    /** Source word {@code source} is linked to target word {@code target} (both 0-based). */
    record Link(int source, int target) implements Comparable<Link> {
        @Override
        public int compareTo(Link o) {
            return source != o.source ? Integer.compare(source, o.source) : Integer.compare(target, o.target);
        }
    }

    /** Keeps sorted copies, and adds every sure link to the possible ones (S is a subset of P). */
    Alignment {
        sure = Collections.unmodifiableSet(new TreeSet<>(sure));
        TreeSet<Link> all = new TreeSet<>(possible);
        all.addAll(sure);
        possible = Collections.unmodifiableSet(all);
    }

    /** An alignment with sure links only (a prediction). */
    static Alignment of(Set<Link> links) {
        return new Alignment(links, links);
    }

    /**
     * Parses Pharaoh format, checking every index against the sentence lengths.
     *
     * @throws IllegalArgumentException naming the malformed or out-of-range link
     */
    static Alignment parse(String text, int sourceLength, int targetLength) {
        TreeSet<Link> sure = new TreeSet<>(), possible = new TreeSet<>();
        for (String token : text.trim().split("\\s+")) {
            if (token.isEmpty()) {
                continue;
            }
            int dash = token.indexOf('-'), question = token.indexOf('?');
            int at = dash >= 0 ? dash : question;
            Link link;
            try {
                if (at <= 0 || (dash >= 0 && question >= 0)) {
                    throw new NumberFormatException();
                }
                link = new Link(Integer.parseInt(token.substring(0, at)), Integer.parseInt(token.substring(at + 1)));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("alignment link '" + token + "' is not i-j or i?j (0-based indices)");
            }
            if (link.source < 0 || link.source >= sourceLength || link.target < 0 || link.target >= targetLength) {
                throw new IllegalArgumentException("alignment link '" + token + "' is outside the sentences: the source has "
                        + sourceLength + " words (0-" + (sourceLength - 1) + "), the target " + targetLength + " (0-"
                        + (targetLength - 1) + ")");
            }
            (dash >= 0 ? sure : possible).add(link);
        }
        return new Alignment(sure, possible);
    }

    /** Pharaoh format: sure links as {@code i-j}, possible-only links as {@code i?j}, in (i, j) order. */
    String pharaoh() {
        List<String> out = new ArrayList<>();
        for (Link l : possible) {
            out.add(l.source + (sure.contains(l) ? "-" : "?") + l.target);
        }
        return String.join(" ", out);
    }
}
