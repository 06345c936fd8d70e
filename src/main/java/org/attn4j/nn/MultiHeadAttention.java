package org.attn4j.nn;

import org.attn4j.config.AttentionMask;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Multi-head attention with learnable query, key, value and output projections
 * (Vaswani et al. 2017, section 3.2.2), computing what PyTorch's {@code nn.MultiheadAttention} does.
 *
 * <p>Parameters: {@code q.weight [C, C]}, {@code k.weight [C, kDim]}, {@code v.weight [C, vDim]},
 * {@code out.weight [C, C]}, and with {@code bias} a {@code .bias [C]} for each.
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
     */
    public record Config(int dModel, int heads, int kDim, int vDim, boolean bias, boolean causal, double dropout,
            boolean rotary) {
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
            return new Config(dModel, heads, kDim, vDim, bias, causal, dropout, rotary);
        }

        public Config withBias(boolean b) {
            return new Config(dModel, heads, kDim, vDim, b, causal, dropout, rotary);
        }

        public Config withCausal(boolean c) {
            return new Config(dModel, heads, kDim, vDim, bias, c, dropout, rotary);
        }

        public Config withDropout(double p) {
            return new Config(dModel, heads, kDim, vDim, bias, causal, p, rotary);
        }

        public Config withRotary(boolean r) {
            return new Config(dModel, heads, kDim, vDim, bias, causal, dropout, r);
        }

        /** Head width D = C / H. */
        public int headDim() {
            return dModel / heads;
        }
    }

    private final Config config;
    private org.attn4j.nn.FastAttention fast; // the engine of apply, created on its first call
    private final Linear q, k, v, out;
    private final ScaledDotProductAttention attention;

    public MultiHeadAttention(SameDiff sd, String name, Config config, DataType dataType) {
        super(sd, name, dataType);
        this.config = config;
        int c = config.dModel();
        this.q = projection("q", c, c);
        this.k = projection("k", config.kDim(), c);
        this.v = projection("v", config.vDim(), c);
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
        int h = config.heads(), d = config.headDim();
        // 1. Project, then split the width into heads.
        SDVariable qh = sd.permute(qs.unflatten(q.forwardRows(query), h, d), 0, 2, 1, 3); // [B, H, Tq, D]
        SDVariable kh = sd.permute(ks.unflatten(k.forwardRows(key), h, d), 0, 2, 1, 3); // [B, H, Tk, D]
        SDVariable vh = sd.permute(ks.unflatten(v.forwardRows(value), h, d), 0, 2, 1, 3); // [B, H, Tk, D]
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
        AttentionOutput<SDVariable> a = attention.forward(qh, kh, vh,
                config.causal() ? mask.withCausal() : mask, d);
        // 4. Concatenate the heads and mix them.
        SDVariable merged = sd.reshape(sd.permute(a.output(), 0, 2, 1, 3), -1, config.dModel()); // [B*Tq, C]
        return new CachedAttention(new AttentionOutput<>(out.forwardRows(merged), a.weights()), new KvCache<>(kh, vh));
    }

    /** Eager self-attention on {@code x [B, T, C]}. */
    public AttentionOutput<INDArray> apply(INDArray x, AttentionMask<INDArray> mask) {
        return apply(x, x, x, mask);
    }

    /**
     * Eager attention on {@code query [B, Tq, C]}, {@code key [B, Tk, kDim]}, {@code value [B, Tk, vDim]}
     * under any mask, on the engine ({@link org.attn4j.nn.FastAttention}): what {@link #forward} computes,
     * to float rounding.
     */
    public AttentionOutput<INDArray> apply(INDArray query, INDArray key, INDArray value,
            AttentionMask<INDArray> mask) {
        Checks.rank("query", query, 3, "[B, Tq, dModel]");
        Checks.rank("key", key, 3, "[B, Tk, kDim]");
        Checks.rank("value", value, 3, "[B, Tk, vDim]");
        long b = query.size(0), tq = query.size(1), tk = key.size(1);
        Checks.shape("query [B, Tq, dModel=" + config.dModel() + "]", query, -1, -1, config.dModel());
        Checks.shape("key [B, Tk, kDim=" + config.kDim() + "]", key, b, -1, config.kDim());
        Checks.shape("value [B, Tk, vDim=" + config.vDim() + "]", value, b, tk, config.vDim());
        checkType("query", query); // the engine scans for NaN itself, in its copy of the input
        checkType("key", key);
        checkType("value", value);
        Checks.mask(mask, b, config.heads(), tq, tk);
        synchronized (this) {
            if (fast == null) {
                fast = org.attn4j.nn.FastAttention.of(this, org.attn4j.kernels.Parallel.shared());
            }
            return fast.apply(query, key, value, mask, inputChecks());
        }
    }
}
