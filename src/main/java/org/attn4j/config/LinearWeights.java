package org.attn4j.config;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A linear layer's parameters as the engine reads them: the layer's own arrays (not copies), and the name that
 * prefixes their parameter names ({@code name.weight}, {@code name.bias}).
 *
 * @param name    the layer's name, e.g. {@code layers.0.self_attn.q}
 * @param weight  {@code [out, in]} (PyTorch's layout); null when the layer holds {@code compact} instead
 * @param bias    {@code [out]}, or null
 * @param compact the weight in a compact format (inference only), or null: float32 or float64 {@code weight}
 */
public record LinearWeights(String name, INDArray weight, INDArray bias, CompactWeights compact) {
    /** A layer with its weight array (no compact form). */
    public LinearWeights(String name, INDArray weight, INDArray bias) {
        this(name, weight, bias, null);
    }

    public LinearWeights {
        if ((weight == null) == (compact == null)) {
            throw new IllegalArgumentException(name + ".weight: expected either a weight array or a compact weight, given "
                    + (weight == null ? "neither" : "both"));
        }
        if (weight != null && weight.rank() != 2) {
            throw new IllegalArgumentException(name + ".weight: expected [out, in], given "
                    + java.util.Arrays.toString(weight.shape()));
        }
        long out = weight != null ? weight.size(0) : compact.rows();
        if (bias != null && (bias.rank() != 1 || bias.size(0) != out)) {
            throw new IllegalArgumentException(name + ".bias: expected [" + out + "], given "
                    + java.util.Arrays.toString(bias.shape()));
        }
    }

    /** Output width. */
    public int out() {
        return weight != null ? (int) weight.size(0) : compact.rows();
    }

    /** Input width. */
    public int in() {
        return weight != null ? (int) weight.size(1) : compact.columns();
    }
}
