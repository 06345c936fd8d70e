package org.attn4j.nn;

import java.util.LinkedHashMap;
import java.util.Map;
import org.attn4j.config.AttentionMask;
import org.attn4j.kernels.Blas;
import org.attn4j.kernels.Buf;
import org.attn4j.kernels.DropoutSeed;
import org.attn4j.kernels.MaskRows;
import org.attn4j.kernels.Parallel;
import org.attn4j.kernels.RowMath;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A {@link MultiHeadAttention} on the engine: inference (what its eager {@code apply} runs) and a training
 * pass (its {@code train}): {@code query [B, Tq, C]} attends to {@code key [B, Tk, kDim]} and
 * {@code value [B, Tk, vDim]} under any {@link AttentionMask}, with rotary positions where the layer has them
 * (queries at 0..Tq-1, keys at 0..Tk-1), grouped-query key/value heads, ALiBi biases and a sliding window as
 * configured; output {@code [B, Tq, C]} and per-head weights {@code [B, H, Tq, Tk]} in new arrays. OpenBLAS
 * projections on rows, the per-head math of {@link AttentionPairs} (shared with {@link FastBlock}).
 *
 * <pre>
 *   forward:   q = rot(query Wq^T + bq)   k = rot(key Wk^T + bk)   v = value Wv^T + bv          rows
 *              P = softmax(q k^T / sqrt(D) + bias + mask),  o = drop(P) v                    per (batch, head)
 *              y = o Wo^T + bo                                                                rows
 *   backward:  do = dy Wo;  dWo = dy^T o;  dbo = colsum(dy)
 *              dq, dk, dv from do (AttentionPairs.backward);  dq, dk rotated back
 *              dQuery = dq Wq;  dWq = dq^T query;  dbq = colsum(dq)   (and so for k, v)
 * </pre>
 *
 * <p>Weights and state are separate: this object holds only the layer's parameter arrays (its own, so an
 * update to the layer is seen here); every call makes its own buffers, and a {@link Pass} keeps what its
 * backward needs. Any number of threads may call one instance at once.
 */
public final class FastAttention {
    private static final int ROW_GRAIN = 4;
    /** Rotary positions' base, as {@code nn.Rotary}'s. */
    private final MultiHeadAttention.Config config;
    private final DataType type;
    private final Parallel parallel;
    private final AttentionPairs pairs;
    private final Map<String, INDArray> parameters = new LinkedHashMap<>(); // full name -> the layer's array
    private final String prefix; // the layer's name and a dot, or nothing
    private final Buf wq, wk, wv, wo, bq, bk, bv, bo; // weights [out, in] (PyTorch's layout), biases [out]
    private final double[] inverseFrequency; // rotary: base^(-2i/D) for i < D/2, as FastBlock's; null without

    private FastAttention(MultiHeadAttention mha, Parallel parallel) {
        this.config = mha.config();
        this.type = mha.dataType();
        this.parallel = parallel;
        this.pairs = new AttentionPairs(config.heads(), config.kvHeads(), config.headDim(),
                config.alibi() ? Alibi.slopes(config.heads()) : null, config.window());
        prefix = mha.name().isEmpty() ? "" : mha.name() + ".";
        inverseFrequency = config.rotary() ? config.rope().inverseFrequencies(config.headDim()) : null;
        Linear[] qkvo = mha.projections();
        wq = param(qkvo[0].name() + ".weight", qkvo[0].weightArray());
        wk = param(qkvo[1].name() + ".weight", qkvo[1].weightArray());
        wv = param(qkvo[2].name() + ".weight", qkvo[2].weightArray());
        wo = param(qkvo[3].name() + ".weight", qkvo[3].weightArray());
        bq = qkvo[0].biasArray() != null ? param(qkvo[0].name() + ".bias", qkvo[0].biasArray()) : null;
        bk = qkvo[1].biasArray() != null ? param(qkvo[1].name() + ".bias", qkvo[1].biasArray()) : null;
        bv = qkvo[2].biasArray() != null ? param(qkvo[2].name() + ".bias", qkvo[2].biasArray()) : null;
        bo = config.bias() ? param(qkvo[3].name() + ".bias", qkvo[3].biasArray()) : null;
    }

    public static FastAttention of(MultiHeadAttention mha, Parallel parallel) {
        return new FastAttention(mha, parallel);
    }

    /** A projection's array (the layer's own, shared), recorded under its parameter name. */
    private Buf param(String name, INDArray array) {
        parameters.put(name, array);
        return Buf.of(array);
    }

    /** Output {@code [B, Tq, C]} and weights {@code [B, H, Tq, Tk]}, new arrays; safe for concurrent callers. */
    public AttentionOutput<INDArray> apply(INDArray query, INDArray key, INDArray value, AttentionMask<INDArray> mask) {
        return apply(query, key, value, mask, true);
    }

    /** {@link #apply(INDArray, INDArray, INDArray, AttentionMask)}; {@code finiteChecks} false skips the NaN scan. */
    public AttentionOutput<INDArray> apply(INDArray query, INDArray key, INDArray value, AttentionMask<INDArray> mask,
            boolean finiteChecks) {
        Pass pass = forward(query, key, value, mask, null, finiteChecks);
        pass.close(); // no backward: what it would read goes now
        return new AttentionOutput<>(pass.output, pass.weights);
    }

    /**
     * A training forward: output and weights as {@link #apply}, and what {@link Pass#backward} needs, kept
     * in the returned pass (the caller's own). With a {@code dropout} seed and a layer dropout p > 0 the
     * weights drop (inverted, PyTorch's way) by the seed's stream {@link DropoutSeed#SELF_WEIGHTS} of layer -1;
     * null drops nothing.
     */
    public Pass forward(INDArray query, INDArray key, INDArray value, AttentionMask<INDArray> mask,
            DropoutSeed dropout, boolean finiteChecks) {
        return new Pass(query, key, value, mask, dropout, finiteChecks);
    }

    /**
     * One forward's activations, kept for its backward. Rows are N = B T; KV = kvHeads D. Nothing in it is
     * changed by {@link #backward}, which may run any number of times, from any thread.
     */
    public final class Pass {
        private final int b, tq, tk;
        private final Buf inQ, inK, inV; // copies of the inputs: [N_q, C], [N_k, kDim], [N_k, vDim]
        private final Buf q, k, v; // projected, q and k rotated: [N_q, C], [N_k, KV], [N_k, KV]
        private final Buf p, pd, o; // weights and their dropped copy [B, H, Tq, Tk] (pd null: none), heads [N_q, C]
        private final MaskRows mask;
        private final double dropout; // the drop probability this pass used (0: none)
        private final long dropBase;
        private final INDArray output, weights; // [B, Tq, C], [B, H, Tq, Tk]
        private volatile boolean closed;

        private Pass(INDArray query, INDArray key, INDArray value, AttentionMask<INDArray> attentionMask,
                DropoutSeed seed, boolean finiteChecks) {
            int c = config.dModel(), h = config.heads(), kc = config.kvWidth();
            b = (int) query.size(0);
            tq = (int) query.size(1);
            tk = (int) key.size(1);
            Shapes.mask(attentionMask, b, h, tq, tk);
            int nq = b * tq, nk = b * tk;
            inQ = fill("query", query, (long) nq * c, finiteChecks);
            inK = key == query ? inQ : fill("key", key, (long) nk * config.kDim(), finiteChecks);
            inV = value == key ? inK : value == query ? inQ : fill("value", value, (long) nk * config.vDim(), finiteChecks);
            q = scratch((long) nq * c);
            k = scratch((long) nk * kc);
            v = scratch((long) nk * kc);
            o = scratch((long) nq * c);
            output = Nd4j.createUninitialized(type, b, tq, c);
            weights = Nd4j.createUninitialized(type, b, h, tq, tk);
            p = Buf.of(weights);
            dropout = seed != null && config.dropout() > 0 ? config.dropout() : 0;
            dropBase = dropout > 0 ? seed.base(DropoutSeed.stream(-1, DropoutSeed.SELF_WEIGHTS)) : 0;
            pd = dropout > 0 ? scratch((long) b * h * tq * tk) : null;
            mask = MaskRows.of(attentionMask, tq, tk, h, config.causal(), type);
            Buf y = Buf.of(output);
            Blas.singleThreaded();
            // 1. Projections of the queries, keys and values (rows); queries and keys turned by their positions.
            parallel.forRange(nq, ROW_GRAIN, (r0, r1) -> {
                project(inQ, wq, bq, c, c, q, r0, r1);
                rotate(q, tq, r0, r1, c, false);
            });
            parallel.forRange(nk, ROW_GRAIN, (r0, r1) -> {
                project(inK, wk, bk, config.kDim(), kc, k, r0, r1);
                project(inV, wv, bv, config.vDim(), kc, v, r0, r1);
                rotate(k, tk, r0, r1, kc, false);
            });
            // 2. Per (batch, head): P = softmax(q k^T / sqrt(D) + bias + mask), o = drop(P) v.
            parallel.forRange(b * h, pairGrain(), (p0, p1) -> pairs.forward(q, k, v, p, pd, o, tq, tk, mask, dropout,
                    dropBase, p0, p1));
            // 3. Output projection (rows).
            parallel.forRange(nq, ROW_GRAIN, (r0, r1) -> project(o, wo, bo, c, c, y, r0, r1));
        }

        /** The attention's output {@code [B, Tq, C]}. */
        public INDArray output() {
            return output;
        }

        /** Per-head weights {@code [B, H, Tq, Tk]} (before dropout). The backward reads them: do not change them. */
        public INDArray weights() {
            return weights;
        }

        /**
         * Gives what only the backward needs (the inputs' copies, projections, heads) back to the layer now,
         * for its next forwards, rather than leaving it for the garbage collector; {@link #output} and
         * {@link #weights} stay valid, {@link #backward} may not be called after (nor while it runs).
         * {@code apply} closes its pass.
         */
        public synchronized void close() {
            if (!closed) {
                closed = true;
                java.util.Set<Buf> kept = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
                kept.addAll(java.util.Arrays.asList(inQ, inK, inV, q, k, v, o)); // self-attention shares its copies
                if (pd != null) {
                    kept.add(pd);
                }
                kept.forEach(FastAttention.this::recycle);
            }
        }

        /**
         * Gradients of a loss with respect to the query, key and value inputs and every parameter (by the
         * layer's parameter names), given its gradient {@code gradOutput [B, Tq, C]} with respect to the output.
         * New arrays on every call.
         */
        public AttentionGradients backward(INDArray gradOutput) {
            if (closed) {
                throw new IllegalStateException("backward on a closed pass: close() freed what the backward reads");
            }
            int c = config.dModel(), h = config.heads(), kvh = config.kvHeads(), kc = config.kvWidth();
            Checks.rank("gradOutput", gradOutput, 3, "[B, Tq, dModel]");
            Checks.shape("gradOutput [B=" + b + ", Tq=" + tq + ", dModel=" + c + "]", gradOutput, b, tq, c);
            if (gradOutput.dataType() != type) {
                throw new IllegalArgumentException("gradOutput is " + gradOutput.dataType()
                        + " but the layer's parameters are " + type + "; cast it with castTo(" + type + ")");
            }
            int nq = b * tq, nk = b * tk;
            Buf dy = Buf.of(gradOutput, type);
            Buf dO = buffer((long) nq * c), dq = buffer((long) nq * c), dk = buffer((long) nk * kc),
                    dv = buffer((long) nk * kc), dp = buffer((long) b * h * tq * tk);
            INDArray dQuery = Nd4j.create(type, b, tq, c), dKey = Nd4j.create(type, b, tk, config.kDim()),
                    dValue = Nd4j.create(type, b, tk, config.vDim());
            Buf dxq = Buf.of(dQuery), dxk = Buf.of(dKey), dxv = Buf.of(dValue);
            Map<String, INDArray> grads = new LinkedHashMap<>();
            parameters.forEach((name, param) -> grads.put(name, Nd4j.create(type, param.shape())));
            Blas.singleThreaded();
            // 1. Rows: do = dy Wo (the heads' output).
            parallel.forRange(nq, ROW_GRAIN, (r0, r1) -> projectBack(dy, wo, c, c, dO, r0, r1));
            // 2. Pairs of (batch, key/value head): dq, dk, dv.
            parallel.forRange(b * kvh, pairGrain(), (p0, p1) -> pairs.backward(q, k, v, p, pd, dO, dp, dq, dk, dv, tq,
                    tk, dropout, dropBase, p0, p1));
            // 3. Rows: dq and dk rotated back; dQuery = dq Wq, dKey = dk Wk, dValue = dv Wv.
            parallel.forRange(nq, ROW_GRAIN, (r0, r1) -> {
                rotate(dq, tq, r0, r1, c, true);
                projectBack(dq, wq, c, c, dxq, r0, r1);
            });
            parallel.forRange(nk, ROW_GRAIN, (r0, r1) -> {
                rotate(dk, tk, r0, r1, kc, true);
                projectBack(dk, wk, config.kDim(), kc, dxk, r0, r1);
                projectBack(dv, wv, config.vDim(), kc, dxv, r0, r1);
            });
            // 4. Parameters: dW = dy^T x, db = column sums of dy; each worker sums a share of the rows.
            GradientShares shares = new GradientShares(grads, parallel.threads());
            parallel.forRange(shares.parts(), (w0, w1) -> {
                for (int w = w0; w < w1; w++) {
                    weightGradient(shares, "out", dy, o, nq, c, c, w);
                    weightGradient(shares, "q", dq, inQ, nq, c, c, w);
                    weightGradient(shares, "k", dk, inK, nk, config.kDim(), kc, w);
                    weightGradient(shares, "v", dv, inV, nk, config.vDim(), kc, w);
                }
            });
            shares.reduce(new java.util.ArrayList<>(grads.keySet()), parallel);
            shares.close();
            return new AttentionGradients(dQuery, dKey, dValue, grads);
        }

        /** Part {@code part} of projection {@code local}'s dW = dy^T x and db = column sums of dy over n rows. */
        private void weightGradient(GradientShares shares, String local, Buf dy, Buf x, int n, int in, int out,
                int part) {
            String bias = prefix + local + ".bias";
            shares.linear(prefix + local + ".weight", parameters.containsKey(bias) ? bias : null, dy, x, n, in, out,
                    part);
        }

        /** Pairs per worker so that each has at least 2^17 multiply-adds. */
        private int pairGrain() {
            long perPair = 2L * tq * tk * config.headDim();
            return (int) Math.max(1, Math.min(Integer.MAX_VALUE, (1L << 17) / Math.max(1, perPair)));
        }
    }

    /** y[r0:r1] = x[r0:r1] W^T + b for W [out, width] ({@link Blas#linear}). */
    private static void project(Buf x, Buf w, Buf bias, int width, int out, Buf y, int r0, int r1) {
        Blas.linear(x, r0, r1 - r0, w, bias, width, out, y, r0);
    }

    /** dx[r0:r1] = dy[r0:r1] W for W [out, width]: the input gradient of {@link #project}. */
    private static void projectBack(Buf dy, Buf w, int width, int out, Buf dx, int r0, int r1) {
        Blas.gemm(false, false, r1 - r0, width, out, 1, dy, (long) r0 * out, out, w, 0, width, 0, dx, (long) r0 * width,
                width);
    }

    /**
     * Rows [r0, r1) of queries or keys {@code x [B*t, width]} rotated by their positions (RoPE, as {@code nn.Rotary}:
     * per head, dimension i paired with i + D/2, angle position * 10000^(-2i/D)): (x1, x2) -> (x1 cos - x2 sin,
     * x2 cos + x1 sin); {@code back}: by minus the angle, a gradient's way back. Nothing without rotary.
     */
    private void rotate(Buf x, int t, int r0, int r1, int width, boolean back) {
        if (!config.rotary()) {
            return;
        }
        int d = config.headDim(), half = d / 2;
        double sign = back ? -1 : 1;
        double[] cos = new double[half], sin = new double[half], frequency = inverseFrequency;
        for (int r = r0; r < r1; r++) {
            int position = r % t;
            for (int i = 0; i < half; i++) {
                double angle = position * frequency[i];
                cos[i] = Math.cos(angle);
                sin[i] = sign * Math.sin(angle);
            }
            for (int head = r * width; head < (r + 1) * width; head += d) {
                for (int i = 0; i < half; i++) {
                    double x1 = x.get(head + i), x2 = x.get(head + i + half);
                    x.put(head + i, x1 * cos[i] - x2 * sin[i]);
                    x.put(head + i + half, x2 * cos[i] + x1 * sin[i]);
                }
            }
        }
    }

    /** A copy of {@code x}'s elements ({@code length} of them), checked finite if asked. */
    private Buf fill(String what, INDArray x, long length, boolean finiteChecks) {
        Buf src = Buf.of(x, type), into = scratch(length);
        parallel.forRange(src.length, 1 << 15, (i0, i1) -> RowMath.copy(src, i0, into, i0, i1 - i0));
        if (finiteChecks) {
            Shapes.finite(what, into, x.shape());
        }
        return into;
    }

    private Buf buffer(long length) {
        return Buf.of(Nd4j.create(type, Math.max(1, length)));
    }

    /**
     * A forward's buffer of {@code length} elements, every one of which the forward writes before reading:
     * one that a closed pass gave back when there is one of that length, else new. Fresh arrays on every call
     * cost page faults (the C allocator maps large ones afresh: the standard {@code mha_forward} took 10.4-16.1 ms
     * at one thread between runs, 10.5 ms with its mapping threshold raised).
     */
    private Buf scratch(long length) {
        long n = Math.max(1, length);
        for (java.util.Iterator<Buf> it = spareBuffers.iterator(); it.hasNext(); ) {
            Buf b = it.next();
            if (b.length == n && spareBuffers.remove(b)) {
                return b;
            }
        }
        return Buf.of(Nd4j.create(type, n));
    }

    /** Takes back a closed pass's buffer for {@link #scratch}, keeping at most {@link #SPARE_BUFFERS}. */
    private void recycle(Buf b) {
        if (spareBuffers.size() < SPARE_BUFFERS) {
            spareBuffers.offerFirst(b);
        } else {
            b.close();
        }
    }

    /** Buffers of closed passes (no pass holds them), for the next forwards; at most SPARE_BUFFERS, any sizes. */
    private final java.util.concurrent.ConcurrentLinkedDeque<Buf> spareBuffers =
            new java.util.concurrent.ConcurrentLinkedDeque<>();
    private static final int SPARE_BUFFERS = 16;
}
