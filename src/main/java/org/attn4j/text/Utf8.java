package org.attn4j.text;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/** UTF-8 decoding in the two ways Rust's {@code String::from_utf8} and {@code from_utf8_lossy} do it. */
final class Utf8 {
    private Utf8() {
    }

    /** The text, or null when the bytes are not valid UTF-8. */
    static String decodeStrict(byte[] bytes) {
        CharsetDecoder d = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        try {
            CharBuffer chars = d.decode(ByteBuffer.wrap(bytes));
            return chars.toString();
        } catch (CharacterCodingException e) {
            return null;
        }
    }

    /** The text with each maximal invalid subsequence replaced by one U+FFFD (Unicode's recommended practice). */
    static String decodeLossy(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
