/**
 * Training: the label-smoothed cross-entropy ({@link org.attn4j.train.Losses}), learning-rate
 * schedules as ND4J {@code ISchedule}s, and the {@link org.attn4j.train.Trainer} loop with ND4J's
 * updaters, gradient clipping, early stopping, divergence checks and a history.
 */
package org.attn4j.train;
