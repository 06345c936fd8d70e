package org.attn4j.text;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One of HF's pre-tokenizers: cuts a piece of normalized text into the words the BPE model merges within. A piece
 * knows whether it begins the original text (Metaspace's {@code prepend_scheme: first} asks).
 */
interface PreTokenizer {
    record Piece(String text, boolean atStart) {
    }

    /** Appends the words of {@code piece} to {@code out}, leaving out empty ones. */
    void split(Piece piece, List<Piece> out);

    /** Receives a word as a range of a string, so that it can be looked up without being copied. */
    interface WordSink {
        void word(String text, int start, int end);
    }

    /** Gives the words of {@code piece} to {@code sink} in order, leaving out empty ones. */
    default void forEachWord(Piece piece, WordSink sink) {
        List<Piece> words = new ArrayList<>();
        split(piece, words);
        for (Piece w : words) {
            sink.word(w.text(), 0, w.text().length());
        }
    }

    /** How a regex split keeps the matches (HF's {@code SplitDelimiterBehavior}). */
    enum Behavior { ISOLATED, REMOVED, MERGED_WITH_PREVIOUS, MERGED_WITH_NEXT }

    /**
     * Matches ("delimiters") and the text between them, the delimiters kept as the behavior says; {@code invert}
     * makes the text between the matches the delimiters instead.
     */
    static void splitOn(Pattern pattern, Behavior behavior, boolean invert, Piece piece, List<Piece> out) {
        String s = piece.text();
        Matcher m = pattern.matcher(s);
        List<int[]> segments = new ArrayList<>(); // {start, end, 1 if a delimiter}
        int last = 0;
        while (m.find()) {
            if (m.end() > m.start()) {
                segments.add(new int[] {last, m.start(), invert ? 1 : 0});
                segments.add(new int[] {m.start(), m.end(), invert ? 0 : 1});
                last = m.end();
            }
        }
        segments.add(new int[] {last, s.length(), invert ? 1 : 0});
        int pendingStart = -1; // MERGED_WITH_NEXT: where the delimiter waiting for the next text began
        for (int i = 0; i < segments.size(); i++) {
            int[] seg = segments.get(i);
            if (seg[0] == seg[1]) {
                continue;
            }
            boolean delimiter = seg[2] == 1;
            int from = seg[0];
            int to = seg[1];
            switch (behavior) {
                case REMOVED -> {
                    if (delimiter) {
                        continue;
                    }
                }
                case MERGED_WITH_PREVIOUS -> {
                    if (!delimiter && i + 1 < segments.size() && segments.get(i + 1)[2] == 1) {
                        to = segments.get(++i)[1];
                    }
                }
                case MERGED_WITH_NEXT -> {
                    if (delimiter) {
                        if (pendingStart >= 0) {
                            add(out, s.substring(pendingStart, from), piece, pendingStart);
                        }
                        pendingStart = from;
                        continue;
                    }
                    if (pendingStart >= 0) {
                        from = pendingStart;
                        pendingStart = -1;
                    }
                }
                default -> {
                }
            }
            add(out, s.substring(from, to), piece, from);
        }
        if (pendingStart >= 0) {
            add(out, s.substring(pendingStart), piece, pendingStart);
        }
    }

    private static void add(List<Piece> out, String text, Piece of, int offset) {
        if (!text.isEmpty()) {
            out.add(new Piece(text, of.atStart() && offset == 0));
        }
    }

    /**
     * GPT-2's pre-tokenizer: optional leading space, optional GPT-2 regex, then the byte-to-character map. With
     * {@code mapBytes} false the words come out unmapped, for a caller that maps them itself (only on a cache miss).
     */
    record ByteLevelSplit(boolean addPrefixSpace, boolean useRegex, boolean mapBytes) implements PreTokenizer {
        @Override
        public void split(Piece piece, List<Piece> out) {
            String text = addPrefixSpace && !piece.text().startsWith(" ") ? " " + piece.text() : piece.text();
            if (!useRegex) {
                add(out, mapBytes ? ByteLevel.encode(text) : text, piece, 0);
                return;
            }
            Gpt2Split.split(text, (start, end) -> {
                String word = text.substring(start, end);
                out.add(new Piece(mapBytes ? ByteLevel.encode(word) : word, piece.atStart() && start == 0));
            });
        }

        /** Unmapped GPT-2 words straight from the scanner, as ranges of the piece (the encoder's common case). */
        @Override
        public void forEachWord(Piece piece, WordSink sink) {
            if (mapBytes || !useRegex) {
                PreTokenizer.super.forEachWord(piece, sink);
                return;
            }
            String text = addPrefixSpace && !piece.text().startsWith(" ") ? " " + piece.text() : piece.text();
            Gpt2Split.split(text, (start, end) -> sink.word(text, start, end));
        }
    }

    /** HF's {@code Split}: a regex or literal, with a delimiter behavior. */
    record Split(Pattern pattern, Behavior behavior, boolean invert) implements PreTokenizer {
        @Override
        public void split(Piece piece, List<Piece> out) {
            splitOn(pattern, behavior, invert, piece, out);
        }
    }

    /** SentencePiece's spaces: ' ' becomes the replacement, prepended as the scheme says, optionally split. */
    record Metaspace(String replacement, String prependScheme, boolean split) implements PreTokenizer {
        @Override
        public void split(Piece piece, List<Piece> out) {
            String s = piece.text().replace(" ", replacement);
            boolean prepend = switch (prependScheme) {
                case "always" -> true;
                case "first" -> piece.atStart();
                default -> false;
            };
            if (prepend && !s.startsWith(replacement)) {
                s = replacement + s;
            }
            Piece replaced = new Piece(s, piece.atStart());
            if (split) {
                splitOn(Pattern.compile(Pattern.quote(replacement)), Behavior.MERGED_WITH_NEXT, false, replaced, out);
            } else {
                add(out, s, piece, 0);
            }
        }
    }

    /**
     * The same pre-tokenizer with a final byte-level map left to the caller (null when it does not end with one):
     * the map is a function of each word alone, so a word cache can be keyed on the unmapped word.
     */
    static PreTokenizer withoutFinalByteMap(PreTokenizer p) {
        if (p instanceof ByteLevelSplit b) {
            return new ByteLevelSplit(b.addPrefixSpace(), b.useRegex(), false);
        }
        if (p instanceof Sequence seq && !seq.steps().isEmpty()) {
            PreTokenizer last = withoutFinalByteMap(seq.steps().get(seq.steps().size() - 1));
            if (last != null) {
                List<PreTokenizer> steps = new ArrayList<>(seq.steps());
                steps.set(steps.size() - 1, last);
                return new Sequence(steps);
            }
        }
        return null;
    }

    record Sequence(List<PreTokenizer> steps) implements PreTokenizer {
        @Override
        public void split(Piece piece, List<Piece> out) {
            List<Piece> current = List.of(piece);
            for (PreTokenizer step : steps) {
                List<Piece> next = new ArrayList<>();
                for (Piece p : current) {
                    step.split(p, next);
                }
                current = next;
            }
            out.addAll(current);
        }
    }
}
