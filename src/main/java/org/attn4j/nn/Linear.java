package org.attn4j.nn;

import org.attn4j.config.WeightFormat;
import org.attn4j.kernels.Buf;
import org.attn4j.kernels.CompactMatrices;
import org.attn4j.kernels.CompactMatrix;
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
    private INDArray weight; // [out, in]; null once converted to a compact format
    private CompactMatrix compact; // the weight in bfloat16 or int8, or null
    private final INDArray bias; // [out], or null

    public Linear(String name, Config config, Init init, DataType dataType) {
        super(name, dataType);
        this.config = config;
        int in = config.in(), out = config.out();
        double weightBound = init == Init.XAVIER_UNIFORM ? Math.sqrt(6.0 / (in + out)) : 1 / Math.sqrt(in);
        this.weight = parameter("weight", () -> uniform(weightBound, out, in), out, in);
        this.bias = !config.bias() ? null : parameter("bias",
                () -> init == Init.XAVIER_UNIFORM ? Nd4j.zeros(dataType, out) : uniform(1 / Math.sqrt(in), out), out);
    }

    public Linear(String name, Config config) {
        this(name, config, Init.TORCH_DEFAULT, DataType.FLOAT);
    }

    /** The weight array {@code [out, in]} (the parameter itself, not a copy); null once {@link #convertWeight converted}. */
    public INDArray weightArray() {
        return weight;
    }

    /** The format the weight is held in: FLOAT32 (or the float64 of a float64 layer) until {@link #convertWeight}. */
    public WeightFormat weightFormat() {
        return compact == null ? WeightFormat.FLOAT32 : compact.format();
    }

    /**
     * Holds the weight in {@code format} from now on, for inference: the float32 array is converted
     * ({@link CompactMatrices#of}), freed and no longer a parameter, so the layer cannot be trained or saved
     * afterwards. FLOAT32, or the format it already has, changes nothing.
     *
     * @throws IllegalStateException for a float64 layer, or one already in another compact format
     */
    public void convertWeight(WeightFormat format) {
        if (format == weightFormat() || format == WeightFormat.FLOAT32 && compact == null) {
            return;
        }
        if (compact != null || dataType != DataType.FLOAT) {
            throw new IllegalStateException(name + ".weight is " + (compact != null ? weightFormat() : dataType)
                    + "; only a float32 weight converts to " + format);
        }
        compact = CompactMatrices.of(Buf.of(weight), config.out(), config.in(), format);
        release("weight");
        weight.close();
        weight = null;
    }

    /** The bias array {@code [out]}, or null without a bias. */
    public INDArray biasArray() {
        return bias;
    }

    public Config config() {
        return config;
    }

    /** Its arrays by role, with its name (what the engine reads). */
    public org.attn4j.config.LinearWeights weights() {
        return new org.attn4j.config.LinearWeights(name, weight, bias, compact);
    }

    private INDArray uniform(double bound, long... shape) {
        return Nd4j.rand(dataType, shape).muli(2 * bound).subi(bound);
    }
}
