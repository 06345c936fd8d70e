package org.attn4j.samediff;

import org.attn4j.config.AttentionMask;
import org.attn4j.nn.AttentionOutput;
import org.attn4j.nn.KvCache;
import org.attn4j.nn.Linear;
import org.attn4j.nn.MultiHeadAttention;
import org.attn4j.nn.ScaledDotProductAttention;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A {@link MultiHeadAttention} in a SameDiff graph, from the layer's config and weights (its projections become
 * variables of the graph holding the layer's arrays): the same attention the engine's {@code apply} computes, for
 * users who compose layers in their own graphs, and as an independent reference in tests.
 *
 * <pre>{@code
 * SameDiff sd = SameDiff.create();
 * MultiHeadAttention mha = new MultiHeadAttention("attn", MultiHeadAttention.Config.of(64, 4), DataType.FLOAT);
 * SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, -1, 64);                  // [B, T, C]
 * AttentionOutput<SDVariable> o = new MultiHeadAttentionGraph(sd, mha).forward(x, AttentionMask.none());
 * }</pre>
 */
public final class MultiHeadAttentionGraph {
    private final SameDiff sd;
    private final MultiHeadAttention.Config config;
    private final LinearGraph q, k, v, out;
    private final ScaledDotProductAttention.Config attention;

    public MultiHeadAttentionGraph(SameDiff sd, MultiHeadAttention layer) {
        this.sd = sd;
        this.config = layer.config();
        Linear[] p = layer.projections();
        this.q = new LinearGraph(sd, p[0]);
        this.k = new LinearGraph(sd, p[1]);
        this.v = new LinearGraph(sd, p[2]);
        this.out = new LinearGraph(sd, p[3]);
        this.attention = ScaledDotProductAttention.Config.standard().withDropout(config.dropout());
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
            qh = Rotary.apply(qh, offset, d, config.rope());
            kh = Rotary.apply(kh, offset, d, config.rope());
        }
        if (past != null) {
            kh = sd.concat(2, past.keys(), kh); // [B, H, Tpast + Tk, D]
            vh = sd.concat(2, past.values(), vh);
        }
        // 3. Every head attends on its own.
        AttentionOutput<SDVariable> a = ScaledDotProductGraph.forward(attention, qh, repeatHeads(kh), repeatHeads(vh),
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
        INDArray slopes = org.nd4j.linalg.factory.Nd4j.createFromArray(org.attn4j.kernels.Alibi.slopes(config.heads()))
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

}
