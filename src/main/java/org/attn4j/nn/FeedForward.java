package org.attn4j.nn;

import org.attn4j.config.Activation;
import org.attn4j.kernels.DropoutSeed;
import org.attn4j.kernels.Parallel;
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
    private volatile FastFeedForward fast; // the engine of train, made on first use (holds no call's state)

    public FeedForward(String name, Config config, DataType dataType) {
        super(name, dataType);
        this.config = config;
        int c = config.dModel(), f = config.hidden();
        this.linear1 = linear("linear1", c, f);
        this.linear2 = linear("linear2", f, c);
        this.gate = config.activation() == Activation.SWIGLU ? linear("gate", c, f) : null;
    }

    public FeedForward(String name, Config config) {
        this(name, config, DataType.FLOAT);
    }

    /** A stand-alone layer (parameter names without a prefix: {@code linear1.weight}, ...). */
    public static FeedForward create(Config config, DataType dataType) {
        return new FeedForward("", config, dataType);
    }

    private Linear linear(String local, int in, int out) {
        return child(new Linear(qualify(local), new Linear.Config(in, out, config.bias()),
                Linear.Init.TORCH_DEFAULT, dataType));
    }

    /** linear1, linear2 and the SwiGLU gate (null otherwise); the engine and {@code org.attn4j.samediff} read their arrays. */
    public Linear[] linears() {
        return new Linear[] {linear1, linear2, gate};
    }

    public Config config() {
        return config;
    }

    /**
     * Eager, on the engine: {@code x [B, T, C] -> [B, T, C]} (an empty {@code x} gives an empty result). Safe for any number
     * of threads at once; {@code org.attn4j.samediff.FeedForwardGraph} is the same layer inside a SameDiff graph.
     */
    public INDArray apply(INDArray x) {
        check(x);
        checkType("x", x);
        if (x.length() == 0) {
            return x.dup();
        }
        FastFeedForward.Pass pass = engine().forward(x, null, inputChecks()); // the engine scans x for NaN
        pass.close(); // no backward: what it would read goes now
        return pass.output();
    }

    /**
     * A training forward on the engine ({@link FastFeedForward}), without dropout: the output {@code [B, T, C]}
     * of {@link #apply} and a pass that keeps what its backward needs. The pass is the caller's: any number of
     * threads may train one layer at once, each with its own passes.
     *
     * <pre>{@code
     * FeedForwardPass pass = ff.train(x);                         // x [B, T, C]
     * LayerGradients g = pass.backward(dLossByOutput);           // [B, T, C] in
     * g.input(); g.parameters().get("linear1.weight");           // dx [B, T, C], dW1 [F, C]
     * }</pre>
     * A layer with dropout drops nothing here (as in evaluation): {@link #train(INDArray, DropoutSeed)} drops
     * with a seed.
     */
    public FeedForwardPass train(INDArray x) {
        return train(x, null);
    }

    /**
     * {@link #train(INDArray)}, with the hidden units dropped (the layer's dropout p, inverted) by the masks of
     * {@code dropout} (null: none); the backward uses the same masks.
     */
    public FeedForwardPass train(INDArray x, DropoutSeed dropout) {
        check(x);
        checkType("x", x);
        return new FeedForwardPass(engine().forward(x, dropout, inputChecks()), dataType, (int) x.size(0),
                (int) x.size(1), config.dModel()); // the engine scans its copy of x for NaN
    }

    private void check(INDArray x) {
        Checks.rank("x", x, 3, "[B, T, dModel]");
        Checks.shape("x [B, T, dModel=" + config.dModel() + "]", x, -1, -1, config.dModel());
    }

    /** Its projections' arrays by role (what the engine reads; gate: SwiGLU only). */
    public org.attn4j.config.FeedForwardWeights weights() {
        return new org.attn4j.config.FeedForwardWeights(linear1.weights(), linear2.weights(),
                gate == null ? null : gate.weights());
    }

    private FastFeedForward engine() {
        FastFeedForward f = fast;
        if (f == null) {
            synchronized (this) {
                if (fast == null) {
                    fast = new FastFeedForward(config, weights(), Parallel.shared());
                }
                f = fast;
            }
        }
        return f;
    }
}
