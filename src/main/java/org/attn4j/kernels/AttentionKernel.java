package org.attn4j.kernels;

import java.util.concurrent.atomic.LongAdder;

/**
 * Softmax attention of (batch, head) pairs on projected rows: forward, backward and the cached decode step, the
 * one copy of this math that every attention of the engine runs (block self- and cross-attention, a lone
 * multi-head attention, scaled dot-product attention, decoding).
 *
 * <pre>
 *   forward:   S = q k^T / sqrt(D) + position bias + mask;  P = softmax(S);  o = drop(P) v     per (batch, head)
 *   backward:  dP' = dO v^T;  dV = P'^T dO;  dP = drop'(dP');  dS = P (dP - rowsum(P dP))
 *              dQ = dS k / sqrt(D);  dK = dS^T q / sqrt(D)
 *   cached:    the forward of t new queries against every cached key and value (no dropout, no packing)
 * </pre>
 *
 * <p>Queries are rows {@code [B, tq, C]} (head h in columns [h D, (h + 1) D)), keys and values rows
 * {@code [B, tk, kvHeads D]}; query head h reads key/value head h / (H / kvHeads). Weights are
 * {@code [B, H, tq, tk]}.
 *
 * @param heads    query heads H
 * @param kvHeads  key/value heads (H, or a divisor of H: grouped-query)
 * @param headDim  D
 * @param slopes   ALiBi's m_h per head ({@link Alibi}), or null
 * @param window   sliding window (0: none)
 */
public record AttentionKernel(int heads, int kvHeads, int headDim, double[] slopes, int window) {
    /** Pairs whose forward ran on {@link AttentionLanes} in this JVM: lets a test see that the lanes ran. */
    public static final LongAdder LANE_PAIRS = new LongAdder();
    /** Least multiply-adds of attention per worker (below this a thread hand-off costs more). */
    private static final long PAIR_WORK = 1 << 17;

    /** Dropout on the weights: probability {@code p} (0: none) with the stream base {@code base} ({@link DropoutSeed}). */
    public record Drop(double p, long base) {
        public static final Drop NONE = new Drop(0, 0);

        boolean drops() {
            return p > 0;
        }
    }

    /**
     * A decoding's cache of one block: key and value rows {@code [B, capacity, kvHeads D]}, and scratch
     * {@code scores [B, H, t, total]}.
     */
    public record Cached(Buf keys, Buf values, int capacity, Buf scores) {
    }

    /** Pairs per worker so that each has at least 2^17 multiply-adds of [tq, tk] attention. */
    public int pairGrain(int tq, int tk) {
        long perPair = 2L * tq * tk * headDim;
        return (int) Math.max(1, Math.min(Integer.MAX_VALUE, PAIR_WORK / Math.max(1, perPair)));
    }

    /**
     * Pairs [p0, p1) of (batch, head): P = softmax(q k^T / sqrt(D) + position bias + mask) into {@code x.p()},
     * o = drop(P) v into {@code x.o()}. On packed rows only the weights' first lq rows and lk columns are computed
     * (the others keep what they held, and the mask makes the columns lk.. zero).
     */
    public void forward(AttentionOperands x, MaskRows mask, Drop drop, int p0, int p1) {
        int h = heads, d = headDim, c = h * d, kc = kvHeads * d, group = h / kvHeads, tq = x.tq(), tk = x.tk();
        Buf p = x.p(), pd = x.pd();
        double scale = 1 / Math.sqrt(d);
        boolean drops = drop.drops(), lanes = lanes(x.q(), tq, tk, mask, drop);
        AttentionLanes.Heads strides = lanes ? lanesHeads() : null; // once a call, not once a pair
        int onLanes = 0;
        for (int pair = p0; pair < p1; pair++) {
            int bi = pair / h, hi = pair % h;
            int lq = x.queries(bi), lk = x.keys(bi);
            long qRows = (long) x.queryRow(bi) * c + (long) hi * d;
            long kRows = (long) x.keyRow(bi) * kc + (long) (hi / group) * d;
            int scores = pair * tq * tk;
            if (lanes && lk <= AttentionLanes.MAX_KEYS) {
                AttentionLanes.forward(x, strides, new AttentionLanes.Pair(qRows, kRows, lq, lk, bi, scores), mask);
                onLanes++;
                continue;
            }
            Blas.gemm(false, true, lq, lk, d, scale, new Strided(x.q(), qRows, c), new Strided(x.k(), kRows, kc), 0,
                    new Strided(p, scores, tk));
            PositionBias.apply(p, scores, tq, tk, slope(hi), window);
            for (int i = 0; i < lq; i++) {
                RowMath.softmaxRow(p, scores + i * tk, mask, bi, hi, i);
            }
            if (drops) {
                RowMath.copy(p, scores, pd, scores, tq * tk);
                DropoutSeed.apply(drop.base(), drop.p(), pd, scores, scores + tq * tk);
            }
            Blas.gemm(false, false, lq, d, lk, 1, new Strided(drops ? pd : p, scores, tk),
                    new Strided(x.v(), kRows, kc), 0, new Strided(x.o(), qRows, c));
        }
        if (onLanes > 0) {
            LANE_PAIRS.add(onLanes);
        }
    }

    /**
     * Backward of {@link #forward} for pairs [p0, p1) of (batch, key/value head): {@code g.dO()} given, into dq, dk,
     * dv; where the weights dropped, through their dropped copy. dK and dV of a shared head sum over the
     * H / kvHeads query heads that read it, so one worker owns them all. On packed rows, the first lq rows and lk
     * columns of each pair's weights, the only ones that are not zero or unused.
     */
    public void backward(AttentionOperands x, AttentionGradientRows g, Drop drop, int p0, int p1) {
        int h = heads, kvh = kvHeads, d = headDim, c = h * d, kc = kvh * d, group = h / kvh, tq = x.tq(), tk = x.tk();
        Buf dp = g.dp();
        double scale = 1 / Math.sqrt(d);
        boolean drops = drop.drops(), lanes = RowMath.vector(x.q()) && !drops
                && AttentionLanes.fits(x.q(), headDim, tq, tk, null); // the lanes read P: ALiBi and window are in it
        AttentionLanes.Heads strides = lanes ? lanesHeads() : null;
        for (int pair = p0; pair < p1; pair++) {
            int bi = pair / kvh;
            int lq = x.queries(bi), lk = x.keys(bi);
            long kRows = (long) x.keyRow(bi) * kc + (long) (pair % kvh) * d;
            for (int hi = (pair % kvh) * group; hi < (pair % kvh + 1) * group; hi++) {
                double sum = hi % group == 0 ? 0 : 1; // the group's first head writes dK and dV, the others add
                long qRows = (long) x.queryRow(bi) * c + (long) hi * d;
                int scores = (bi * h + hi) * tq * tk;
                if (lanes && lk <= AttentionLanes.MAX_KEYS) {
                    AttentionLanes.backward(x, g, strides, new AttentionLanes.Pair(qRows, kRows, lq, lk, bi, scores),
                            sum != 0);
                    continue;
                }
                Blas.gemm(false, true, lq, lk, d, 1, new Strided(g.dO(), qRows, c), new Strided(x.v(), kRows, kc), 0,
                        new Strided(dp, scores, tk)); // dP' = dO V^T
                // dV = P'^T dO (P' = drop(P))
                Blas.gemm(true, false, lk, d, lq, 1, new Strided(drops ? x.pd() : x.p(), scores, tk),
                        new Strided(g.dO(), qRows, c), sum, new Strided(g.dv(), kRows, kc));
                if (drops) { // dP = drop'(dP')
                    DropoutSeed.apply(drop.base(), drop.p(), dp, scores, scores + tq * tk);
                }
                for (int i = 0; i < lq; i++) {
                    RowMath.softmaxBackRow(x.p(), dp, scores + i * tk, lk); // dS = P (dP - rowsum(P dP))
                }
                // dQ = dS K / sqrt(D)
                Blas.gemm(false, false, lq, d, lk, scale, new Strided(dp, scores, tk), new Strided(x.k(), kRows, kc), 0,
                        new Strided(g.dq(), qRows, c));
                // dK = dS^T Q / sqrt(D)
                Blas.gemm(true, false, lk, d, lq, scale, new Strided(dp, scores, tk), new Strided(x.q(), qRows, c), sum,
                        new Strided(g.dk(), kRows, kc));
            }
        }
    }

    /**
     * The decode step's attention for pairs [p0, p1) of (batch, head): {@code t} new queries (rows {@code q}
     * {@code [B, t, C]}, query i at position total - t + i) against the first {@code total} cached keys and values
     * of each batch row, under {@code mask}; weights into the cache's scores, output rows into {@code o}.
     */
    public void forwardCached(Buf q, Cached cache, Buf o, int t, int total, MaskRows mask, int p0, int p1) {
        int h = heads, d = headDim, c = h * d, kc = kvHeads * d, group = h / kvHeads;
        double scale = 1 / Math.sqrt(d);
        Buf s = cache.scores();
        for (int pair = p0; pair < p1; pair++) {
            int bi = pair / h, hi = pair % h;
            long rows = (long) bi * t * c + (long) hi * d;
            long keys = (long) bi * cache.capacity() * kc + (long) (hi / group) * d; // the head's key/value head
            long scores = (long) pair * t * total;
            Blas.gemm(false, true, t, total, d, scale, new Strided(q, rows, c), new Strided(cache.keys(), keys, kc), 0,
                    new Strided(s, scores, total));
            PositionBias.apply(s, (int) scores, t, total, slope(hi), window);
            for (int i = 0; i < t; i++) {
                RowMath.softmaxRow(s, (int) scores + i * total, mask, bi, hi, i);
            }
            Blas.gemm(false, false, t, d, total, 1, new Strided(s, scores, total),
                    new Strided(cache.values(), keys, kc), 0, new Strided(o, rows, c));
        }
    }

    private AttentionLanes.Heads lanesHeads() {
        return new AttentionLanes.Heads(heads * headDim, kvHeads * headDim, headDim);
    }

    private double slope(int head) {
        return slopes == null ? 0 : slopes[head];
    }

    /**
     * Whether this forward's pairs of at most {@link AttentionLanes#MAX_KEYS} keys run on {@link AttentionLanes}
     * (float32 in vector lanes) rather than BLAS: short sequences without dropout, ALiBi or window, under a mask
     * of padding and causality. {@code RowMath.vector} is asked first: without
     * {@code --add-modules jdk.incubator.vector}, {@link AttentionLanes} cannot load, and it must not be touched.
     */
    private boolean lanes(Buf rows, int tq, int tk, MaskRows mask, Drop drop) {
        return RowMath.vector(rows) && !drop.drops() && slopes == null && window == 0
                && AttentionLanes.fits(rows, headDim, tq, tk, mask);
    }
}
