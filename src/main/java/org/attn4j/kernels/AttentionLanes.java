package org.attn4j.kernels;

import static jdk.incubator.vector.FloatVector.fromByteBuffer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Float32 softmax attention of one (sequence, head) pair in vector lanes, forward and backward, for short
 * sequences (at most {@link #MAX_KEYS} keys): the same math as {@link AttentionKernel}'s BLAS path (which runs
 * float64, and float32 beyond these limits or with dropout or position biases), checked against it in the tests.
 *
 * <p>Why: a pair of the sequence example is about 12 queries by 12 keys of 16 dimensions, and a training step has
 * thousands of them. Through OpenBLAS each of its six small products costs mostly the call itself and the
 * packing of its operands, and softmax rows shorter than a vector ran on scalar {@code Math.exp}. Here the pair's
 * rows are copied once into scratch arrays whose rows are padded to whole lanes (zeros, and -inf scores for the
 * padding keys), so every step is a full-width lane operation: a query's scores are one vector of keys, built
 * from K^T's rows as D multiply-adds, and its softmax runs in that vector.
 *
 * <p>Sums run in a fixed order (multiply-adds over the inner dimension in order, a vector's lanes added as a
 * fixed tree), so the interpreter and the JIT give the same bits, and so does every split of the pairs among
 * threads.
 *
 * <p>This class needs {@code jdk.incubator.vector} to load: callers reach it only after
 * {@link RowMath#vector(Buf)} said yes (its {@link #MAX_KEYS} and {@link #MAX_LENGTH} are constants, which
 * the compiler copies into the caller, so reading them loads nothing).
 */
public final class AttentionLanes {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    /** The most queries and keys (tq, tk) a call's pairs may have here. */
    public static final int MAX_LENGTH = 64;
    /**
     * The most keys of one pair sent here: beyond about this OpenBLAS's products win (measured on the
     * benchmark's toy block and the sequence example's model: BENCHMARKS.md's method section).
     */
    public static final int MAX_KEYS = 16;
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private AttentionLanes() {
    }

    /**
     * Whether pairs of {@code tq} queries and {@code tk} keys of {@code headDim} dimensions in {@code rows}' type,
     * under {@code mask}, run here: float32 with the vector kernels on, D a whole number of lanes, tq and tk at most
     * {@link #MAX_LENGTH}, and a mask of key padding and causality only (no keep matrix, no additive bias; null:
     * not asked, as for a backward, whose forward was asked).
     */
    public static boolean fits(Buf rows, int headDim, int tq, int tk, MaskRows mask) {
        return RowMath.vector(rows) && headDim % L == 0 && tq <= MAX_LENGTH && tk <= MAX_LENGTH
                && (mask == null || mask.keep == null && mask.bias == null);
    }

    /** One pair's rows, padded to whole lanes: kp = lk rounded up to lanes. */
    private static final class Scratch {
        float[] q = new float[0], k = new float[0], kt = new float[0], v = new float[0], vt = new float[0],
                dO = new float[0], p = new float[0], ds = new float[0], flat = new float[0], keyBias = new float[0];
        final float[] lane = new float[L], rowMax = new float[MAX_LENGTH], lanes = new float[MAX_LENGTH * L];
        float[] causal = new float[0];
        int causalTq = -1, causalTk = -1, causalKp = -1;
        boolean causalOn;

        /**
         * The causal biases of rows i < lq [lq, kp]: 0 for keys before mask.limit(i), -inf from there (without
         * causality, limit is tk, past every key); made again only when the mask's causality, tq and tk or kp
         * change (a table cached per thread; an add per row rather than a lane mask, which JDK 17 builds slowly).
         */
        float[] causal(MaskRows mask, int lq, int kp) {
            if (mask.causal != causalOn || mask.tq != causalTq || mask.tk != causalTk || kp != causalKp) {
                causalOn = mask.causal;
                causalTq = mask.tq;
                causalTk = mask.tk;
                causalKp = kp;
                int rows = mask.tq;
                if (causal.length < rows * kp) {
                    causal = new float[rows * kp];
                }
                for (int i = 0; i < rows; i++) {
                    int limit = mask.limit(i);
                    for (int j = 0; j < kp; j++) {
                        causal[i * kp + j] = j < limit ? 0 : Float.NEGATIVE_INFINITY;
                    }
                }
            }
            return causal;
        }

        void size(int tq, int tk, int d) {
            int kp = MAX_LENGTH + L, rows = Math.max(tq, tk) * d;
            if (q.length < rows || kt.length < d * kp || flat.length < tq * tk + L) {
                q = new float[rows];
                k = new float[rows];
                v = new float[rows];
                dO = new float[rows];
                kt = new float[d * kp];
                vt = new float[d * kp];
                p = new float[MAX_LENGTH * kp];
                ds = new float[MAX_LENGTH * kp];
                flat = new float[MAX_LENGTH * MAX_LENGTH + L];
                keyBias = new float[kp];
            }
        }
    }

    /**
     * Where one (sequence, head) pair's rows are: its queries from element {@code qOff} of the query rows (this head's
     * first column; o's rows alike), its keys from {@code kOff} (v's rows alike), {@code lq} queries and {@code lk}
     * keys; {@code bi} its sequence (for the mask's padding and causality), {@code pOff} its weights block's first
     * element.
     */
    public record Pair(long qOff, long kOff, int lq, int lk, int bi, int pOff) {
    }

    /** Rows of D = {@code headDim} columns, {@code ldq} floats apart for queries and {@code ldk} for keys and values. */
    public record Heads(int ldq, int ldk, int headDim) {
        float scale() {
            return (float) (1 / Math.sqrt(headDim));
        }
    }

    /**
     * Forward of one pair: P = softmax(q k^T scale + mask) into the weights block {@code [tq, tk]} at the pair's
     * {@code pOff} (its first lq rows: columns lk.. zero; later rows untouched), o = P v into o's rows.
     */
    public static void forward(AttentionOperands x, Heads h, Pair pair, MaskRows mask) {
        int lq = pair.lq(), lk = pair.lk(), d = h.headDim(), tk = x.tk();
        Scratch w = SCRATCH.get();
        w.size(lq, Math.max(lk, tk), d);
        int kp = padded(lk);
        rows(x.q().bytes(), pair.qOff(), h.ldq(), lq, d, w.q);
        transposed(x.k().bytes(), pair.kOff(), h.ldk(), lk, d, kp, w.kt, w.lane);
        rows(x.v().bytes(), pair.kOff(), h.ldk(), lk, d, w.v);
        keyBias(mask, pair.bi(), lk, kp, w.keyBias);
        timesTransposed(w.q, lq, d, w.kt, kp, w.p); // S = Q K^T
        // P = softmax(S scale + mask)
        softmax(w.p, lq, kp, h.scale(), w.keyBias, w.causal(mask, lq, kp), w.rowMax, w.lanes);
        weighted(w.p, kp, 1, lq, lk, w.v, 1, new Target(x.o().bytes(), pair.qOff(), h.ldq(), d, false)); // O = P V
        store(w.p, lq, kp, lk, tk, w.flat, x.p().bytes(), pair.pOff());
    }

    /**
     * Backward of {@link #forward} for one pair, dO given: dq = dS k scale, and dk, dv (added to what they hold
     * when {@code sum}, for a key/value head that several query heads read), where dS = P (dP - rowsum(P dP)) and
     * dP = dO v^T. The weights are read from the pair's block.
     */
    public static void backward(AttentionOperands x, AttentionGradientRows g, Heads h, Pair pair, boolean sum) {
        int lq = pair.lq(), lk = pair.lk(), d = h.headDim(), tk = x.tk();
        float scale = h.scale();
        Scratch w = SCRATCH.get();
        w.size(lq, Math.max(lk, tk), d);
        int kp = padded(lk);
        load(x.p().bytes(), pair.pOff(), lq, kp, lk, tk, w.flat, w.p);
        transposed(x.v().bytes(), pair.kOff(), h.ldk(), lk, d, kp, w.vt, w.lane);
        rows(x.k().bytes(), pair.kOff(), h.ldk(), lk, d, w.k);
        rows(x.q().bytes(), pair.qOff(), h.ldq(), lq, d, w.q);
        rows(g.dO().bytes(), pair.qOff(), h.ldq(), lq, d, w.dO);
        timesTransposed(w.dO, lq, d, w.vt, kp, w.ds); // dP = dO V^T
        softmaxBack(w.p, w.ds, lq, kp, w.lanes); // dS = P (dP - rowsum(P dP))
        // dQ = dS K scale, dV = P^T dO, dK = dS^T Q scale
        weighted(w.ds, kp, 1, lq, lk, w.k, scale, new Target(g.dq().bytes(), pair.qOff(), h.ldq(), d, false));
        weighted(w.p, 1, kp, lk, lq, w.dO, 1, new Target(g.dv().bytes(), pair.kOff(), h.ldk(), d, sum));
        weighted(w.ds, 1, kp, lk, lq, w.q, scale, new Target(g.dk().bytes(), pair.kOff(), h.ldk(), d, sum));
    }

    /** Rows of d floats, {@code ld} apart from {@code off} in {@code to}, written or (add) added to. */
    private record Target(ByteBuffer to, long off, int ld, int d, boolean add) {
    }

    // The steps below take and return arrays, never vectors: a vector handed to a method the JIT did not inline
    // is boxed (see VectorMath), and the JIT stops inlining into forward and backward once they are large.

    /** out[i, 0..kp) = sum_c a[i, c] bt[c, 0..kp) for rows i < n: a [n, d], bt [d, kp]. */
    private static void timesTransposed(float[] a, int n, int d, float[] bt, int kp, float[] out) {
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < kp; j += L) {
                FloatVector acc = FloatVector.zero(S);
                for (int c = 0; c < d; c++) {
                    acc = FloatVector.broadcast(S, a[i * d + c]).fma(FloatVector.fromArray(S, bt, c * kp + j), acc);
                }
                acc.intoArray(out, i * kp + j);
            }
        }
    }

    /**
     * Rows i < n of p [n, kp], in place: softmax(s scale + keyBias + causal), causal [n, kp] -inf for the keys from
     * the mask's limit(i) on; a row with every key excluded becomes zeros.
     */
    private static void softmax(float[] p, int n, int kp, float scale, float[] keyBias, float[] causal, float[] rowMax,
            float[] lanes) {
        // Step by step over all rows, so that the rows' chains of dependent operations overlap.
        for (int i = 0; i < n; i++) { // 1. masked scores, and each row's max
            int row = i * kp;
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < kp; j += L) { // (no vector chosen by a branch: the JIT would box it)
                FloatVector s = FloatVector.fromArray(S, p, row + j).mul(scale)
                        .add(FloatVector.fromArray(S, keyBias, j)).add(FloatVector.fromArray(S, causal, row + j));
                s.intoArray(p, row + j);
                max = Math.max(max, s.reduceLanes(VectorOperators.MAX));
            }
            rowMax[i] = max == Float.NEGATIVE_INFINITY ? 0 : max; // every key excluded: exp gives zeros
        }
        exp(p, n, kp, rowMax, lanes); // 2. e = exp(s - max), each row's sum in lanes
        for (int i = 0; i < n; i++) { // 3. divided by the sum (a row of zeros stays zeros)
            float sum = VectorMath.treeSum(lanes, i * L);
            float inv = sum == 0 ? 0 : 1 / sum;
            for (int j = 0; j < kp; j += L) {
                FloatVector.fromArray(S, p, i * kp + j).mul(inv).intoArray(p, i * kp + j);
            }
        }
    }

    /** Rows i < n of ds [n, kp], in place: ds = p (ds - p . ds) (step by step over all rows, as softmax). */
    private static void softmaxBack(float[] p, float[] ds, int n, int kp, float[] lanes) {
        for (int i = 0; i < n; i++) {
            FloatVector dot = FloatVector.zero(S);
            for (int j = i * kp; j < (i + 1) * kp; j += L) {
                dot = FloatVector.fromArray(S, p, j).fma(FloatVector.fromArray(S, ds, j), dot);
            }
            dot.intoArray(lanes, i * L);
        }
        for (int i = 0; i < n; i++) {
            float rowDot = VectorMath.treeSum(lanes, i * L);
            for (int j = i * kp; j < (i + 1) * kp; j += L) {
                FloatVector.fromArray(S, p, j).mul(FloatVector.fromArray(S, ds, j).sub(rowDot)).intoArray(ds, j);
            }
        }
    }

    /** Rows i < n of p [n, kp], in place: exp(p - rowMax[i]); each row's sum in lanes [i L, (i + 1) L) of sums. */
    private static void exp(float[] p, int n, int kp, float[] rowMax, float[] sums) {
        for (int i = 0; i < n; i++) {
            for (int j = i * kp; j < (i + 1) * kp; j += L) {
                FloatVector.fromArray(S, p, j).sub(rowMax[i]).intoArray(p, j);
            }
            VectorMath.exp(p, i * kp, (i + 1) * kp);
            FloatVector acc = FloatVector.zero(S);
            for (int j = i * kp; j < (i + 1) * kp; j += L) {
                acc = acc.add(FloatVector.fromArray(S, p, j));
            }
            acc.intoArray(sums, i * L);
        }
    }

    /**
     * The target's rows r < n = alpha sum_{s < m} w[r wRow + s wCol] rows[s] (+ what they hold when it adds): with
     * (wRow, wCol) = (kp, 1) the weights' rows times rows (P V), with (1, kp) their columns (P^T dO).
     */
    private static void weighted(float[] w, int wRow, int wCol, int n, int m, float[] rows, float alpha, Target t) {
        ByteBuffer to = t.to();
        long off = t.off();
        int ld = t.ld(), d = t.d();
        boolean add = t.add();
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < d; c += L) {
                FloatVector acc = FloatVector.zero(S);
                for (int s = 0; s < m; s++) {
                    acc = FloatVector.broadcast(S, w[r * wRow + s * wCol]).fma(FloatVector.fromArray(S, rows, s * d + c),
                            acc);
                }
                int at = (int) (off + (long) r * ld + c) * 4;
                if (add) { // two stores, not one of a vector chosen by a branch (a vector the JIT would box)
                    acc.mul(alpha).add(fromByteBuffer(S, to, at, NATIVE)).intoByteBuffer(to, at, NATIVE);
                } else {
                    acc.mul(alpha).intoByteBuffer(to, at, NATIVE);
                }
            }
        }
    }

    private static int padded(int n) {
        return Math.max(L, (n + L - 1) / L * L);
    }

    /** rows [n, d] at off (ld apart) into to [n, d]. */
    private static void rows(ByteBuffer from, long off, int ld, int n, int d, float[] to) {
        for (int r = 0; r < n; r++) {
            int at = (int) (off + (long) r * ld) * 4;
            for (int c = 0; c < d; c += L) {
                fromByteBuffer(S, from, at + c * 4, NATIVE).intoArray(to, r * d + c);
            }
        }
    }

    /** rows [n, d] at off (ld apart) into to [d, kp] transposed, columns n.. zero. */
    private static void transposed(ByteBuffer from, long off, int ld, int n, int d, int kp, float[] to, float[] lane) {
        FloatVector zero = FloatVector.zero(S);
        for (int at = n / L * L; at < kp; at += L) { // zeros first in the lanes that hold column n on
            for (int c = 0; c < d; c++) {
                zero.intoArray(to, c * kp + at);
            }
        }
        for (int r = 0; r < n; r++) {
            int at = (int) (off + (long) r * ld) * 4;
            for (int c = 0; c < d; c += L) {
                fromByteBuffer(S, from, at + c * 4, NATIVE).intoArray(lane, 0);
                for (int cc = 0; cc < L; cc++) {
                    to[(c + cc) * kp + r] = lane[cc];
                }
            }
        }
    }

    /** 0 for a key that may be attended, -inf for a padding key and for the lanes past lk. */
    private static void keyBias(MaskRows mask, int bi, int lk, int kp, float[] bias) {
        int padRow = mask.paddingRow(bi);
        for (int j = 0; j < kp; j++) {
            boolean out = j >= lk || mask.padding != null && mask.padding.get(padRow + j) == 0;
            bias[j] = out ? Float.NEGATIVE_INFINITY : 0;
        }
    }

    /** Weights p [lq, kp] into the block [tq, tk] at off: its first lq rows, columns lk..tk zero. */
    private static void store(float[] p, int lq, int kp, int lk, int tk, float[] flat, ByteBuffer to, int off) {
        for (int i = 0; i < lq; i++) {
            int n = Math.min(lk, tk);
            System.arraycopy(p, i * kp, flat, i * tk, n);
            for (int j = n; j < tk; j++) {
                flat[i * tk + j] = 0;
            }
        }
        int len = lq * tk, j = 0;
        for (; j + L <= len; j += L) {
            FloatVector.fromArray(S, flat, j).intoByteBuffer(to, (off + j) * 4, NATIVE);
        }
        for (; j < len; j++) {
            to.putFloat((off + j) * 4, flat[j]);
        }
    }

    /** The block's first lq rows into p [lq, kp], columns lk.. zero. */
    private static void load(ByteBuffer from, int off, int lq, int kp, int lk, int tk, float[] flat, float[] p) {
        int len = lq * tk, j = 0;
        for (; j + L <= len; j += L) {
            fromByteBuffer(S, from, (off + j) * 4, NATIVE).intoArray(flat, j);
        }
        for (; j < len; j++) {
            flat[j] = from.getFloat((off + j) * 4);
        }
        for (int i = 0; i < lq; i++) {
            System.arraycopy(flat, i * tk, p, i * kp, lk);
            for (int c = lk; c < kp; c++) {
                p[i * kp + c] = 0;
            }
        }
    }
}
