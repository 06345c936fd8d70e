package org.attn4j.kernels;

import static jdk.incubator.vector.FloatVector.fromByteBuffer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Float32 softmax attention of one (sequence, head) pair in vector lanes, forward and backward, for short
 * sequences: the same math as {@code AttentionPairs}' BLAS path (which runs float64, and float32 beyond these
 * limits or with dropout or position biases), checked against it in the tests.
 *
 * <p>Why: a pair of the sequence example is about 12 queries by 12 keys of 16 dimensions, and a training step has
 * thousands of them. Through OpenBLAS each of its six small products costs ~0.3 us, mostly the call itself and the
 * packing of its operands, and softmax rows shorter than a vector ran on scalar {@code Math.exp}. Here the pair's
 * rows are copied once into scratch arrays whose rows are padded to whole lanes (zeros, and -inf scores for the
 * padding keys), so every step is a full-width lane operation: a query's scores are one vector of keys, built
 * from K^T's rows as D multiply-adds, and its softmax runs in that vector.
 *
 * <p>Sums run in a fixed order (multiply-adds over the inner dimension in order, lanes added one by one), so
 * the interpreter and the JIT give the same bits, and so does every split of the pairs among threads.
 */
public final class AttentionLanes {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    private static final FloatVector IOTA = FloatVector.zero(S).addIndex(1);
    /** The most queries and keys (tq, tk) a pair may have here. */
    public static final int MAX_LENGTH = 64;
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
        final float[] lane = new float[L];

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
     * Forward of one pair: P = softmax(q k^T scale + mask) into the weights block {@code [tq, tk]} at
     * {@code pOff} (its first lq rows: columns lk.. zero; later rows untouched), o = P v into o's rows.
     *
     * @param qOff  query 0's first element of this head in {@code q}, rows {@code ldq} apart (o alike)
     * @param kOff  key 0's first element of this head in {@code k}, rows {@code ldk} apart (v's rows alike)
     * @param bi    the pair's batch row, for the mask's padding and causality
     */
    public static void forward(Buf qB, Buf kB, Buf vB, long qOff, long kOff, int ldq, int ldk, int lq, int lk, int d,
            double scale, MaskRows mask, int bi, Buf pB, int pOff, int tk, Buf oB) {
        Scratch w = SCRATCH.get();
        w.size(lq, Math.max(lk, tk), d);
        int kp = padded(lk);
        ByteBuffer o = oB.bytes();
        transposed(kB.bytes(), kOff, ldk, lk, d, kp, w.kt, w.lane);
        rows(vB.bytes(), kOff, ldk, lk, d, w.v);
        keyBias(mask, bi, lk, kp, w.keyBias);
        float[] q = w.lane, kt = w.kt, v = w.v, p = w.p;
        FloatVector ninf = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        for (int i = 0; i < lq; i++) {
            long qRow = qOff + (long) i * ldq;
            int limit = mask.limit(i), pRow = i * kp;
            // 1. scores s = (q_i K^T) scale + key bias, keys from limit on at -inf (causal)
            float max = Float.NEGATIVE_INFINITY;
            for (int j = 0; j < kp; j += L) {
                FloatVector acc = FloatVector.zero(S);
                for (int c = 0; c < d; c += L) {
                    fromByteBuffer(S, qB.bytes(), (int) (qRow + c) * 4, NATIVE).intoArray(q, 0);
                    for (int cc = 0; cc < L; cc++) {
                        acc = FloatVector.broadcast(S, q[cc]).fma(FloatVector.fromArray(S, kt, (c + cc) * kp + j), acc);
                    }
                }
                FloatVector s = acc.mul((float) scale).add(FloatVector.fromArray(S, w.keyBias, j));
                if (mask.causal) {
                    s = s.blend(ninf, IOTA.compare(VectorOperators.GE, (float) (limit - j)));
                }
                s.intoArray(p, pRow + j);
                max = Math.max(max, s.reduceLanes(VectorOperators.MAX));
            }
            // 2. P_i = exp(s - max) / sum (a row with every key excluded: zeros)
            if (max == Float.NEGATIVE_INFINITY) {
                for (int j = 0; j < kp; j++) {
                    p[pRow + j] = 0;
                }
            } else {
                FloatVector sum = FloatVector.zero(S);
                for (int j = 0; j < kp; j += L) {
                    FloatVector e = VectorMath.exp(FloatVector.fromArray(S, p, pRow + j).sub(max));
                    e.intoArray(p, pRow + j);
                    sum = sum.add(e);
                }
                float inv = 1 / VectorMath.sum(sum);
                for (int j = 0; j < kp; j += L) {
                    FloatVector.fromArray(S, p, pRow + j).mul(inv).intoArray(p, pRow + j);
                }
            }
            // 3. o_i = P_i V
            for (int c = 0; c < d; c += L) {
                FloatVector acc = FloatVector.zero(S);
                for (int j = 0; j < lk; j++) {
                    acc = FloatVector.broadcast(S, p[pRow + j]).fma(FloatVector.fromArray(S, v, j * d + c), acc);
                }
                acc.intoByteBuffer(o, (int) (qRow + c) * 4, NATIVE);
            }
        }
        store(p, lq, kp, lk, tk, w.flat, pB.bytes(), pOff);
    }

    /**
     * Backward of {@link #forward} for one pair, dO given: dq = dS k scale, and dk, dv (added to what they hold
     * when {@code sum}, for a key/value head that several query heads read), where dS = P (dP - rowsum(P dP)) and
     * dP = dO v^T. The weights are read from the block at {@code pOff}.
     */
    public static void backward(Buf qB, Buf kB, Buf vB, Buf dOB, long qOff, long kOff, int ldq, int ldk, int lq,
            int lk, int d, double scale, Buf pB, int pOff, int tk, Buf dqB, Buf dkB, Buf dvB, boolean sum) {
        Scratch w = SCRATCH.get();
        w.size(lq, Math.max(lk, tk), d);
        int kp = padded(lk);
        load(pB.bytes(), pOff, lq, kp, lk, tk, w.flat, w.p);
        transposed(vB.bytes(), kOff, ldk, lk, d, kp, w.vt, w.lane);
        rows(kB.bytes(), kOff, ldk, lk, d, w.k);
        rows(qB.bytes(), qOff, ldq, lq, d, w.q);
        rows(dOB.bytes(), qOff, ldq, lq, d, w.dO);
        float[] p = w.p, ds = w.ds, dO = w.dO, vt = w.vt, q = w.q, k = w.k;
        // 1. dP_i = dO_i V^T; dS_i = P_i (dP_i - P_i . dP_i)
        for (int i = 0; i < lq; i++) {
            int row = i * kp;
            FloatVector dot = FloatVector.zero(S);
            for (int j = 0; j < kp; j += L) {
                FloatVector acc = FloatVector.zero(S);
                for (int c = 0; c < d; c++) {
                    acc = FloatVector.broadcast(S, dO[i * d + c]).fma(FloatVector.fromArray(S, vt, c * kp + j), acc);
                }
                acc.intoArray(ds, row + j);
                dot = FloatVector.fromArray(S, p, row + j).fma(acc, dot);
            }
            float rowDot = VectorMath.sum(dot);
            for (int j = 0; j < kp; j += L) {
                FloatVector pj = FloatVector.fromArray(S, p, row + j);
                pj.mul(FloatVector.fromArray(S, ds, row + j).sub(rowDot)).intoArray(ds, row + j);
            }
        }
        ByteBuffer dq = dqB.bytes(), dk = dkB.bytes(), dv = dvB.bytes();
        // 2. dQ_i = scale sum_j dS_ij K_j
        for (int i = 0; i < lq; i++) {
            for (int c = 0; c < d; c += L) {
                FloatVector acc = FloatVector.zero(S);
                for (int j = 0; j < lk; j++) {
                    acc = FloatVector.broadcast(S, ds[i * kp + j]).fma(FloatVector.fromArray(S, k, j * d + c), acc);
                }
                acc.mul((float) scale).intoByteBuffer(dq, (int) (qOff + (long) i * ldq + c) * 4, NATIVE);
            }
        }
        // 3. dV_j = sum_i P_ij dO_i; dK_j = scale sum_i dS_ij Q_i
        for (int j = 0; j < lk; j++) {
            for (int c = 0; c < d; c += L) {
                FloatVector accV = FloatVector.zero(S), accK = FloatVector.zero(S);
                for (int i = 0; i < lq; i++) {
                    accV = FloatVector.broadcast(S, p[i * kp + j]).fma(FloatVector.fromArray(S, dO, i * d + c), accV);
                    accK = FloatVector.broadcast(S, ds[i * kp + j]).fma(FloatVector.fromArray(S, q, i * d + c), accK);
                }
                int vAt = (int) (kOff + (long) j * ldk + c) * 4, kAt = (int) (kOff + (long) j * ldk + c) * 4;
                accK = accK.mul((float) scale);
                if (sum) {
                    accV = accV.add(fromByteBuffer(S, dv, vAt, NATIVE));
                    accK = accK.add(fromByteBuffer(S, dk, kAt, NATIVE));
                }
                accV.intoByteBuffer(dv, vAt, NATIVE);
                accK.intoByteBuffer(dk, kAt, NATIVE);
            }
        }
    }

    /** Keys and values share offsets: v's rows are laid out as k's. */
    private static long vOff(long kOff) {
        return kOff;
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
        for (int r = 0; r < n; r++) {
            int at = (int) (off + (long) r * ld) * 4;
            for (int c = 0; c < d; c += L) {
                fromByteBuffer(S, from, at + c * 4, NATIVE).intoArray(lane, 0);
                for (int cc = 0; cc < L; cc++) {
                    to[(c + cc) * kp + r] = lane[cc];
                }
            }
        }
        for (int c = 0; c < d; c++) {
            for (int r = n; r < kp; r++) {
                to[c * kp + r] = 0;
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
