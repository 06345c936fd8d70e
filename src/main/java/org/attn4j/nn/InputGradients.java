package org.attn4j.nn;

import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What the engine's backward of a one-input layer gives: the gradient with respect to its input, and every
 * parameter's by the layer's parameter names.
 */
public record InputGradients(INDArray input, Map<String, INDArray> parameters) {
}
