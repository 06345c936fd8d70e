package org.attn4j.text;

import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/** Compiles the Oniguruma patterns found in tokenizer.json with {@code java.util.regex}'s Unicode classes. */
final class Regexes {
    private Regexes() {
    }

    /** {@code \s}, {@code \p{L}} and case folding as Unicode defines them, as Oniguruma does for UTF-8 text. */
    static Pattern compile(String regex) {
        return Pattern.compile(regex, Pattern.UNICODE_CHARACTER_CLASS);
    }

    /** Unicode's White_Space property: Rust's {@code char::is_whitespace} and regex {@code \s}. */
    static boolean isWhiteSpace(int c) {
        return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680
                || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F
                || c == 0x3000;
    }

    /** Rust regex's Unicode {@code \w}: letters, marks, decimal digits, connector punctuation, joiners. */
    static boolean isWordChar(int c) {
        int type = Character.getType(c);
        return Character.isAlphabetic(c) || type == Character.NON_SPACING_MARK || type == Character.ENCLOSING_MARK
                || type == Character.COMBINING_SPACING_MARK || type == Character.DECIMAL_DIGIT_NUMBER
                || type == Character.CONNECTOR_PUNCTUATION || c == 0x200C || c == 0x200D;
    }

    /** A pattern from the file, with the JSON path named if it does not compile. */
    static Pattern compile(String regex, String where) {
        try {
            return compile(regex);
        } catch (PatternSyntaxException e) {
            throw new TokenizerFormatException(where + ": regex '" + regex + "' does not compile in Java: "
                    + e.getDescription());
        }
    }
}
