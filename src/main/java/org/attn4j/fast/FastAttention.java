package org.attn4j.fast;

import java.util.Map;
import java.util.Optional;
import org.attn4j.nn.AttentionMask;
import org.attn4j.nn.AttentionOutput;
import org.attn4j.nn.MultiHeadAttention;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Inference of a {@link MultiHeadAttention} on the fast path (what its eager {@code apply} runs when it
 * can): {@code query [B, Tq, C]} attends to {@code key [B, Tk, kDim]} and {@code value [B, Tk, vDim]}
 * under a causal and/or key-padding mask; output {@code [B, Tq, C]} and per-head weights
 * {@code [B, H, Tq, Tk]} in new arrays. The same kernels as {@link FastBlock}: OpenBLAS projections on
 * rows, per-head products on strided slices, vectorized softmax. Not covered: rotary positions.
 */
public final class FastAttention {
    private static final int ROW_GRAIN = 4;
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

    /** Why {@code config} cannot run here, or empty if it can. */
    public static Optional<String> unsupported(MultiHeadAttention.Config config) {
        return config.rotary() ? Optional.of("rotary positions have no fast path") : Optional.empty();
    }

    public static FastAttention of(MultiHeadAttention mha, Parallel parallel) {
        Optional<String> why = unsupported(mha.config());
        if (why.isPresent()) {
            throw new IllegalArgumentException("Attention '" + mha.name() + "': " + why.get());
        }
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
        int c = config.dModel(), h = config.heads(), d = c / h;
        int b = (int) query.size(0), tq = (int) query.size(1), tk = (int) key.size(1);
        if (!mask.paddingAndCausalOnly()) {
            throw new IllegalArgumentException("the fast path takes causal and key-padding masks only");
        }
        if (mask.padding() != null) {
            Shapes.same("mask padding (1 = real key)", mask.padding(), new long[] {b, tk}, null);
        }
        int nq = b * tq, nk = b * tk;
        xq = room(xq, (long) nq * c);
        Buf inQ = fill("query", query, xq);
        Buf inK = key == query ? inQ : fill("key", key, xk = room(xk, (long) nk * config.kDim()));
        Buf inV = value == key ? inK : value == query ? inQ : fill("value", value, xv = room(xv, (long) nk * config.vDim()));
        q = room(q, (long) nq * c);
        k = room(k, (long) nk * c);
        v = room(v, (long) nk * c);
        o = room(o, (long) nq * c);
        INDArray output = Nd4j.createUninitialized(type, b, tq, c), weights = Nd4j.createUninitialized(type, b, h, tq, tk);
        Buf out = Buf.of(output), p = Buf.of(weights);
        Buf keep = mask.padding() == null ? null : Buf.of(mask.padding(), type);
        boolean causal = mask.causal() || config.causal();
        Blas.singleThreaded();
        // 1. Projections of the queries, keys and values (rows).
        parallel.forRange(nq, ROW_GRAIN, (r0, r1) -> project(inQ, wq, bq, c, q, r0, r1));
        parallel.forRange(nk, ROW_GRAIN, (r0, r1) -> {
            project(inK, wk, bk, config.kDim(), k, r0, r1);
            project(inV, wv, bv, config.vDim(), v, r0, r1);
        });
        // 2. Per (batch, head): P = softmax(q k^T / sqrt(D) + mask), o = P v; the last query sees the last key.
        double scale = 1 / Math.sqrt(d);
        long perPair = 2L * tq * tk * d;
        int grain = (int) Math.max(1, Math.min(Integer.MAX_VALUE, (1L << 17) / Math.max(1, perPair)));
        parallel.forRange(b * h, grain, (p0, p1) -> {
            for (int pair = p0; pair < p1; pair++) {
                int bi = pair / h, hi = pair % h;
                long qRows = (long) bi * tq * c + (long) hi * d, kRows = (long) bi * tk * c + (long) hi * d;
                long scores = (long) pair * tq * tk;
                Blas.gemm(false, true, tq, tk, d, scale, q, qRows, c, k, kRows, c, 0, p, scores, tk);
                for (int i = 0; i < tq; i++) {
                    RowMath.softmaxRow(p, (int) scores + i * tk, tk, i + tk - tq, causal, keep, bi * tk);
                }
                Blas.gemm(false, false, tq, d, tk, 1, p, scores, tk, v, kRows, c, 0, o, qRows, c);
            }
        });
        // 3. Output projection (rows).
        parallel.forRange(nq, ROW_GRAIN, (r0, r1) -> project(o, wo, bo, c, out, r0, r1));
        return new AttentionOutput<>(output, weights);
    }

    /** y[r0:r1] = x[r0:r1] W^T + b for W [C, width]. */
    private void project(Buf x, Buf w, Buf bias, int width, Buf y, int r0, int r1) {
        int c = config.dModel();
        Blas.gemm(false, true, r1 - r0, c, width, 1, x, (long) r0 * width, width, w, 0, width, 0, y, (long) r0 * c, c);
        RowMath.addBias(y, bias, r0, r1, c);
    }

    /** {@code x}'s elements, checked finite, in {@code into} (a Java copy, as in FastBlock). */
    private Buf fill(String what, INDArray x, Buf into) {
        Buf src = Buf.of(x, type);
        parallel.forRange(src.length, 1 << 15, (i0, i1) -> RowMath.copy(src, i0, into, i0, i1 - i0));
        Shapes.finite(what, into, x.shape());
        return into;
    }

    private Buf room(Buf current, long length) {
        return current != null && current.length >= length ? current : Buf.of(Nd4j.create(type, Math.max(1, length)));
    }
}
