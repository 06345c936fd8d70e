package org.attn4j.nn;

import org.attn4j.config.AttentionMask;
import org.attn4j.kernels.DropoutSeed;
import org.attn4j.kernels.Parallel;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
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
     */
    public record Config(int dModel, int heads, int kDim, int vDim, boolean bias, boolean causal, double dropout,
            boolean rotary, int kvHeads, boolean alibi, int window) {
        /** Multi-head attention (kvHeads = heads), no ALiBi, no window. */
        public Config(int dModel, int heads, int kDim, int vDim, boolean bias, boolean causal, double dropout,
                boolean rotary) {
            this(dModel, heads, kDim, vDim, bias, causal, dropout, rotary, heads, false, 0);
        }

        public Config {
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
            return new Config(dModel, heads, kDim, vDim, bias, causal, dropout, rotary, kvHeads, alibi, window);
        }

        public Config withBias(boolean b) {
            return new Config(dModel, heads, kDim, vDim, b, causal, dropout, rotary, kvHeads, alibi, window);
        }

        public Config withCausal(boolean c) {
            return new Config(dModel, heads, kDim, vDim, bias, c, dropout, rotary, kvHeads, alibi, window);
        }

        public Config withDropout(double p) {
            return new Config(dModel, heads, kDim, vDim, bias, causal, p, rotary, kvHeads, alibi, window);
        }

        public Config withRotary(boolean r) {
            return new Config(dModel, heads, kDim, vDim, bias, causal, dropout, r, kvHeads, alibi, window);
        }

        /** Grouped-query attention with {@code kv} key/value heads (1: multi-query). */
        public Config withKvHeads(int kv) {
            return new Config(dModel, heads, kDim, vDim, bias, causal, dropout, rotary, kv, alibi, window);
        }

        public Config withAlibi(boolean a) {
            return new Config(dModel, heads, kDim, vDim, bias, causal, dropout, rotary, kvHeads, a, window);
        }

        /** Sliding-window attention over {@code w} positions (0: none). */
        public Config withWindow(int w) {
            return new Config(dModel, heads, kDim, vDim, bias, causal, dropout, rotary, kvHeads, alibi, w);
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
    private final ScaledDotProductAttention attention;

    public MultiHeadAttention(SameDiff sd, String name, Config config, DataType dataType) {
        super(sd, name, dataType);
        this.config = config;
        int c = config.dModel();
        this.q = projection("q", c, c);
        this.k = projection("k", config.kDim(), config.kvWidth());
        this.v = projection("v", config.vDim(), config.kvWidth());
        this.out = child(new Linear(sd, qualify("out"), new Linear.Config(c, c, config.bias()),
                Linear.Init.TORCH_DEFAULT, dataType));
        this.attention = new ScaledDotProductAttention(
                ScaledDotProductAttention.Config.standard().withDropout(config.dropout()));
    }

    public MultiHeadAttention(SameDiff sd, String name, Config config) {
        this(sd, name, config, DataType.FLOAT);
    }

    /** A stand-alone layer in a graph of its own, for eager use with {@link #apply}. */
    public static MultiHeadAttention create(Config config, DataType dataType) {
        return new MultiHeadAttention(SameDiff.create(), "", config, dataType);
    }

    private Linear projection(String local, int in, int out) {
        return child(new Linear(sd, qualify(local), new Linear.Config(in, out, config.bias()),
                Linear.Init.XAVIER_UNIFORM, dataType));
    }

    /** The projections, for the engine to read their arrays: query, key, value, output. */
    Linear[] projections() {
        return new Linear[] {q, k, v, out};
    }

    public Config config() {
        return config;
    }

    /** Self-attention: {@code x [B, T, C] -> [B, T, C]}, weights {@code [B, H, T, T]}. */
    public AttentionOutput<SDVariable> forward(SDVariable x, AttentionMask<SDVariable> mask) {
        return forward(x, x, x, mask);
    }

    /**
     * Attention of {@code query [B, Tq, C]} over {@code key [B, Tk, kDim]} and {@code value [B, Tk, vDim]}.
     *
     * @return output {@code [B, Tq, C]} and per-head weights {@code [B, H, Tq, Tk]}
     */
    public AttentionOutput<SDVariable> forward(SDVariable query, SDVariable key, SDVariable value,
            AttentionMask<SDVariable> mask) {
        return onSequences(query, key, value, mask, null).attention();
    }

    /** Attention output together with the keys and values it used, for incremental decoding. */
    public record CachedAttention(AttentionOutput<SDVariable> attention, KvCache<SDVariable> cache) {
    }

    /**
     * Incremental self-attention: the new tokens {@code x [B, Tnew, C]} attend to the cached keys
     * and values {@code [B, H, Tpast, D]} (none when {@code past} is null) and to themselves.
     * Returns the output {@code [B, Tnew, C]}, weights {@code [B, H, Tnew, Tpast + Tnew]} and the
     * grown cache. Gives what {@link #forward} gives on the whole sequence, for the new rows.
     */
    public CachedAttention step(SDVariable x, KvCache<SDVariable> past, AttentionMask<SDVariable> mask) {
        return onSequences(x, x, x, mask, past);
    }

    /** {@link #attendRows} on sequences {@code [B, T, width]}: flattens them, and reshapes the output back. */
    private CachedAttention onSequences(SDVariable query, SDVariable key, SDVariable value,
            AttentionMask<SDVariable> mask, KvCache<SDVariable> past) {
        SequenceShape qs = SequenceShape.of(query), ks = key == query ? qs : SequenceShape.of(key);
        SDVariable qRows = SequenceShape.rows(query, config.dModel());
        SDVariable kRows = key == query && config.kDim() == config.dModel() ? qRows : SequenceShape.rows(key, config.kDim());
        SDVariable vRows = value == key && config.vDim() == config.kDim() ? kRows : SequenceShape.rows(value, config.vDim());
        CachedAttention c = attendRows(qRows, qs, kRows, vRows, ks, mask, past);
        return new CachedAttention(new AttentionOutput<>(qs.unflatten(c.attention().output(), config.dModel()),
                c.attention().weights()), c.cache());
    }

    /**
     * The layer on rows: {@code query [B*Tq, C]} of sequences shaped {@code qs}, keys and values
     * {@code [B*Tk, kDim/vDim]} shaped {@code ks}; returns output rows {@code [B*Tq, C]}.
     */
    CachedAttention attendRows(SDVariable query, SequenceShape qs, SDVariable key, SDVariable value,
            SequenceShape ks, AttentionMask<SDVariable> mask, KvCache<SDVariable> past) {
        int h = config.heads(), kv = config.kvHeads(), d = config.headDim();
        // 1. Project, then split the width into heads (kv = h unless grouped-query).
        SDVariable qh = sd.permute(qs.unflatten(q.forwardRows(query), h, d), 0, 2, 1, 3); // [B, H, Tq, D]
        SDVariable kh = sd.permute(ks.unflatten(k.forwardRows(key), kv, d), 0, 2, 1, 3); // [B, KVH, Tk, D]
        SDVariable vh = sd.permute(ks.unflatten(v.forwardRows(value), kv, d), 0, 2, 1, 3); // [B, KVH, Tk, D]
        // 2. Positions by rotation (RoPE); new tokens stand after the cached ones.
        SDVariable offset = past == null ? null : Graphs.size(past.keys(), 2);
        if (config.rotary()) {
            qh = Rotary.apply(qh, offset, d);
            kh = Rotary.apply(kh, offset, d);
        }
        if (past != null) {
            kh = sd.concat(2, past.keys(), kh); // [B, H, Tpast + Tk, D]
            vh = sd.concat(2, past.values(), vh);
        }
        // 3. Every head attends on its own.
        AttentionOutput<SDVariable> a = attention.forward(qh, repeatHeads(kh), repeatHeads(vh),
                config.causal() ? mask.withCausal() : mask, d, alibiBias(qh, kh), windowKeep(qh, kh));
        // 4. Concatenate the heads and mix them.
        SDVariable merged = sd.reshape(sd.permute(a.output(), 0, 2, 1, 3), -1, config.dModel()); // [B*Tq, C]
        return new CachedAttention(new AttentionOutput<>(out.forwardRows(merged), a.weights()), new KvCache<>(kh, vh));
    }

    /**
     * Grouped-query attention's sharing: key/value heads {@code [B, KVH, T, D]} repeated to {@code [B, H, T, D]},
     * head j serving query heads j G .. (j + 1) G - 1 (G = H / KVH, PyTorch's {@code repeat_interleave}).
     */
    private SDVariable repeatHeads(SDVariable x) {
        int group = config.heads() / config.kvHeads();
        if (group == 1) {
            return x;
        }
        SDVariable one = sd.expandDims(x, 2); // [B, KVH, 1, T, D]
        SDVariable[] copies = new SDVariable[group];
        java.util.Arrays.fill(copies, one);
        SDVariable shape = sd.shape(x); // [B, KVH, T, D]
        SDVariable newShape = sd.concat(0, sd.stridedSlice(shape, new long[] {0}, new long[] {1}, new long[] {1}),
                sd.constant(org.nd4j.linalg.factory.Nd4j.createFromArray((long) config.heads())),
                sd.stridedSlice(shape, new long[] {2}, new long[] {4}, new long[] {1}));
        return sd.reshape(sd.concat(2, copies), newShape); // [B, KVH, G, T, D] -> [B, H, T, D]
    }

    /** |i - j| of query row i (standing at Tk - Tq + i, after any cached keys) and key j, as {@code [Tq, Tk]}. */
    private SDVariable distances(SDVariable qh, SDVariable kh) {
        SDVariable tq = Graphs.size(qh, 2), tk = Graphs.size(kh, 2);
        SDVariable zero = sd.constant(org.nd4j.linalg.factory.Nd4j.scalar(DataType.LONG, 0L));
        SDVariable one = sd.constant(org.nd4j.linalg.factory.Nd4j.scalar(DataType.LONG, 1L));
        SDVariable rows = sd.range(zero, tq, one, DataType.LONG).add(tk.sub(tq));
        SDVariable cols = sd.range(zero, tk, one, DataType.LONG);
        return sd.math.abs(sd.expandDims(rows, 1).sub(sd.expandDims(cols, 0))).castTo(qh.dataType()); // [Tq, Tk]
    }

    /** ALiBi's {@code -m_h |i - j|} as {@code [1, H, Tq, Tk]}, or null without ALiBi. */
    private SDVariable alibiBias(SDVariable qh, SDVariable kh) {
        if (!config.alibi()) {
            return null;
        }
        INDArray slopes = org.nd4j.linalg.factory.Nd4j.createFromArray(Alibi.slopes(config.heads()))
                .castTo(qh.dataType()).reshape(1, config.heads(), 1, 1).neg();
        return sd.expandDims(sd.expandDims(distances(qh, kh), 0), 0).mul(sd.constant(slopes)); // [1, H, Tq, Tk]
    }

    /** 1 where key j lies within the window of query i ({@code |i - j| < window}), as {@code [1, 1, Tq, Tk]}; or null. */
    private SDVariable windowKeep(SDVariable qh, SDVariable kh) {
        if (config.window() == 0) {
            return null;
        }
        SDVariable near = sd.lt(distances(qh, kh), (double) config.window()).castTo(qh.dataType());
        return sd.expandDims(sd.expandDims(near, 0), 0);
    }

    /** Eager self-attention on {@code x [B, T, C]}. */
    public AttentionOutput<INDArray> apply(INDArray x, AttentionMask<INDArray> mask) {
        return apply(x, x, x, mask);
    }

    /**
     * Eager attention on {@code query [B, Tq, C]}, {@code key [B, Tk, kDim]}, {@code value [B, Tk, vDim]}
     * under any mask, on the engine ({@link FastAttention}): what {@link #forward} computes, to float rounding.
     * Safe for any number of threads at once.
     */
    public AttentionOutput<INDArray> apply(INDArray query, INDArray key, INDArray value,
            AttentionMask<INDArray> mask) {
        check(query, key, value, mask);
        return engine().apply(query, key, value, mask, inputChecks()); // the engine scans for NaN in its copy
    }

    /**
     * A training forward on the engine: the output {@code [B, Tq, C]} and weights {@code [B, H, Tq, Tk]} of
     * {@link #apply}, and a pass that keeps what its backward needs. The pass is the caller's: any number of
     * threads may train one layer at once, each with its own passes.
     *
     * <pre>{@code
     * FastAttention.Pass pass = mha.train(x, x, x, mask);               // self-attention
     * AttentionGradients g = pass.backward(dLossByOutput);              // [B, Tq, C] in
     * g.input(); g.parameters().get("q.weight");                        // dx [B, T, C], dWq [C, C]
     * }</pre>
     * No dropout: {@link #train(INDArray, INDArray, INDArray, AttentionMask, DropoutSeed)} drops with a seed.
     */
    public FastAttention.Pass train(INDArray query, INDArray key, INDArray value, AttentionMask<INDArray> mask) {
        return train(query, key, value, mask, null);
    }

    /**
     * {@link #train(INDArray, INDArray, INDArray, AttentionMask)}, with the attention weights dropped (the
     * layer's dropout p, inverted) by the masks of {@code dropout} (null: none); the backward uses the same masks.
     */
    public FastAttention.Pass train(INDArray query, INDArray key, INDArray value, AttentionMask<INDArray> mask,
            DropoutSeed dropout) {
        check(query, key, value, mask);
        return engine().forward(query, key, value, mask, dropout, inputChecks());
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
                    fast = FastAttention.of(this, Parallel.shared());
                }
                f = fast;
            }
        }
        return f;
    }
}
