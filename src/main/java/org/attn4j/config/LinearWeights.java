package org.attn4j.config;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A linear layer's parameters as the engine reads them: the layer's own arrays (not copies), and the name that
 * prefixes their parameter names ({@code name.weight}, {@code name.bias}).
 *
 * @param name   the layer's name, e.g. {@code layers.0.self_attn.q}
 * @param weight {@code [out, in]} (PyTorch's layout)
 * @param bias   {@code [out]}, or null
 */
public record LinearWeights(String name, INDArray weight, INDArray bias) {
    public LinearWeights {
        if (weight == null || weight.rank() != 2) {
            throw new IllegalArgumentException(name + ".weight: expected [out, in], given "
                    + (weight == null ? "null" : java.util.Arrays.toString(weight.shape())));
        }
        if (bias != null && (bias.rank() != 1 || bias.size(0) != weight.size(0))) {
            throw new IllegalArgumentException(name + ".bias: expected [" + weight.size(0) + "], given "
                    + java.util.Arrays.toString(bias.shape()));
        }
    }
}
