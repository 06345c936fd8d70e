package org.attn4j.config;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A LayerNorm's or RMSNorm's parameters as the engine reads them: the layer's own arrays, named
 * {@code name.weight} and {@code name.bias}.
 *
 * @param name   the norm's name, e.g. {@code layers.0.norm1}
 * @param weight the gain {@code [C]}
 * @param bias   the shift {@code [C]}, or null: an RMSNorm
 * @param eps    added inside the square root
 */
public record NormWeights(String name, INDArray weight, INDArray bias, double eps) {
}
