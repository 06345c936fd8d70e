package org.attn4j.io;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.attn4j.model.ModelConfig;
import org.attn4j.nn.PositionalEncoding;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Holds a checkpoint's configuration against its weights before any model is built, so that a file
 * which is internally consistent (checksums recomputed) but lies about sizes is refused with one
 * message instead of an allocation failure.
 */
final class WeightsCheck {
    /**
     * The most elements of a table the model computes rather than loads (the sinusoidal positions,
     * {@code [maxLen, dModel]}) when the stored weights are smaller than this.
     */
    static final long MIN_COMPUTED_LIMIT = 1L << 20;

    private WeightsCheck() {
    }

    /**
     * Every parameter {@code config} implies is in {@code weights} with exactly its shape and a
     * floating-point type, and nothing else is; tables the model computes are no larger than the
     * weights (or {@link #MIN_COMPUTED_LIMIT}).
     *
     * @param weightsFile the file {@code weights} were read from, named in messages
     * @param modelFile   the file {@code config} was read from, named in messages
     */
    static void check(Path weightsFile, Path modelFile, ModelConfig config, Map<String, INDArray> weights) {
        String where = weightsFile + " does not fit " + modelFile + ": ";
        Set<String> expected = new HashSet<>(); // no larger than the weights: the walk stops at the first missing
        long[] stored = {0};
        ParameterShapes.forEach(config, (name, shape) -> {
            INDArray found = weights.get(name);
            if (found == null) {
                throw new CheckpointException(where + "parameter '" + name + "' is missing (expected shape "
                        + Arrays.toString(shape) + ")");
            }
            if (!Arrays.equals(shape, found.shape())) {
                throw new CheckpointException(where + "parameter '" + name + "' expected shape " + Arrays.toString(shape)
                        + ", found " + Arrays.toString(found.shape()));
            }
            if (!found.dataType().isFPType()) {
                throw new CheckpointException(where + "parameter '" + name + "' expected floating point, found "
                        + found.dataType());
            }
            expected.add(name);
            stored[0] += found.length(); // bounded by the file, which holds every element
        });
        for (Map.Entry<String, INDArray> e : weights.entrySet()) {
            if (!expected.contains(e.getKey())) {
                throw new CheckpointException(where + "unexpected parameter '" + e.getKey() + "' "
                        + Arrays.toString(e.getValue().shape()) + " (the configuration implies none of that name)");
            }
        }
        if (config.positions() == PositionalEncoding.SINUSOIDAL) {
            long table = (long) config.maxLen() * config.dModel(), limit = Math.max(stored[0], MIN_COMPUTED_LIMIT);
            if (table > limit) {
                throw new CheckpointException(modelFile + ": sinusoidal positions [maxLen " + config.maxLen()
                        + ", dModel " + config.dModel() + "] would be computed with " + table + " elements; at most "
                        + limit + " (the stored weights' " + stored[0] + " or " + MIN_COMPUTED_LIMIT + ")");
            }
        }
    }
}
