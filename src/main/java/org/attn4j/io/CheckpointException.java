package org.attn4j.io;

/** A checkpoint that cannot be saved or loaded; the message names the file and what is wrong. */
public final class CheckpointException extends RuntimeException {
    public CheckpointException(String message) {
        super(message);
    }

    public CheckpointException(String message, Throwable cause) {
        super(message, cause);
    }
}
