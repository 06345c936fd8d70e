package org.attn4j.text;

/**
 * GPT-2's pre-tokenizer regex, {@code 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+},
 * written out as a scanner: the same matches as the regex (Gpt2SplitTest, and HF's ids on the fixtures), several
 * times faster; once words are cached this split is most of the time spent encoding.
 */
final class Gpt2Split {
    // The regex's classes of a character: white space, \p{L}, \p{N}, anything else (they do not overlap)
    private static final int SPACE = 0;
    private static final int LETTER = 1;
    private static final int NUMBER = 2;
    private static final int OTHER = 3;
    private static final byte[] ASCII_KIND = new byte[0x80]; // most text is ASCII: its classes come from a table

    static {
        for (int c = 0; c < 0x80; c++) {
            ASCII_KIND[c] = (byte) kindOf(c);
        }
    }

    private Gpt2Split() {
    }

    /** Receives each match as {@code [start, end)} of the text. */
    interface Sink {
        void accept(int start, int end);
    }

    static void split(String s, Sink sink) {
        int n = s.length();
        int i = 0;
        while (i < n) {
            int end = match(s, i, n);
            sink.accept(i, end);
            i = end;
        }
    }

    /** The end of the regex's match at {@code i} (the alternatives tried in the regex's order). */
    private static int match(String s, int i, int n) {
        int c = s.codePointAt(i);
        if (c == '\'') {
            int e = contraction(s, i + 1, n);
            if (e > 0) {
                return e;
            }
        }
        int j = c == ' ' && i + 1 < n ? i + 1 : i; // the optional leading space
        int kind = kind(s.codePointAt(j));
        if (kind != SPACE) {
            return run(s, j, n, kind); // ' ?\p{L}+', ' ?\p{N}+' or ' ?[^\s\p{L}\p{N}]+'
        }
        // c is white space: \s+(?!\S) takes the run but its last char when the run is followed by a non-space
        int end = run(s, i, n, SPACE);
        if (end < n) {
            int last = s.codePointBefore(end);
            int shorter = end - Character.charCount(last);
            if (shorter > i) {
                return shorter;
            }
        }
        return end;
    }

    private static int contraction(String s, int i, int n) {
        if (i >= n) {
            return -1;
        }
        char a = s.charAt(i);
        if (a == 's' || a == 't' || a == 'm' || a == 'd') {
            return i + 1;
        }
        if (i + 1 < n) {
            char b = s.charAt(i + 1);
            if ((a == 'r' || a == 'v') && b == 'e' || a == 'l' && b == 'l') {
                return i + 2;
            }
        }
        return -1;
    }

    /** The end of the run of characters of one kind that starts at {@code i}. */
    private static int run(String s, int i, int n, int kind) {
        while (i < n) {
            char ch = s.charAt(i);
            if (ch < 0x80) {
                if (ASCII_KIND[ch] != kind) {
                    break;
                }
                i++;
            } else {
                int c = s.codePointAt(i);
                if (kind(c) != kind) {
                    break;
                }
                i += Character.charCount(c);
            }
        }
        return i;
    }

    private static int kind(int c) {
        return c < 0x80 ? ASCII_KIND[c] : kindOf(c);
    }

    private static int kindOf(int c) {
        return Regexes.isWhiteSpace(c) ? SPACE : isLetter(c) ? LETTER : isNumber(c) ? NUMBER : OTHER;
    }

    static boolean isLetter(int c) {
        return c < 0x80 ? (c | 0x20) >= 'a' && (c | 0x20) <= 'z' : Character.isLetter(c);
    }

    static boolean isNumber(int c) {
        if (c < 0x80) {
            return c >= '0' && c <= '9';
        }
        int t = Character.getType(c);
        return t == Character.DECIMAL_DIGIT_NUMBER || t == Character.LETTER_NUMBER || t == Character.OTHER_NUMBER;
    }
}
