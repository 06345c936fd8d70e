package org.attn4j.nn;

import org.attn4j.config.AttentionMask;
import org.attn4j.kernels.AttentionKernel;
import org.attn4j.kernels.AttentionGradientRows;
import org.attn4j.kernels.AttentionOperands;
import org.attn4j.kernels.Blas;
import org.attn4j.kernels.Buf;
import org.attn4j.kernels.DropoutSeed;
import org.attn4j.kernels.MaskRows;
import org.attn4j.kernels.Parallel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One training forward of a {@link ScaledDotProductAttention} on the engine ({@link ScaledDotProductAttention#train}):
 * output {@code [B, H, Tq, Dv]}, weights {@code [B, H, Tq, Tk]}, and what {@link #backward} needs. The per-head
 * math is {@link AttentionKernel}' (shared with {@link BlockEngine} and {@link AttentionEngine}).
 *
 * <pre>
 *   forward:   P = softmax(Q K^T scale + mask),  O = drop(P) V                          per (batch, head)
 *   backward:  dV = drop(P)^T dO;  dS = P (dP - rowsum(P dP)), dP = drop'(dO V^T);  dQ = dS K scale;  dK = dS^T Q scale
 * </pre>
 * {@link AttentionKernel} reads heads side by side in rows ({@code [B, T, H W]}, head h in columns [h W, (h + 1) W))
 * and scales by 1/sqrt(W): so the heads are laid out that way, in a width W = max(D, Dv) (zeros pad the narrower,
 * adding nothing to any product), and Q enters multiplied by scale sqrt(W), which makes its scores Q K^T scale and
 * its dK = dS^T Q scale; only dQ is then multiplied by scale sqrt(W) on the way out.
 *
 * <p>Nothing in a pass changes after the forward: {@link #backward} may run any number of times, from any thread.
 */
public final class ScaledDotProductPass {
    private final Parallel parallel;
    private final AttentionKernel pairs;
    private final DataType type;
    private final int b, h, tq, tk, d, dv, w; // w: the laid-out head width, max(D, Dv)
    private final double qScale; // scale sqrt(W): what Q is multiplied by before AttentionKernel divides by sqrt(W)
    private final Buf q, k, v; // rows [B, Tq, H W] (multiplied by qScale), [B, Tk, H W], [B, Tk, H W]
    private final Buf p, pd; // weights [B, H, Tq, Tk] and their dropped copy (null: none)
    private final AttentionKernel.Drop drop; // what this pass dropped
    private final INDArray output, weights; // [B, H, Tq, Dv], [B, H, Tq, Tk]
    private volatile boolean closed;

    /** Runs the forward on inputs the layer has checked; {@code seed} null drops nothing. */
    ScaledDotProductPass(java.util.OptionalDouble scale, double dropoutRate, INDArray query, INDArray key, INDArray value,
            AttentionMask<INDArray> mask, DropoutSeed seed, Parallel parallel) {
        this.parallel = parallel;
        type = query.dataType();
        b = (int) query.size(0);
        h = (int) query.size(1);
        tq = (int) query.size(2);
        d = (int) query.size(3);
        tk = (int) key.size(2);
        dv = (int) value.size(3);
        w = Math.max(d, dv);
        qScale = scale.orElse(1 / Math.sqrt(d)) * Math.sqrt(w);
        pairs = new AttentionKernel(h, h, w, null, 0);
        q = rows(tq);
        k = rows(tk);
        v = rows(tk);
        Buf qIn = Buf.of(query, type), kIn = Buf.of(key, type), vIn = Buf.of(value, type);
        parallel.forRange(b * h, copyGrain(), (p0, p1) -> {
            layOut(qIn, d, tq, qScale, q, p0, p1);
            layOut(kIn, d, tk, 1, k, p0, p1);
            layOut(vIn, dv, tk, 1, v, p0, p1);
        });
        weights = Nd4j.createUninitialized(type, b, h, tq, tk);
        p = Buf.of(weights);
        boolean drops = seed != null && dropoutRate > 0;
        drop = !drops ? AttentionKernel.Drop.NONE : new AttentionKernel.Drop(dropoutRate,
                seed.base(DropoutSeed.stream(-1, DropoutSeed.SELF_WEIGHTS)));
        pd = drops ? Buf.of(Nd4j.create(type, (long) b * h * tq * tk)) : null;
        MaskRows keep = MaskRows.of(mask, tq, tk, h, false, type);
        Buf o = rows(tq);
        Blas.singleThreaded();
        // Per (batch, head): P = softmax(Q K^T scale + mask), O = drop(P) V.
        AttentionOperands x = new AttentionOperands(q, k, v, p, pd, o, tq, tk);
        parallel.forRange(b * h, pairs.pairGrain(tq, tk), (p0, p1) -> pairs.forward(x, keep, drop, p0, p1));
        output = Nd4j.createUninitialized(type, b, h, tq, dv);
        Buf out = Buf.of(output);
        parallel.forRange(b * h, copyGrain(), (p0, p1) -> takeBack(o, dv, tq, 1, out, p0, p1));
        o.close();
    }

    /**
     * Frees what only the backward needs (the laid-out queries, keys and values, the dropped weights) now rather
     * than when the garbage collector gets to them; {@link #output} and {@link #weights} stay valid, and
     * {@link #backward} may not be called after. {@code apply} closes its pass this way.
     */
    public synchronized void close() {
        if (!closed) {
            closed = true;
            q.close();
            k.close();
            v.close();
            if (pd != null) {
                pd.close();
            }
        }
    }

    /** The attention's output {@code [B, H, Tq, Dv]}. */
    public INDArray output() {
        return output;
    }

    /** Per-head weights {@code [B, H, Tq, Tk]} (before dropout). The backward reads them: do not change them. */
    public INDArray weights() {
        return weights;
    }

    /**
     * Gradients of a loss with respect to the query, key and value, given its gradient
     * {@code gradOutput [B, H, Tq, Dv]} with respect to the output. New arrays on every call.
     */
    public ScaledDotProductGradients backward(INDArray gradOutput) {
        if (closed) {
            throw new IllegalStateException("backward on a closed pass: close() freed what the backward reads");
        }
        Checks.rank("gradOutput", gradOutput, 4, "[B, H, Tq, Dv]");
        Checks.shape("gradOutput [B=" + b + ", H=" + h + ", Tq=" + tq + ", Dv=" + dv + "]", gradOutput, b, h, tq, dv);
        if (gradOutput.dataType() != type) {
            throw new IllegalArgumentException("gradOutput is " + gradOutput.dataType() + " but the pass's inputs are "
                    + type + "; cast it with castTo(" + type + ")");
        }
        Buf dy = Buf.of(gradOutput, type);
        Buf dO = rows(tq), dq = rows(tq), dk = rows(tk), dvRows = rows(tk);
        Buf dp = Buf.of(Nd4j.create(type, Math.max(1, (long) b * h * tq * tk)));
        parallel.forRange(b * h, copyGrain(), (p0, p1) -> layOut(dy, dv, tq, 1, dO, p0, p1));
        Blas.singleThreaded();
        // Per (batch, head): dV, dK and dQ' (the gradient of the Q that entered, Q qScale).
        AttentionOperands x = new AttentionOperands(q, k, v, p, pd, null, tq, tk);
        AttentionGradientRows g = new AttentionGradientRows(dO, dp, dq, dk, dvRows);
        parallel.forRange(b * h, pairs.pairGrain(tq, tk), (p0, p1) -> pairs.backward(x, g, drop, p0, p1));
        INDArray dQuery = Nd4j.createUninitialized(type, b, h, tq, d), dKey = Nd4j.createUninitialized(type, b, h, tk, d),
                dValue = Nd4j.createUninitialized(type, b, h, tk, dv);
        Buf dxq = Buf.of(dQuery), dxk = Buf.of(dKey), dxv = Buf.of(dValue);
        parallel.forRange(b * h, copyGrain(), (p0, p1) -> {
            takeBack(dq, d, tq, qScale, dxq, p0, p1); // dQ = dQ' qScale
            takeBack(dk, d, tk, 1, dxk, p0, p1);
            takeBack(dvRows, dv, tk, 1, dxv, p0, p1);
        });
        for (Buf temporary : new Buf[] {dO, dq, dk, dvRows, dp}) {
            temporary.close();
        }
        return new ScaledDotProductGradients(dQuery, dKey, dValue);
    }

    /** Rows {@code [B, t, H W]} of zeros. */
    private Buf rows(int t) {
        return Buf.of(Nd4j.create(type, Math.max(1, (long) b * t * h * w)));
    }

    /** Heads [p0, p1) of {@code x [B, H, t, width]} times {@code factor} into rows {@code [B, t, H W]} (width <= W). */
    private void layOut(Buf x, int width, int t, double factor, Buf rows, int p0, int p1) {
        for (int pair = p0; pair < p1; pair++) {
            int bi = pair / h, hi = pair % h;
            for (int i = 0; i < t; i++) {
                int from = (pair * t + i) * width, to = ((bi * t + i) * h + hi) * w;
                for (int j = 0; j < width; j++) {
                    rows.put(to + j, factor * x.get(from + j));
                }
            }
        }
    }

    /** The inverse of {@link #layOut}: heads [p0, p1) of rows {@code [B, t, H W]}, first {@code width} columns, times factor. */
    private void takeBack(Buf rows, int width, int t, double factor, Buf x, int p0, int p1) {
        for (int pair = p0; pair < p1; pair++) {
            int bi = pair / h, hi = pair % h;
            for (int i = 0; i < t; i++) {
                int to = (pair * t + i) * width, from = ((bi * t + i) * h + hi) * w;
                for (int j = 0; j < width; j++) {
                    x.put(to + j, factor * rows.get(from + j));
                }
            }
        }
    }

    /** Heads per worker for a layout copy: at least 2^15 elements each. */
    private int copyGrain() {
        return Math.max(1, (1 << 15) / Math.max(1, Math.max(tq, tk) * w));
    }
}
