package org.attn4j.config;

import java.util.Arrays;
import java.util.Locale;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/** Feed-forward activations, with PyTorch's exact definitions. */
public enum Activation {
    /** max(0, x). */
    RELU,
    /** PyTorch's default GELU, exact: 0.5 x (1 + erf(x / sqrt 2)). ND4J's own gelu is an approximation. */
    GELU,
    /** GELU with PyTorch's tanh approximation ({@code approximate='tanh'}). */
    GELU_TANH,
    /** x * sigmoid(x), also called swish. */
    SILU,
    /** SiLU-gated linear unit: silu(x W1) * (x W3), then W2 (Shazeer 2020). */
    SWIGLU;

    /** Applies the activation elementwise (for SWIGLU: the SiLU on the gated branch). */
    public SDVariable apply(SDVariable x) {
        SameDiff sd = x.getSameDiff();
        return switch (this) {
            case RELU -> sd.nn.relu(x, 0.0);
            case GELU -> x.mul(0.5).mul(sd.math.erf(x.mul(1 / Math.sqrt(2))).add(1.0));
            case GELU_TANH -> {
                SDVariable inner = x.add(x.mul(x).mul(x).mul(0.044715)).mul(Math.sqrt(2 / Math.PI));
                yield x.mul(0.5).mul(sd.math.tanh(inner).add(1.0));
            }
            case SILU, SWIGLU -> x.mul(sd.nn.sigmoid(x));
        };
    }

    /** Parses "relu", "gelu", "gelu_tanh", "silu" or "swiglu" (any case). */
    public static Activation parse(String name) {
        try {
            return valueOf(name.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException | NullPointerException e) {
            throw new IllegalArgumentException("Unknown activation '" + name + "'; expected one of "
                    + Arrays.toString(values()).toLowerCase(Locale.ROOT));
        }
    }
}
