package org.attn4j.model;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What greedy decoding and beam search need of a decoding in progress: feed tokens, recompute from a
 * prefix, reorder the batch's rows. {@link DecodingSession} is the engine's; a caller may decode with its
 * own (the tests decode with {@code org.attn4j.samediff.ModelGraph} this way, as an independent reference).
 */
public interface StepDecoder extends AutoCloseable {
    /**
     * Feeds {@code tokens [B, T]}: the prefix on the first call, then the new tokens. Returns the
     * log-probabilities {@code [B, V]} of the next token.
     */
    INDArray advance(INDArray tokens);

    /** Log-probabilities {@code [B, V]} of the token after {@code prefix [B, T]}, recomputed from scratch. */
    INDArray recompute(INDArray prefix);

    /**
     * Forgets every token fed so far and feeds {@code tokens [B, T]} as a new prefix (against the same source, the
     * rows in their current order). Returns the log-probabilities {@code [B, V]} of the next token. Decoding slides
     * its window this way once the model's positions are used up ({@code org.attn4j.decode.Greedy}).
     */
    INDArray restart(INDArray tokens);

    /** The most tokens a decoding holds at once: the model's positions ({@code maxLen}). */
    int maxLength();

    /** Keeps batch rows {@code rows} (repeats allowed), in that order: beam search's reordering. */
    void select(int[] rows);

    /** Frees what the decoding holds. */
    @Override
    void close();
}
