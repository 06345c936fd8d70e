/**
 * Training: learning-rate schedules as ND4J {@code ISchedule}s, and the {@link org.attn4j.train.Trainer} loop
 * with ND4J's updaters, gradient clipping, early stopping, divergence checks and a history;
 * {@link org.attn4j.train.ParameterUpdater} runs the updaters on named parameters, also for a block trained on
 * the engine directly. The label-smoothed cross-entropy is the engine's ({@code FastTransformer}); as a SameDiff
 * op it is {@code org.attn4j.samediff.Losses}.
 */
package org.attn4j.train;
