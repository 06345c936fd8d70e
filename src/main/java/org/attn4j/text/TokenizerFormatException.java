package org.attn4j.text;

/** A tokenizer file that cannot be read: the message names the file, the key and what was expected. */
public final class TokenizerFormatException extends IllegalArgumentException {
    /** @param message one line: where, what was expected, what was found */
    public TokenizerFormatException(String message) {
        super(message);
    }
}
