package org.attn4j.text;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The tokenizer's added tokens (specials such as {@code <|endoftext|>} and user additions), found in the text before
 * anything else runs: leftmost match first, the longest one where several start at the same place, as HF's
 * Aho-Corasick automaton with {@code LeftmostLongest} matching.
 */
final class AddedTokens {
    /** One entry of tokenizer.json's {@code added_tokens}. */
    record Token(int id, String content, boolean singleWord, boolean lstrip, boolean rstrip, boolean normalized,
            boolean special) {
    }

    /** A stretch of text: an added token ({@code id >= 0}) or text still to encode ({@code id = -1}). */
    record Span(int id, String text, boolean atStart) {
    }

    private final List<Token> tokens;
    private final Map<Integer, Token> byId = new HashMap<>();
    private final Map<String, Token> byContent = new HashMap<>();
    private final Matcher raw;
    private final Matcher normalized;

    AddedTokens(List<Token> tokens, Normalizer normalizer) {
        this.tokens = List.copyOf(tokens);
        List<Map.Entry<String, Token>> rawPatterns = new ArrayList<>();
        List<Map.Entry<String, Token>> normPatterns = new ArrayList<>();
        for (Token t : tokens) {
            byId.put(t.id(), t);
            byContent.put(t.content(), t);
            if (t.normalized()) {
                String pattern = normalizer == null ? t.content() : normalizer.apply(t.content());
                normPatterns.add(Map.entry(pattern, t));
            } else {
                rawPatterns.add(Map.entry(t.content(), t));
            }
        }
        raw = new Matcher(rawPatterns);
        normalized = new Matcher(normPatterns);
    }

    List<Token> all() {
        return tokens;
    }

    Token byId(int id) {
        return byId.get(id);
    }

    Token byContent(String content) {
        return byContent.get(content);
    }

    /** The added tokens written literally in the text, split out (HF's first pass, before normalizing). */
    List<Span> splitRaw(String text) {
        List<Span> out = new ArrayList<>();
        raw.split(text, true, out);
        return out;
    }

    /** The normalized added tokens in a normalized stretch (HF's second pass). */
    void splitNormalized(String text, boolean atStart, List<Span> out) {
        normalized.split(text, atStart, out);
    }

    /** Leftmost-longest matching of a set of literal strings, with HF's single_word, lstrip and rstrip rules. */
    private static final class Matcher {
        private final Map<Character, List<Map.Entry<String, Token>>> byFirst = new HashMap<>();
        private final boolean[] firstBmp = new boolean[65536];

        Matcher(List<Map.Entry<String, Token>> patterns) {
            for (Map.Entry<String, Token> p : patterns) {
                if (p.getKey().isEmpty()) {
                    continue;
                }
                char first = p.getKey().charAt(0);
                firstBmp[first] = true;
                byFirst.computeIfAbsent(first, k -> new ArrayList<>()).add(p);
            }
            byFirst.values().forEach(l -> l.sort(Comparator.comparingInt(
                    (Map.Entry<String, Token> e) -> e.getKey().length()).reversed()));
        }

        void split(String text, boolean atStart, List<Span> out) {
            if (byFirst.isEmpty()) {
                addText(out, text, 0, text.length(), atStart);
                return;
            }
            int done = 0;
            int i = 0;
            while (i < text.length()) {
                char c = text.charAt(i);
                Map.Entry<String, Token> hit = firstBmp[c] ? longestAt(text, i) : null;
                if (hit == null) {
                    i++;
                    continue;
                }
                Token t = hit.getValue();
                int start = i;
                int stop = i + hit.getKey().length();
                i = stop;
                if (t.singleWord() && (endsWithWordChar(text, start) || startsWithWordChar(text, stop))) {
                    continue;
                }
                if (t.lstrip()) {
                    int s = start;
                    while (s > done && Regexes.isWhiteSpace(text.codePointBefore(s))) {
                        s -= Character.charCount(text.codePointBefore(s));
                    }
                    start = s;
                }
                if (t.rstrip()) {
                    while (stop < text.length() && Regexes.isWhiteSpace(text.codePointAt(stop))) {
                        stop += Character.charCount(text.codePointAt(stop));
                    }
                }
                addText(out, text, done, start, atStart);
                out.add(new Span(t.id(), text.substring(start, stop), atStart && start == 0));
                done = stop;
                i = Math.max(i, stop);
            }
            addText(out, text, done, text.length(), atStart);
        }

        private Map.Entry<String, Token> longestAt(String text, int i) {
            for (Map.Entry<String, Token> p : byFirst.get(text.charAt(i))) {
                if (text.startsWith(p.getKey(), i)) {
                    return p;
                }
            }
            return null;
        }

        private static void addText(List<Span> out, String text, int from, int to, boolean atStart) {
            if (to > from) {
                out.add(new Span(-1, text.substring(from, to), atStart && from == 0));
            }
        }

        private static boolean endsWithWordChar(String text, int at) {
            return at > 0 && Regexes.isWordChar(text.codePointBefore(at));
        }

        private static boolean startsWithWordChar(String text, int at) {
            return at < text.length() && Regexes.isWordChar(text.codePointAt(at));
        }
    }
}
