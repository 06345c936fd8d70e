package org.attn4j.spark;

import java.io.Serializable;

/**
 * What the driver broadcasts each round.
 *
 * @param modelId        identifies the driver's model; executors keep built models under it
 * @param spec           how to build the model
 * @param weights        every parameter, flattened in the model's parameter order
 * @param optimizerState the driver's updater state, flattened (parameter averaging only, else null)
 * @param step           the driver's step count: which batch of its shard each partition takes
 */
record Snapshot(String modelId, ModelSpec spec, double[] weights, double[] optimizerState, int step)
        implements Serializable {
    private static final long serialVersionUID = 1L;
}
