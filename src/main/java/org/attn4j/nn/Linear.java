package org.attn4j.nn;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * y = x W^T + b, with PyTorch's layout: {@code weight [out, in]}, {@code bias [out]}.
 * Applies to the last dimension of an input of any rank: {@code [..., in] -> [..., out]}.
 */
public final class Linear extends Module {
    /**
     * @param in   input width
     * @param out  output width
     * @param bias whether to add a learnable bias
     */
    public record Config(int in, int out, boolean bias) {
        public Config {
            if (in <= 0 || out <= 0) {
                throw new IllegalArgumentException(
                        "Linear widths must be positive, got in=" + in + ", out=" + out);
            }
        }
    }

    /** How the initial weights are drawn. */
    public enum Init {
        /** PyTorch's nn.Linear default: weight and bias uniform in +-1/sqrt(in). */
        TORCH_DEFAULT,
        /** Xavier/Glorot uniform weight, zero bias (PyTorch's MultiheadAttention projections). */
        XAVIER_UNIFORM
    }

    private final Config config;
    private final SDVariable weight; // [out, in]
    private final SDVariable bias; // [out], or null

    public Linear(SameDiff sd, String name, Config config, Init init, DataType dataType) {
        super(sd, name, dataType);
        this.config = config;
        int in = config.in(), out = config.out();
        double weightBound = init == Init.XAVIER_UNIFORM ? Math.sqrt(6.0 / (in + out)) : 1 / Math.sqrt(in);
        this.weight = parameter("weight", uniform(weightBound, out, in));
        this.bias = !config.bias() ? null : parameter("bias",
                init == Init.XAVIER_UNIFORM ? Nd4j.zeros(dataType, out) : uniform(1 / Math.sqrt(in), out));
    }

    public Linear(SameDiff sd, String name, Config config) {
        this(sd, name, config, Init.TORCH_DEFAULT, DataType.FLOAT);
    }

    /** The weight array {@code [out, in]} (the parameter itself, not a copy). */
    public INDArray weightArray() {
        return weight.getArr();
    }

    /** The bias array {@code [out]}, or null without a bias. */
    public INDArray biasArray() {
        return bias == null ? null : bias.getArr();
    }

    public Config config() {
        return config;
    }

    /** {@code [..., in] -> [..., out]}. */
    public SDVariable forward(SDVariable x) {
        SDVariable flat = sd.reshape(x, -1, config.in()); // (N, in)
        return Graphs.reshapeLike(forwardRows(flat), x, 1, config.out()); // [..., out]
    }

    /** Rows {@code [N, in] -> [N, out]}: no reshapes. */
    SDVariable forwardRows(SDVariable rows) {
        SDVariable y = sd.mmul(rows, weight, false, true, false); // (N, out)
        return bias == null ? y : y.add(bias);
    }

    private INDArray uniform(double bound, long... shape) {
        return Nd4j.rand(dataType, shape).muli(2 * bound).subi(bound);
    }
}
