package org.attn4j.decode;

/**
 * One generated sequence.
 *
 * @param tokens   the generated ids, without the prefix and without the end-of-sequence token
 * @param finished whether it ended with end-of-sequence (rather than at the length limit)
 * @param logProb  sum of the log-probabilities of the generated tokens (end-of-sequence included)
 * @param score    the score it was ranked by: logProb divided by the length penalty
 */
public record Hypothesis(int[] tokens, boolean finished, double logProb, double score) {
}
