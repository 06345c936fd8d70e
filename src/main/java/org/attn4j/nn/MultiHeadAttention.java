package org.attn4j.nn;

import org.attn4j.config.AttentionMask;
import org.attn4j.kernels.DropoutSeed;
import org.attn4j.kernels.Parallel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Multi-head attention with learnable query, key, value and output projections
 * (Vaswani et al. 2017, section 3.2.2), computing what PyTorch's {@code nn.MultiheadAttention} does.
 *
 * <p>Parameters: {@code q.weight [C, C]}, {@code k.weight [KV, kDim]}, {@code v.weight [KV, vDim]},
 * {@code out.weight [C, C]}, and with {@code bias} a {@code .bias} for each ([C], [KV], [KV], [C]), where
 * KV = kvHeads * D is C unless the layer is grouped-query (fewer key/value heads, each shared by
 * H / kvHeads query heads; a decoding cache holds only the kvHeads heads).
 */
public final class MultiHeadAttention extends Module {
    /**
     * @param dModel  model width C (queries and output)
     * @param heads   number of heads H; C must be divisible by H
     * @param kDim    width of the keys as given (PyTorch's kdim), C unless cross-attending
     * @param vDim    width of the values as given (PyTorch's vdim)
     * @param bias    whether the four projections have biases
     * @param causal  whether query i may only see keys up to i
     * @param dropout dropout on the attention weights, active only while training
     * @param rotary  whether queries and keys get rotary position embeddings (RoPE); needs an even head width
     * @param kvHeads key/value heads: H (multi-head), a divisor of H (grouped-query: each key/value head
     *                serves H / kvHeads query heads, as PyTorch's {@code enable_gqa}) or 1 (multi-query)
     * @param alibi   whether scores get ALiBi's linear position biases {@code -m_h |i - j|} (Press et al. 2022)
     * @param window  sliding-window (local) attention: query i sees only keys j with {@code |i - j| < window}
     *                (causal: the last {@code window} positions, itself included); 0 for no window
     * @param qkvBias whether the query, key and value projections have biases even when {@code bias} is false
     *                (Qwen2's attention)
     * @param rope    the rotary frequencies (null: {@link Rope#DEFAULT}); used only with {@code rotary}
     */
    public record Config(int dModel, int heads, int kDim, int vDim, boolean bias, boolean causal, double dropout,
            boolean rotary, int kvHeads, boolean alibi, int window, boolean qkvBias, Rope rope) {
        /** Grouped-query attention as before biases on q, k, v alone and the rotary base could be set. */
        public Config(int dModel, int heads, int kDim, int vDim, boolean bias, boolean causal, double dropout,
                boolean rotary, int kvHeads, boolean alibi, int window) {
            this(dModel, heads, kDim, vDim, bias, causal, dropout, rotary, kvHeads, alibi, window, false, Rope.DEFAULT);
        }

        /** Multi-head attention (kvHeads = heads), no ALiBi, no window. */
        public Config(int dModel, int heads, int kDim, int vDim, boolean bias, boolean causal, double dropout,
                boolean rotary) {
            this(dModel, heads, kDim, vDim, bias, causal, dropout, rotary, heads, false, 0, false, Rope.DEFAULT);
        }

        public Config {
            rope = rope == null ? Rope.DEFAULT : rope;
            if (dModel <= 0 || heads <= 0 || kDim <= 0 || vDim <= 0) {
                throw new IllegalArgumentException("dModel, heads, kDim and vDim must be positive, got dModel="
                        + dModel + ", heads=" + heads + ", kDim=" + kDim + ", vDim=" + vDim);
            }
            if (dModel % heads != 0) {
                throw new IllegalArgumentException("dModel " + dModel + " is not divisible by heads " + heads);
            }
            if (!(dropout >= 0 && dropout < 1)) {
                throw new IllegalArgumentException("attention dropout must be in [0, 1), got " + dropout);
            }
            if (kvHeads <= 0 || kvHeads > heads || heads % kvHeads != 0) {
                throw new IllegalArgumentException("heads " + heads + " is not a multiple of kvHeads " + kvHeads
                        + " (kvHeads must divide heads; kvHeads = heads is multi-head attention)");
            }
            if (window < 0) {
                throw new IllegalArgumentException("attention window must be 0 (none) or positive, got " + window);
            }
            if (rotary && (dModel / heads) % 2 != 0) {
                throw new IllegalArgumentException("rotary embeddings need an even head width; dModel " + dModel
                        + " / heads " + heads + " = " + dModel / heads);
            }
        }

        /** Self-attention of width dModel with biases, no mask, no dropout. */
        public static Config of(int dModel, int heads) {
            return new Config(dModel, heads, dModel, dModel, true, false, 0, false);
        }

        public Config withKeyValueDims(int kDim, int vDim) {
            return new Config(dModel, heads, kDim, vDim, bias, causal, dropout, rotary, kvHeads, alibi, window, qkvBias, rope);
        }

        public Config withBias(boolean b) {
            return new Config(dModel, heads, kDim, vDim, b, causal, dropout, rotary, kvHeads, alibi, window, qkvBias, rope);
        }

        public Config withCausal(boolean c) {
            return new Config(dModel, heads, kDim, vDim, bias, c, dropout, rotary, kvHeads, alibi, window, qkvBias, rope);
        }

        public Config withDropout(double p) {
            return new Config(dModel, heads, kDim, vDim, bias, causal, p, rotary, kvHeads, alibi, window, qkvBias, rope);
        }

        public Config withRotary(boolean r) {
            return new Config(dModel, heads, kDim, vDim, bias, causal, dropout, r, kvHeads, alibi, window, qkvBias, rope);
        }

        /** Grouped-query attention with {@code kv} key/value heads (1: multi-query). */
        public Config withKvHeads(int kv) {
            return new Config(dModel, heads, kDim, vDim, bias, causal, dropout, rotary, kv, alibi, window, qkvBias, rope);
        }

        public Config withAlibi(boolean a) {
            return new Config(dModel, heads, kDim, vDim, bias, causal, dropout, rotary, kvHeads, a, window, qkvBias, rope);
        }

        /** Biases on the query, key and value projections alone ({@code bias} false) or on all four. */
        public Config withQkvBias(boolean b) {
            return new Config(dModel, heads, kDim, vDim, bias, causal, dropout, rotary, kvHeads, alibi, window, b, rope);
        }

        /** Rotary frequencies {@code r} (with {@code rotary}). */
        public Config withRope(Rope r) {
            return new Config(dModel, heads, kDim, vDim, bias, causal, dropout, rotary, kvHeads, alibi, window, qkvBias, r);
        }

        /** Sliding-window attention over {@code w} positions (0: none). */
        public Config withWindow(int w) {
            return new Config(dModel, heads, kDim, vDim, bias, causal, dropout, rotary, kvHeads, alibi, w, qkvBias, rope);
        }

        /** Width of the keys and values after projection: kvHeads * D. */
        public int kvWidth() {
            return kvHeads * headDim();
        }

        /** Head width D = C / H. */
        public int headDim() {
            return dModel / heads;
        }
    }

    private final Config config;
    private volatile FastAttention fast; // the engine of apply and train, made on first use (holds no call's state)
    private final Linear q, k, v, out;

    public MultiHeadAttention(String name, Config config, DataType dataType) {
        super(name, dataType);
        this.config = config;
        int c = config.dModel();
        this.q = projection("q", c, c);
        this.k = projection("k", config.kDim(), config.kvWidth());
        this.v = projection("v", config.vDim(), config.kvWidth());
        this.out = child(new Linear(qualify("out"), new Linear.Config(c, c, config.bias()),
                Linear.Init.TORCH_DEFAULT, dataType));
    }

    public MultiHeadAttention(String name, Config config) {
        this(name, config, DataType.FLOAT);
    }

    /** A stand-alone layer (parameter names without a prefix: {@code q.weight}, ...). */
    public static MultiHeadAttention create(Config config, DataType dataType) {
        return new MultiHeadAttention("", config, dataType);
    }

    private Linear projection(String local, int in, int out) {
        return child(new Linear(qualify(local), new Linear.Config(in, out, config.bias() || config.qkvBias()),
                Linear.Init.XAVIER_UNIFORM, dataType));
    }

    /** The projections: query, key, value, output (the engine and {@code org.attn4j.samediff} read their arrays). */
    public Linear[] projections() {
        return new Linear[] {q, k, v, out};
    }

    public Config config() {
        return config;
    }

    /** Its projections' arrays by role (what the engine reads). */
    public org.attn4j.config.AttentionWeights weights() {
        return new org.attn4j.config.AttentionWeights(q.weights(), k.weights(), v.weights(), out.weights());
    }

    /** Eager self-attention on {@code x [B, T, C]}. */
    public AttentionOutput<INDArray> apply(INDArray x, AttentionMask<INDArray> mask) {
        return apply(x, x, x, mask);
    }

    /**
     * Eager attention on {@code query [B, Tq, C]}, {@code key [B, Tk, kDim]}, {@code value [B, Tk, vDim]}
     * under any mask, on the engine ({@link FastAttention}); {@code org.attn4j.samediff.MultiHeadAttentionGraph} is
     * the same layer inside a SameDiff graph.
     * Safe for any number of threads at once.
     */
    public AttentionOutput<INDArray> apply(INDArray query, INDArray key, INDArray value,
            AttentionMask<INDArray> mask) {
        check(query, key, value, mask);
        FastAttention.Pass pass = engine().apply(query, key, value, mask, inputChecks()); // it scans its copy for NaN
        return new AttentionOutput<>(pass.output(), pass.weights());
    }

    /**
     * A training forward on the engine: the output {@code [B, Tq, C]} and weights {@code [B, H, Tq, Tk]} of
     * {@link #apply}, and a pass that keeps what its backward needs. The pass is the caller's: any number of
     * threads may train one layer at once, each with its own passes.
     *
     * <pre>{@code
     * AttentionPass pass = mha.train(x, x, x, mask);                    // self-attention
     * AttentionGradients g = pass.backward(dLossByOutput);              // [B, Tq, C] in
     * g.input(); g.parameters().get("q.weight");                        // dx [B, T, C], dWq [C, C]
     * }</pre>
     * No dropout: {@link #train(INDArray, INDArray, INDArray, AttentionMask, DropoutSeed)} drops with a seed.
     */
    public AttentionPass train(INDArray query, INDArray key, INDArray value, AttentionMask<INDArray> mask) {
        return train(query, key, value, mask, null);
    }

    /**
     * {@link #train(INDArray, INDArray, INDArray, AttentionMask)}, with the attention weights dropped (the
     * layer's dropout p, inverted) by the masks of {@code dropout} (null: none); the backward uses the same masks.
     */
    public AttentionPass train(INDArray query, INDArray key, INDArray value, AttentionMask<INDArray> mask,
            DropoutSeed dropout) {
        check(query, key, value, mask);
        return new AttentionPass(engine().forward(query, key, value, mask, dropout, inputChecks()), dataType,
                (int) query.size(0), (int) query.size(1), config.dModel());
    }

    private void check(INDArray query, INDArray key, INDArray value, AttentionMask<INDArray> mask) {
        Checks.rank("query", query, 3, "[B, Tq, dModel]");
        Checks.rank("key", key, 3, "[B, Tk, kDim]");
        Checks.rank("value", value, 3, "[B, Tk, vDim]");
        long b = query.size(0), tq = query.size(1), tk = key.size(1);
        Checks.shape("query [B, Tq, dModel=" + config.dModel() + "]", query, -1, -1, config.dModel());
        Checks.shape("key [B, Tk, kDim=" + config.kDim() + "]", key, b, -1, config.kDim());
        Checks.shape("value [B, Tk, vDim=" + config.vDim() + "]", value, b, tk, config.vDim());
        checkType("query", query);
        checkType("key", key);
        checkType("value", value);
        Checks.mask(mask, b, config.heads(), tq, tk);
    }

    private FastAttention engine() {
        FastAttention f = fast;
        if (f == null) {
            synchronized (this) {
                if (fast == null) {
                    fast = new FastAttention(config, weights(), Parallel.shared());
                }
                f = fast;
            }
        }
        return f;
    }
}
