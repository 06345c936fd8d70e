package org.attn4j.engine;

import java.util.LinkedHashMap;
import java.util.Map;
import org.attn4j.config.AttentionConfig;
import org.attn4j.config.AttentionMask;
import org.attn4j.config.AttentionWeights;
import org.attn4j.config.LinearWeights;
import org.attn4j.kernels.Alibi;
import org.attn4j.kernels.AttentionKernel;
import org.attn4j.kernels.AttentionGradientRows;
import org.attn4j.kernels.AttentionOperands;
import org.attn4j.kernels.Blas;
import org.attn4j.kernels.Buf;
import org.attn4j.kernels.DropoutSeed;
import org.attn4j.kernels.GradientShares;
import org.attn4j.kernels.LinearKernel;
import org.attn4j.kernels.MaskRows;
import org.attn4j.kernels.Parallel;
import org.attn4j.kernels.RotaryKernel;
import org.attn4j.kernels.RowMath;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A {@code nn.MultiHeadAttention} on the engine: inference (what its eager {@code apply} runs) and a training
 * pass (its {@code train}): {@code query [B, Tq, C]} attends to {@code key [B, Tk, kDim]} and
 * {@code value [B, Tk, vDim]} under any {@link AttentionMask}, with rotary positions where the layer has them
 * (queries at 0..Tq-1, keys at 0..Tk-1), grouped-query key/value heads, ALiBi biases and a sliding window as
 * configured; output {@code [B, Tq, C]} and per-head weights {@code [B, H, Tq, Tk]} in new arrays. OpenBLAS
 * projections on rows, the per-head math of {@link AttentionKernel} (shared with {@link BlockEngine}).
 *
 * <pre>
 *   forward:   q = rot(query Wq^T + bq)   k = rot(key Wk^T + bk)   v = value Wv^T + bv          rows
 *              P = softmax(q k^T / sqrt(D) + bias + mask),  o = drop(P) v                    per (batch, head)
 *              y = o Wo^T + bo                                                                rows
 *   backward:  do = dy Wo;  dWo = dy^T o;  dbo = colsum(dy)
 *              dq, dk, dv from do (AttentionKernel.backward);  dq, dk rotated back
 *              dQuery = dq Wq;  dWq = dq^T query;  dbq = colsum(dq)   (and so for k, v)
 * </pre>
 *
 * <p>Weights and state are separate: this object holds only the layer's parameter arrays (its own, so an
 * update to the layer is seen here); every call makes its own buffers, and a {@link Pass} keeps what its
 * backward needs. Any number of threads may call one instance at once.
 */
public final class AttentionEngine {
    private static final int ROW_GRAIN = 4;
    private final AttentionConfig config;
    private final DataType type;
    private final Parallel parallel;
    private final AttentionKernel pairs;
    private final Map<String, INDArray> parameters = new LinkedHashMap<>(); // full name -> the layer's array
    private final LinearKernel q, k, v, out; // weights [out, in] (PyTorch's layout), biases [out]
    private final double[] inverseFrequency; // rotary: the config's Rope frequencies, i < D/2; null without

    /** The engine of a multi-head attention of {@code config} on {@code weights}, on {@code parallel}'s workers. */
    public AttentionEngine(AttentionConfig config, AttentionWeights weights, Parallel parallel) {
        this.config = config;
        this.type = weights.q().weight().dataType();
        this.parallel = parallel;
        this.pairs = new AttentionKernel(config.heads(), config.kvHeads(), config.headDim(),
                config.alibi() ? Alibi.slopes(config.heads()) : null, config.window());
        inverseFrequency = config.rotary() ? config.rope().inverseFrequencies(config.headDim()) : null;
        q = lin(weights.q());
        k = lin(weights.k());
        v = lin(weights.v());
        out = lin(weights.out());
    }

    /** A projection's arrays (the layer's own, shared), recorded under their parameter names. */
    private LinearKernel lin(LinearWeights l) {
        parameters.put(l.name() + ".weight", l.weight());
        if (l.bias() != null) {
            parameters.put(l.name() + ".bias", l.bias());
        }
        return LinearKernel.of(l);
    }

    /**
     * Gradients of a pass's backward: with respect to the query, key and value inputs, and every parameter by
     * the layer's parameter names.
     */
    public record Gradients(INDArray query, INDArray key, INDArray value, Map<String, INDArray> parameters) {
    }

    /**
     * Output {@code [B, Tq, C]} and weights {@code [B, H, Tq, Tk]} in the returned pass, whose backward buffers are
     * given back already; safe for concurrent callers. {@code finiteChecks} false skips the NaN scan.
     */
    public Pass apply(INDArray query, INDArray key, INDArray value, AttentionMask<INDArray> mask,
            boolean finiteChecks) {
        Pass pass = forward(query, key, value, mask, null, finiteChecks);
        pass.close(); // no backward: what it would read goes now
        return pass;
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
        private final Buf qs, ks, vs; // projected, q and k rotated: [N_q, C], [N_k, KV], [N_k, KV]
        private final Buf p, pd, o; // weights and their dropped copy [B, H, Tq, Tk] (pd null: none), heads [N_q, C]
        private final MaskRows mask;
        private final AttentionKernel.Drop drop; // what this pass dropped
        private final RotaryKernel rotary; // the table of positions 0 .. max(Tq, Tk) - 1; null without rotary
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
            qs = scratch((long) nq * c);
            ks = scratch((long) nk * kc);
            vs = scratch((long) nk * kc);
            o = scratch((long) nq * c);
            output = Nd4j.createUninitialized(type, b, tq, c);
            weights = Nd4j.createUninitialized(type, b, h, tq, tk);
            p = Buf.of(weights);
            boolean drops = seed != null && config.dropout() > 0;
            drop = !drops ? AttentionKernel.Drop.NONE : new AttentionKernel.Drop(config.dropout(),
                    seed.base(DropoutSeed.stream(-1, DropoutSeed.SELF_WEIGHTS)));
            pd = drops ? scratch((long) b * h * tq * tk) : null;
            mask = MaskRows.of(attentionMask, tq, tk, h, config.causal(), type);
            rotary = inverseFrequency == null ? null : new RotaryKernel(inverseFrequency);
            if (rotary != null) {
                rotary.table(0, Math.max(tq, tk));
            }
            Buf y = Buf.of(output);
            Blas.singleThreaded();
            // 1. Projections of the queries, keys and values (rows); queries and keys turned by their positions.
            parallel.forRange(nq, ROW_GRAIN, (r0, r1) -> {
                q.forward(inQ, qs, r0, r1);
                rotate(qs, tq, r0, r1, c, false);
            });
            parallel.forRange(nk, ROW_GRAIN, (r0, r1) -> {
                k.forward(inK, ks, r0, r1);
                v.forward(inV, vs, r0, r1);
                rotate(ks, tk, r0, r1, kc, false);
            });
            // 2. Per (batch, head): P = softmax(q k^T / sqrt(D) + bias + mask), o = drop(P) v.
            AttentionOperands x = operands();
            parallel.forRange(b * h, pairs.pairGrain(tq, tk), (p0, p1) -> pairs.forward(x, mask, drop, p0, p1));
            // 3. Output projection (rows).
            parallel.forRange(nq, ROW_GRAIN, (r0, r1) -> out.forward(o, y, r0, r1));
        }

        /** Whether {@link #close} has run: {@link #backward} may not. */
        public boolean closed() {
            return closed;
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
                kept.addAll(java.util.Arrays.asList(inQ, inK, inV, qs, ks, vs, o)); // self-attention shares its copies
                if (pd != null) {
                    kept.add(pd);
                }
                kept.forEach(AttentionEngine.this::recycle);
            }
        }

        /**
         * Gradients of a loss with respect to the query, key and value inputs and every parameter (by the
         * layer's parameter names), given its gradient {@code gradOutput [B, Tq, C]} with respect to the output.
         * New arrays on every call.
         */
        public Gradients backward(INDArray gradOutput) {
            if (closed) {
                throw new IllegalStateException("backward on a closed pass: close() freed what the backward reads");
            }
            int c = config.dModel(), h = config.heads(), kvh = config.kvHeads(), kc = config.kvWidth();
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
            parallel.forRange(nq, ROW_GRAIN, (r0, r1) -> out.backwardInput(dy, dO, false, r0, r1));
            // 2. Pairs of (batch, key/value head): dq, dk, dv.
            AttentionOperands x = operands();
            AttentionGradientRows dx = new AttentionGradientRows(dO, dp, dq, dk, dv);
            parallel.forRange(b * kvh, pairs.pairGrain(tq, tk), (p0, p1) -> pairs.backward(x, dx, drop, p0, p1));
            // 3. Rows: dq and dk rotated back; dQuery = dq Wq, dKey = dk Wk, dValue = dv Wv.
            parallel.forRange(nq, ROW_GRAIN, (r0, r1) -> {
                rotate(dq, tq, r0, r1, c, true);
                q.backwardInput(dq, dxq, false, r0, r1);
            });
            parallel.forRange(nk, ROW_GRAIN, (r0, r1) -> {
                rotate(dk, tk, r0, r1, kc, true);
                k.backwardInput(dk, dxk, false, r0, r1);
                v.backwardInput(dv, dxv, false, r0, r1);
            });
            // 4. Parameters: dW = dy^T x, db = column sums of dy; each worker sums a share of the rows.
            GradientShares shares = new GradientShares(grads, parallel.threads());
            parallel.forRange(shares.parts(), (w0, w1) -> {
                for (int w = w0; w < w1; w++) {
                    out.backwardWeights(shares, dy, o, nq, w);
                    q.backwardWeights(shares, dq, inQ, nq, w);
                    k.backwardWeights(shares, dk, inK, nk, w);
                    v.backwardWeights(shares, dv, inV, nk, w);
                }
            });
            shares.reduce(new java.util.ArrayList<>(grads.keySet()), parallel);
            shares.close();
            return new Gradients(dQuery, dKey, dValue, grads);
        }

        /** The forward's rows for the attention kernel. */
        private AttentionOperands operands() {
            return new AttentionOperands(qs, ks, vs, p, pd, o, tq, tk);
        }

        /**
         * Rows [r0, r1) of queries or keys {@code x [B*t, width]} rotated to their positions 0..t-1 (RoPE,
         * {@link RotaryKernel}); {@code back}: a gradient's way back. Nothing without rotary.
         */
        private void rotate(Buf x, int t, int r0, int r1, int width, boolean back) {
            if (rotary == null) {
                return;
            }
            for (int r = r0; r < r1; r++) {
                rotary.rotate(x, r * width, width, r % t, back);
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
     * cost page faults (the C allocator maps large ones afresh; the timing is in BENCHMARKS.md's method section).
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
