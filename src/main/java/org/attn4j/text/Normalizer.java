package org.attn4j.text;

import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** One of HF's normalizers: rewrites a piece of text (between added tokens) before pre-tokenizing. */
interface Normalizer {
    String apply(String text);

    /** Unicode normal forms (NFC, NFD, NFKC, NFKD). */
    record Unicode(java.text.Normalizer.Form form) implements Normalizer {
        @Override
        public String apply(String text) {
            return java.text.Normalizer.normalize(text, form);
        }
    }

    record Lowercase() implements Normalizer {
        @Override
        public String apply(String text) {
            return text.toLowerCase(Locale.ROOT);
        }
    }

    /** Adds a prefix to non-empty text (Llama 2's "▁" before every piece). */
    record Prepend(String prefix) implements Normalizer {
        @Override
        public String apply(String text) {
            return text.isEmpty() ? text : prefix + text;
        }
    }

    /** Replaces every match of a literal or a regex. */
    record Replace(Pattern pattern, String content) implements Normalizer {
        @Override
        public String apply(String text) {
            return pattern.matcher(text).replaceAll(Matcher.quoteReplacement(content));
        }
    }

    /** Strips whitespace (Unicode White_Space, as Rust's {@code trim}) from either end. */
    record Strip(boolean left, boolean right) implements Normalizer {
        @Override
        public String apply(String text) {
            int start = 0;
            int end = text.length();
            while (left && start < end && Regexes.isWhiteSpace(text.codePointAt(start))) {
                start += Character.charCount(text.codePointAt(start));
            }
            while (right && end > start && Regexes.isWhiteSpace(text.codePointBefore(end))) {
                end -= Character.charCount(text.codePointBefore(end));
            }
            return text.substring(start, end);
        }
    }

    record Sequence(List<Normalizer> steps) implements Normalizer {
        @Override
        public String apply(String text) {
            for (Normalizer n : steps) {
                text = n.apply(text);
            }
            return text;
        }
    }
}
