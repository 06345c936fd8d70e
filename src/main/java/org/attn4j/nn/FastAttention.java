package org.attn4j.nn;

import java.util.Map;
import org.attn4j.config.AttentionMask;
import org.attn4j.kernels.Blas;
import org.attn4j.kernels.Buf;
import org.attn4j.kernels.MaskRows;
import org.attn4j.kernels.Parallel;
import org.attn4j.kernels.RowMath;
import org.attn4j.nn.AttentionOutput;
import org.attn4j.nn.MultiHeadAttention;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.attn4j.kernels.PositionBias;

/**
 * Inference of a {@link MultiHeadAttention} on the engine (what its eager {@code apply} runs):
 * {@code query [B, Tq, C]} attends to {@code key [B, Tk, kDim]} and {@code value [B, Tk, vDim]} under any
 * {@link AttentionMask}, with rotary positions where the layer has them (queries at 0..Tq-1, keys at
 * 0..Tk-1), grouped-query key/value heads, ALiBi biases and a sliding window as configured; output {@code [B, Tq, C]} and per-head weights {@code [B, H, Tq, Tk]} in new arrays. The same
 * kernels as {@link FastBlock}: OpenBLAS projections on rows, per-head products on strided slices,
 * vectorized softmax.
 */
public final class FastAttention {
    private static final int ROW_GRAIN = 4;
    /** Rotary positions' base, as {@code nn.Rotary}'s. */
    private static final double ROTARY_BASE = 10_000;
    private final MultiHeadAttention.Config config;
    private final DataType type;
    private final Parallel parallel;
    private final Buf wq, wk, wv, wo, bq, bk, bv, bo;
    private Buf q, k, v, o, xq, xk, xv; // scratch, grown as needed

    private FastAttention(MultiHeadAttention mha, Parallel parallel) {
        this.config = mha.config();
        this.type = mha.dataType();
        this.parallel = parallel;
        Map<String, SDVariable> p = mha.parameters();
        String prefix = mha.name().isEmpty() ? "" : mha.name() + ".";
        wq = param(p, prefix + "q.weight");
        wk = param(p, prefix + "k.weight");
        wv = param(p, prefix + "v.weight");
        wo = param(p, prefix + "out.weight");
        bq = config.bias() ? param(p, prefix + "q.bias") : null;
        bk = config.bias() ? param(p, prefix + "k.bias") : null;
        bv = config.bias() ? param(p, prefix + "v.bias") : null;
        bo = config.bias() ? param(p, prefix + "out.bias") : null;
    }

    public static FastAttention of(MultiHeadAttention mha, Parallel parallel) {
        return new FastAttention(mha, parallel);
    }

    private static Buf param(Map<String, SDVariable> p, String name) {
        SDVariable v = p.get(name);
        if (v == null) {
            throw new IllegalArgumentException("parameter '" + name + "' not found among " + p.keySet());
        }
        return Buf.of(v.getArr());
    }

    /** Output {@code [B, Tq, C]} and weights {@code [B, H, Tq, Tk]}, new arrays. One call at a time. */
    public AttentionOutput<INDArray> apply(INDArray query, INDArray key, INDArray value, AttentionMask<INDArray> mask) {
        return apply(query, key, value, mask, true);
    }

    /** {@link #apply(INDArray, INDArray, INDArray, AttentionMask)}; {@code finiteChecks} false skips the NaN scan. */
    public AttentionOutput<INDArray> apply(INDArray query, INDArray key, INDArray value, AttentionMask<INDArray> mask,
            boolean finiteChecks) {
        int c = config.dModel(), h = config.heads(), d = c / h, kc = config.kvWidth(), group = h / config.kvHeads();
        int b = (int) query.size(0), tq = (int) query.size(1), tk = (int) key.size(1);
        Shapes.mask(mask, b, h, tq, tk);
        int nq = b * tq, nk = b * tk;
        xq = room(xq, (long) nq * c);
        Buf inQ = fill("query", query, xq, finiteChecks);
        Buf inK = key == query ? inQ : fill("key", key, xk = room(xk, (long) nk * config.kDim()), finiteChecks);
        Buf inV = value == key ? inK : value == query ? inQ
                : fill("value", value, xv = room(xv, (long) nk * config.vDim()), finiteChecks);
        q = room(q, (long) nq * c);
        k = room(k, (long) nk * kc);
        v = room(v, (long) nk * kc);
        o = room(o, (long) nq * c);
        INDArray output = Nd4j.createUninitialized(type, b, tq, c), weights = Nd4j.createUninitialized(type, b, h, tq, tk);
        Buf out = Buf.of(output), p = Buf.of(weights);
        MaskRows masks = MaskRows.of(mask, tq, tk, h, config.causal(), type);
        Blas.singleThreaded();
        // 1. Projections of the queries, keys and values (rows).
        parallel.forRange(nq, ROW_GRAIN, (r0, r1) -> project(inQ, wq, bq, c, q, r0, r1));
        parallel.forRange(nk, ROW_GRAIN, (r0, r1) -> { // kvHeads heads: kc = kvHeads D wide
            project(inK, wk, bk, config.kDim(), kc, k, r0, r1);
            project(inV, wv, bv, config.vDim(), kc, v, r0, r1);
        });
        if (config.rotary()) { // queries and keys turned by their positions
            parallel.forRange(nq, ROW_GRAIN, (r0, r1) -> rotate(q, tq, r0, r1, c));
            parallel.forRange(nk, ROW_GRAIN, (r0, r1) -> rotate(k, tk, r0, r1, kc));
        }
        double[] slopes = config.alibi() ? org.attn4j.nn.Alibi.slopes(h) : null;
        // 2. Per (batch, head): P = softmax(q k^T / sqrt(D) + mask), o = P v; a causal last query sees the last key.
        double scale = 1 / Math.sqrt(d);
        long perPair = 2L * tq * tk * d;
        int grain = (int) Math.max(1, Math.min(Integer.MAX_VALUE, (1L << 17) / Math.max(1, perPair)));
        parallel.forRange(b * h, grain, (p0, p1) -> {
            for (int pair = p0; pair < p1; pair++) {
                int bi = pair / h, hi = pair % h;
                long qRows = (long) bi * tq * c + (long) hi * d, kRows = (long) bi * tk * kc + (long) (hi / group) * d;
                long scores = (long) pair * tq * tk;
                Blas.gemm(false, true, tq, tk, d, scale, q, qRows, c, k, kRows, kc, 0, p, scores, tk);
                PositionBias.apply(p, (int) scores, tq, tk, slopes == null ? 0 : slopes[hi], config.window());
                for (int i = 0; i < tq; i++) {
                    RowMath.softmaxRow(p, (int) scores + i * tk, masks, bi, hi, i);
                }
                Blas.gemm(false, false, tq, d, tk, 1, p, scores, tk, v, kRows, kc, 0, o, qRows, c);
            }
        });
        // 3. Output projection (rows).
        parallel.forRange(nq, ROW_GRAIN, (r0, r1) -> project(o, wo, bo, c, out, r0, r1));
        return new AttentionOutput<>(output, weights);
    }

    /** y[r0:r1] = x[r0:r1] W^T + b for W [C, width]. */
    private void project(Buf x, Buf w, Buf bias, int width, Buf y, int r0, int r1) {
        project(x, w, bias, width, config.dModel(), y, r0, r1);
    }

    /** y[r0:r1] = x[r0:r1] W^T + b for W [out, width]. */
    private void project(Buf x, Buf w, Buf bias, int width, int out, Buf y, int r0, int r1) {
        int c = out;
        Blas.gemm(false, true, r1 - r0, c, width, 1, x, (long) r0 * width, width, w, 0, width, 0, y, (long) r0 * c, c);
        RowMath.addBias(y, bias, r0, r1, c);
    }

    /**
     * Rows [r0, r1) of queries or keys {@code x [B*t, C]} rotated by their positions (RoPE, as {@code nn.Rotary}:
     * per head, dimension i paired with i + D/2, angle position * 10000^(-2i/D)): (x1, x2) -> (x1 cos - x2 sin,
     * x2 cos + x1 sin).
     */
    private void rotate(Buf x, int t, int r0, int r1, int width) {
        int c = width, d = config.dModel() / config.heads(), half = d / 2;
        double[] cos = new double[half], sin = new double[half];
        for (int r = r0; r < r1; r++) {
            int position = r % t;
            for (int i = 0; i < half; i++) {
                double angle = position * Math.pow(ROTARY_BASE, -2.0 * i / d);
                cos[i] = Math.cos(angle);
                sin[i] = Math.sin(angle);
            }
            for (int head = r * c; head < (r + 1) * c; head += d) {
                for (int i = 0; i < half; i++) {
                    double x1 = x.get(head + i), x2 = x.get(head + i + half);
                    x.put(head + i, x1 * cos[i] - x2 * sin[i]);
                    x.put(head + i + half, x2 * cos[i] + x1 * sin[i]);
                }
            }
        }
    }

    /** {@code x}'s elements, checked finite if asked, in {@code into} (a Java copy, as in FastBlock). */
    private Buf fill(String what, INDArray x, Buf into, boolean finiteChecks) {
        Buf src = Buf.of(x, type);
        parallel.forRange(src.length, 1 << 15, (i0, i1) -> RowMath.copy(src, i0, into, i0, i1 - i0));
        if (finiteChecks) {
            Shapes.finite(what, into, x.shape());
        }
        return into;
    }

    private Buf room(Buf current, long length) {
        return current != null && current.length >= length ? current : Buf.of(Nd4j.create(type, Math.max(1, length)));
    }
}
