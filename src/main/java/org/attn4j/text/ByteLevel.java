package org.attn4j.text;

import java.nio.charset.StandardCharsets;

/**
 * GPT-2's reversible map from the 256 byte values to printable characters, so that every byte sequence is a
 * string of visible symbols: printable Latin-1 bytes stand for themselves, the other 68 take U+0100 onwards.
 */
final class ByteLevel {
    private static final char[] BYTE_TO_CHAR = new char[256];
    private static final int[] CHAR_TO_BYTE = new int[512];

    static {
        java.util.Arrays.fill(CHAR_TO_BYTE, -1);
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            char c = (char) (printable ? b : next++);
            BYTE_TO_CHAR[b] = c;
            CHAR_TO_BYTE[c] = b;
        }
    }

    private ByteLevel() {
    }

    /** The text's UTF-8 bytes, each written as its printable stand-in. */
    static String encode(String text) {
        boolean ascii = true;
        for (int i = 0; i < text.length() && ascii; i++) {
            ascii = text.charAt(i) < 0x80;
        }
        char[] out;
        if (ascii) {
            out = new char[text.length()];
            for (int i = 0; i < out.length; i++) {
                out[i] = BYTE_TO_CHAR[text.charAt(i)];
            }
        } else {
            byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
            out = new char[bytes.length];
            for (int i = 0; i < out.length; i++) {
                out[i] = BYTE_TO_CHAR[bytes[i] & 0xFF];
            }
        }
        return new String(out);
    }

    /** The byte a stand-in character represents, or -1 when the character is not one of the 256. */
    static int byteOf(char c) {
        return c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
    }

    /** The 256 stand-in characters (HF's {@code ByteLevel.alphabet()}). */
    static char[] alphabet() {
        return BYTE_TO_CHAR.clone();
    }
}
