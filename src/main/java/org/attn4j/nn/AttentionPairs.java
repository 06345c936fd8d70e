package org.attn4j.nn;

import java.util.concurrent.atomic.LongAdder;
import org.attn4j.kernels.AttentionLanes;
import org.attn4j.kernels.Blas;
import org.attn4j.kernels.Buf;
import org.attn4j.kernels.DropoutSeed;
import org.attn4j.kernels.MaskRows;
import org.attn4j.kernels.PositionBias;
import org.attn4j.kernels.RowMath;

/**
 * Softmax attention of (batch, head) pairs on projected rows, forward and backward: the engine's one copy
 * of this math, run by {@link FastBlock} (self- and cross-attention sublayers) and {@link FastAttention}
 * (a lone {@link MultiHeadAttention}, inference and training).
 *
 * <p>Queries are rows {@code [B, tq, C]} (head h in columns [h D, (h + 1) D)), keys and values rows
 * {@code [B, tk, kvHeads D]}; query head h reads key/value head h / (H / kvHeads). Weights are
 * {@code [B, H, tq, tk]}.
 *
 * @param heads    query heads H
 * @param kvHeads  key/value heads (H, or a divisor of H: grouped-query)
 * @param headDim  D
 * @param slopes   ALiBi's m_h per head, or null
 * @param window   sliding window (0: none)
 */
record AttentionPairs(int heads, int kvHeads, int headDim, double[] slopes, int window) {
    /** Pairs whose forward ran on {@link AttentionLanes} in this JVM: lets a test see that the lanes ran. */
    static final LongAdder LANE_PAIRS = new LongAdder();

    /**
     * Pairs [p0, p1) of (batch, head): P = softmax(q k^T / sqrt(D) + position bias + mask) into {@code p},
     * o = drop(P) v into the output rows {@code o}. With {@code dropout > 0} the dropped weights go to
     * {@code pd} (stream base {@code dropBase}).
     */
    void forward(Buf qs, Buf ks, Buf vs, Buf p, Buf pd, Buf o, int tq, int tk, MaskRows mask, double dropout,
            long dropBase, int p0, int p1) {
        forward(qs, ks, vs, p, pd, o, tq, tk, mask, dropout, dropBase, null, null, p0, p1);
    }

    /**
     * {@link #forward(Buf, Buf, Buf, Buf, Buf, Buf, int, int, MaskRows, double, long, int, int)} on packed rows
     * (null: rows {@code [B, tq]} and {@code [B, tk]}): sequence bi's queries are rows [qStart[bi], qStart[bi + 1])
     * and its keys and values rows [kStart[bi], kStart[bi + 1]), its first lq and lk positions; the rest of its
     * positions are trailing padding, which {@code mask} must exclude as keys. Only the weights' first lq rows
     * and lk columns are computed (the others keep what they held, and the mask makes the columns lk.. zero).
     */
    void forward(Buf qs, Buf ks, Buf vs, Buf p, Buf pd, Buf o, int tq, int tk, MaskRows mask, double dropout,
            long dropBase, int[] qStart, int[] kStart, int p0, int p1) {
        int h = heads, d = headDim, c = h * d, kc = kvHeads * d, group = h / kvHeads;
        double scale = 1 / Math.sqrt(d);
        boolean drops = dropout > 0, lanes = lanes(qs, tq, tk, mask, dropout);
        int onLanes = 0;
        for (int pair = p0; pair < p1; pair++) {
            int bi = pair / h, hi = pair % h;
            int lq = qStart == null ? tq : qStart[bi + 1] - qStart[bi], lk = kStart == null ? tk : kStart[bi + 1] - kStart[bi];
            long qRows = (long) (qStart == null ? bi * tq : qStart[bi]) * c + (long) hi * d;
            long kRows = (long) (kStart == null ? bi * tk : kStart[bi]) * kc + (long) (hi / group) * d;
            int scores = pair * tq * tk;
            if (lanes && lk <= AttentionLanes.MAX_KEYS) {
                AttentionLanes.forward(qs, ks, vs, qRows, kRows, c, kc, lq, lk, d, scale, mask, bi, p, scores, tk, o);
                onLanes++;
                continue;
            }
            Blas.gemm(false, true, lq, lk, d, scale, qs, qRows, c, ks, kRows, kc, 0, p, scores, tk);
            PositionBias.apply(p, scores, tq, tk, slopes == null ? 0 : slopes[hi], window);
            for (int i = 0; i < lq; i++) {
                RowMath.softmaxRow(p, scores + i * tk, mask, bi, hi, i);
            }
            if (drops) {
                RowMath.copy(p, scores, pd, scores, tq * tk);
                DropoutSeed.apply(dropBase, dropout, pd, scores, scores + tq * tk);
            }
            Blas.gemm(false, false, lq, d, lk, 1, drops ? pd : p, scores, tk, vs, kRows, kc, 0, o, qRows, c);
        }
        if (onLanes > 0) {
            LANE_PAIRS.add(onLanes);
        }
    }

    /**
     * Whether this call's pairs of at most {@link AttentionLanes#MAX_KEYS} keys run on {@link AttentionLanes}
     * (float32 in vector lanes) rather than BLAS: short sequences without dropout, ALiBi or window, under a mask
     * of padding and causality ({@code mask} null: the backward, which needs only the weights the forward
     * computed). {@code RowMath.vector} is asked first: without {@code --add-modules jdk.incubator.vector},
     * {@link AttentionLanes} cannot load, and it must not be touched.
     */
    private boolean lanes(Buf rows, int tq, int tk, MaskRows mask, double dropout) {
        return RowMath.vector(rows) && dropout == 0 && slopes == null && window == 0
                && AttentionLanes.fits(rows, headDim, tq, tk, mask);
    }

    /**
     * Backward of {@link #forward} for pairs [p0, p1) of (batch, key/value head): dO given, into dq, dk, dv
     * ({@code dp [B, H, tq, tk]} is scratch); where the weights dropped, through their dropped copy {@code pd}.
     * dK and dV of a shared head sum over the H / kvHeads query heads that read it, so one worker owns them all.
     */
    void backward(Buf qs, Buf ks, Buf vs, Buf p, Buf pd, Buf dO, Buf dp, Buf dq, Buf dk, Buf dv, int tq, int tk,
            double dropout, long dropBase, int p0, int p1) {
        backward(qs, ks, vs, p, pd, dO, dp, dq, dk, dv, tq, tk, dropout, dropBase, null, null, p0, p1);
    }

    /**
     * {@link #backward(Buf, Buf, Buf, Buf, Buf, Buf, Buf, Buf, Buf, Buf, int, int, double, long, int, int)} on the
     * packed rows of a {@link #forward} with {@code qStart} and {@code kStart}: the first lq rows and lk columns of
     * each pair's weights, the only ones that are not zero or unused.
     */
    void backward(Buf qs, Buf ks, Buf vs, Buf p, Buf pd, Buf dO, Buf dp, Buf dq, Buf dk, Buf dv, int tq, int tk,
            double dropout, long dropBase, int[] qStart, int[] kStart, int p0, int p1) {
        int h = heads, kvh = kvHeads, d = headDim, c = h * d, kc = kvh * d, group = h / kvh;
        double scale = 1 / Math.sqrt(d);
        boolean drops = dropout > 0, lanes = lanes(qs, tq, tk, null, dropout);
        for (int pair = p0; pair < p1; pair++) {
            int bi = pair / kvh;
            int lq = qStart == null ? tq : qStart[bi + 1] - qStart[bi], lk = kStart == null ? tk : kStart[bi + 1] - kStart[bi];
            long kRows = (long) (kStart == null ? bi * tk : kStart[bi]) * kc + (long) (pair % kvh) * d;
            for (int hi = (pair % kvh) * group; hi < (pair % kvh + 1) * group; hi++) {
                double sum = hi % group == 0 ? 0 : 1; // the group's first head writes dK and dV, the others add
                long qRows = (long) (qStart == null ? bi * tq : qStart[bi]) * c + (long) hi * d;
                int scores = (bi * h + hi) * tq * tk;
                if (lanes && lk <= AttentionLanes.MAX_KEYS) {
                    AttentionLanes.backward(qs, ks, vs, dO, qRows, kRows, c, kc, lq, lk, d, scale, p, scores, tk, dq, dk, dv,
                            sum != 0);
                    continue;
                }
                Blas.gemm(false, true, lq, lk, d, 1, dO, qRows, c, vs, kRows, kc, 0, dp, scores, tk); // dP' = dO V^T
                // dV = P'^T dO (P' = drop(P))
                Blas.gemm(true, false, lk, d, lq, 1, drops ? pd : p, scores, tk, dO, qRows, c, sum, dv, kRows, kc);
                if (drops) { // dP = drop'(dP')
                    DropoutSeed.apply(dropBase, dropout, dp, scores, scores + tq * tk);
                }
                for (int i = 0; i < lq; i++) {
                    RowMath.softmaxBackRow(p, dp, scores + i * tk, lk); // dS = P (dP - rowsum(P dP))
                }
                Blas.gemm(false, false, lq, d, lk, scale, dp, scores, tk, ks, kRows, kc, 0, dq, qRows, c); // dQ = dS K / sqrt(D)
                Blas.gemm(true, false, lk, d, lq, scale, dp, scores, tk, qs, qRows, c, sum, dk, kRows, kc); // dK = dS^T Q / sqrt(D)
            }
        }
    }
}
