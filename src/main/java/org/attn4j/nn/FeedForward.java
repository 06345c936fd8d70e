package org.attn4j.nn;

import java.util.Map;
import org.attn4j.config.Activation;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The position-wise feed-forward network: {@code linear2(dropout(act(linear1(x))))}, or with SwiGLU
 * {@code linear2(dropout(silu(linear1(x)) * gate(x)))}.
 * Parameters: {@code linear1 [F, C]}, {@code linear2 [C, F]}, and for SwiGLU {@code gate [F, C]}.
 */
public final class FeedForward extends Module {
    /**
     * @param dModel     input and output width C
     * @param hidden     inner width F
     * @param activation the nonlinearity
     * @param bias       whether the linear layers have biases
     * @param dropout    dropout after the activation, active only while training
     */
    public record Config(int dModel, int hidden, Activation activation, boolean bias, double dropout) {
        public Config {
            if (dModel <= 0 || hidden <= 0) {
                throw new IllegalArgumentException("FeedForward widths must be positive, got dModel=" + dModel
                        + ", hidden=" + hidden);
            }
            Checks.notNull("activation", activation);
            if (!(dropout >= 0 && dropout < 1)) {
                throw new IllegalArgumentException("feed-forward dropout must be in [0, 1), got " + dropout);
            }
        }

        public static Config of(int dModel, int hidden, Activation activation) {
            return new Config(dModel, hidden, activation, true, 0);
        }
    }

    private final Config config;
    private final Linear linear1, linear2, gate;

    public FeedForward(SameDiff sd, String name, Config config, DataType dataType) {
        super(sd, name, dataType);
        this.config = config;
        int c = config.dModel(), f = config.hidden();
        this.linear1 = linear("linear1", c, f);
        this.linear2 = linear("linear2", f, c);
        this.gate = config.activation() == Activation.SWIGLU ? linear("gate", c, f) : null;
    }

    public FeedForward(SameDiff sd, String name, Config config) {
        this(sd, name, config, DataType.FLOAT);
    }

    /** A stand-alone layer in a graph of its own, for eager use with {@link #apply}. */
    public static FeedForward create(Config config, DataType dataType) {
        return new FeedForward(SameDiff.create(), "", config, dataType);
    }

    private Linear linear(String local, int in, int out) {
        return child(new Linear(sd, qualify(local), new Linear.Config(in, out, config.bias()),
                Linear.Init.TORCH_DEFAULT, dataType));
    }

    public Config config() {
        return config;
    }

    /** {@code [B, T, C] -> [B, T, C]}. */
    public SDVariable forward(SDVariable x) {
        return Graphs.reshapeLike(forwardRows(sd.reshape(x, -1, config.dModel())), x, 1, config.dModel());
    }

    /** Rows {@code [N, C] -> [N, C]}: no reshapes. */
    SDVariable forwardRows(SDVariable rows) {
        SDVariable hidden = config.activation().apply(linear1.forwardRows(rows)); // [N, F]
        if (gate != null) {
            hidden = hidden.mul(gate.forwardRows(rows));
        }
        return linear2.forwardRows(Dropout.apply(hidden, config.dropout()));
    }

    /** Eager: {@code x [B, T, C] -> [B, T, C]}. */
    public INDArray apply(INDArray x) {
        Checks.rank("x", x, 3, "[B, T, dModel]");
        Checks.shape("x [B, T, dModel=" + config.dModel() + "]", x, -1, -1, config.dModel());
        checkDataType("x", x);
        return runEager("forward", Map.of("x", x), in -> Map.of("y", forward(in.get("x")))).get("y");
    }
}
