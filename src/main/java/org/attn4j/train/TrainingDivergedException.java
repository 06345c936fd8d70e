package org.attn4j.train;

/** Training produced a NaN or infinite loss or gradient; the weights are those of the last good step. */
public final class TrainingDivergedException extends RuntimeException {
    public TrainingDivergedException(String message) {
        super(message);
    }
}
