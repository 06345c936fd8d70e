package org.attn4j.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@link AttentionLanes} (float32 pairs in vector lanes) against {@link AttentionKernel}'s BLAS path in float64 on
 * the same numbers: weights, output and the three input gradients of sequences packed as the models pack them,
 * shorter and longer than a vector of keys, causal or not, with padding keys, a batch row whose keys are all
 * padding, and key/value heads shared by two query heads (their gradients summed).
 */
class AttentionLanesTest {
    private static final double SENTINEL = 7;

    /**
     * @param lengths query lengths of the packed sequences, and their key lengths after the slash (cross-attention)
     */
    @ParameterizedTest(name = "heads {0}/{1}, D {2}, causal {3}, lengths {4}")
    @CsvSource({
        "4, 4, 16, false, 12 7 1 13/12 7 1 13",
        "4, 4, 16, true, 12 7 1 13/12 7 1 13",
        "4, 2, 16, true, 5 20 3/5 20 3",
        "2, 2, 32, false, 9 4/17 2",
        "4, 4, 16, false, 1 1/30 6",
    })
    void packedPairsMatchTheFloat64BlasPath(int heads, int kvHeads, int d, boolean causal, String lengths) {
        String[] parts = lengths.split("/");
        int[] lq = ints(parts[0]), lk = ints(parts[1]);
        int b = lq.length, tq = max(lq), tk = max(lk);
        int[] qStart = starts(lq), kStart = starts(lk);
        int c = heads * d, kc = kvHeads * d, nq = qStart[b], nk = kStart[b];
        Random r = new Random(11);
        double[] q = random(r, nq * c), k = random(r, nk * kc), v = random(r, nk * kc), dO = random(r, nq * c);
        double[] keep = new double[b * tk]; // the models' key padding: 1 for a sequence's keys, 0 after them
        for (int bi = 0; bi < b; bi++) {
            for (int j = 0; j < lk[bi]; j++) {
                keep[bi * tk + j] = 1;
            }
        }
        if (b > 2) {
            keep[2 * tk] = 0; // a padding key inside a sequence
        }
        Run f32 = run(DataType.FLOAT, heads, kvHeads, d, causal, tq, tk, qStart, kStart, q, k, v, dO, keep, true);
        Run f64 = run(DataType.DOUBLE, heads, kvHeads, d, causal, tq, tk, qStart, kStart, q, k, v, dO, keep, false);
        close("weights", f64.p, f32.p, 2e-6);
        close("output", f64.o, f32.o, 2e-5);
        close("dQ", f64.dq, f32.dq, 2e-5);
        close("dK", f64.dk, f32.dk, 2e-5);
        close("dV", f64.dv, f32.dv, 2e-5);
        for (int pair = 0; pair < b * heads; pair++) { // rows past a sequence's queries keep what they held
            for (int i = lq[pair / heads]; i < tq; i++) {
                for (int j = 0; j < tk; j++) {
                    assertEquals(SENTINEL, f32.p[(pair * tq + i) * tk + j], "weights row " + i + " of pair " + pair);
                }
            }
        }
    }

    /** A batch row whose keys are all padding: its weights are zeros (not NaN), its output zero. */
    @ParameterizedTest(name = "causal {0}")
    @CsvSource({"false", "true"})
    void aRowWithEveryKeyExcludedGivesZeros(boolean causal) {
        int heads = 2, d = 16, t = 5, c = heads * d;
        Random r = new Random(5);
        double[] q = random(r, t * c), k = random(r, t * c), v = random(r, t * c), dO = random(r, t * c);
        Run f32 = run(DataType.FLOAT, heads, heads, d, causal, t, t, null, null, q, k, v, dO, new double[t], true);
        for (int i = 0; i < f32.p.length; i++) {
            assertEquals(0, f32.p[i], "weight " + i);
        }
        for (int i = 0; i < f32.o.length; i++) {
            assertEquals(0, f32.o[i], "output " + i);
            assertEquals(0, f32.dq[i], "dQ " + i);
        }
    }

    /**
     * The pairs split over three threads at once (each with its own scratch) give the single-threaded bits: each
     * pair is computed on its own, whoever computes it. (With one scratch shared by all threads this fails.)
     */
    @org.junit.jupiter.api.Test
    void pairsSplitOverThreadsGiveTheSameBits() throws Exception {
        int heads = 4, d = 16, c = heads * d;
        int[] lengths = {12, 7, 1, 13, 9, 16, 3, 5, 11};
        int b = lengths.length, t = max(lengths);
        int[] starts = starts(lengths);
        Random r = new Random(21);
        double[] q = random(r, starts[b] * c), k = random(r, starts[b] * c), v = random(r, starts[b] * c);
        double[] dO = random(r, starts[b] * c), keep = new double[b * t];
        for (int bi = 0; bi < b; bi++) {
            java.util.Arrays.fill(keep, bi * t, bi * t + lengths[bi], 1);
        }
        Buf qs = buf(q, DataType.FLOAT), ks = buf(k, DataType.FLOAT), vs = buf(v, DataType.FLOAT);
        Buf dOs = buf(dO, DataType.FLOAT);
        MaskRows mask = MaskRows.padding(buf(keep, DataType.FLOAT), t, t, heads, true);
        assumeTrue(AttentionLanes.fits(qs, d, t, t, mask), "vector lanes of this width are not available");
        AttentionKernel pairs = new AttentionKernel(heads, heads, d, null, 0);
        double[][] want = null;
        for (int threads : new int[] {1, 3}) {
            Buf p = buf(new double[b * heads * t * t], DataType.FLOAT);
            Buf dp = buf(new double[b * heads * t * t], DataType.FLOAT);
            Buf o = buf(new double[q.length], DataType.FLOAT), dq = buf(new double[q.length], DataType.FLOAT);
            Buf dk = buf(new double[k.length], DataType.FLOAT), dv = buf(new double[v.length], DataType.FLOAT);
            int n = b * heads;
            java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(threads);
            try {
                List<java.util.concurrent.Future<?>> runs = new java.util.ArrayList<>();
                for (int part = 0; part < threads; part++) {
                    int p0 = n * part / threads, p1 = n * (part + 1) / threads;
                    runs.add(pool.submit(() -> { // repeated (each pass writes the same), so the threads overlap
                        for (int rep = 0; rep < 300; rep++) {
                            pairs.forward(new AttentionOperands(qs, ks, vs, p, null, o, t, t, starts, starts), mask,
                                    AttentionKernel.Drop.NONE, p0, p1);
                        }
                    }));
                }
                for (var f : runs) {
                    f.get();
                }
                runs.clear();
                for (int part = 0; part < threads; part++) {
                    int p0 = n * part / threads, p1 = n * (part + 1) / threads;
                    runs.add(pool.submit(() -> {
                        for (int rep = 0; rep < 300; rep++) {
                            pairs.backward(new AttentionOperands(qs, ks, vs, p, null, o, t, t, starts, starts),
                                    new AttentionGradientRows(dOs, dp, dq, dk, dv), AttentionKernel.Drop.NONE, p0, p1);
                        }
                    }));
                }
                for (var f : runs) {
                    f.get();
                }
            } finally {
                pool.shutdown();
            }
            double[][] got = {values(p), values(o), values(dq), values(dk), values(dv)};
            if (want == null) {
                want = got;
            } else {
                String[] names = {"weights", "output", "dQ", "dK", "dV"};
                for (int i = 0; i < got.length; i++) {
                    org.junit.jupiter.api.Assertions.assertArrayEquals(want[i], got[i], 0, names[i] + " on 3 threads");
                }
            }
        }
    }

    private record Run(double[] p, double[] o, double[] dq, double[] dk, double[] dv) {
    }

    private static Run run(DataType type, int heads, int kvHeads, int d, boolean causal, int tq, int tk, int[] qStart,
            int[] kStart, double[] q, double[] k, double[] v, double[] dO, double[] keep, boolean lanes) {
        int b = keep.length / tk, kvGroups = b * kvHeads;
        Buf qs = buf(q, type), ks = buf(k, type), vs = buf(v, type), dOs = buf(dO, type), keepB = buf(keep, type);
        Buf p = buf(new double[b * heads * tq * tk], type), dp = buf(new double[b * heads * tq * tk], type);
        for (int i = 0; i < p.length; i++) {
            p.put(i, SENTINEL);
        }
        Buf o = buf(new double[q.length], type), dq = buf(new double[q.length], type);
        Buf dk = buf(new double[k.length], type), dv = buf(new double[v.length], type);
        MaskRows mask = MaskRows.padding(keepB, tq, tk, heads, causal);
        if (lanes) {
            assumeTrue(AttentionLanes.fits(qs, d, tq, tk, mask), "vector lanes of this width are not available");
        } else {
            assertFalse(AttentionLanes.fits(qs, d, tq, tk, mask), "float64 runs on BLAS");
        }
        AttentionKernel pairs = new AttentionKernel(heads, kvHeads, d, null, 0);
        AttentionOperands x = new AttentionOperands(qs, ks, vs, p, null, o, tq, tk, qStart, kStart);
        pairs.forward(x, mask, AttentionKernel.Drop.NONE, 0, b * heads);
        pairs.backward(x, new AttentionGradientRows(dOs, dp, dq, dk, dv), AttentionKernel.Drop.NONE, 0, kvGroups);
        return new Run(values(p), values(o), values(dq), values(dk), values(dv));
    }

    private static void close(String what, double[] want, double[] got, double tol) {
        assertEquals(want.length, got.length, what + " length");
        double worst = 0;
        for (int i = 0; i < want.length; i++) {
            double err = Math.abs(want[i] - got[i]) / Math.max(1, Math.abs(want[i]));
            assertTrue(err <= tol, what + "[" + i + "]: float32 lanes " + got[i] + ", float64 BLAS " + want[i]);
            worst = Math.max(worst, err);
        }
        assertTrue(worst > 0 || allZero(want),
                what + ": float32 equal to float64 everywhere means the lanes did not run");
    }

    private static boolean allZero(double[] x) {
        for (double v : x) {
            if (v != 0) {
                return false;
            }
        }
        return true;
    }

    private static Buf buf(double[] x, DataType type) {
        return Buf.of(Nd4j.createFromArray(x).castTo(type).reshape(x.length));
    }

    private static double[] values(Buf b) {
        double[] x = new double[b.length];
        for (int i = 0; i < x.length; i++) {
            x[i] = b.get(i);
        }
        return x;
    }

    private static double[] random(Random r, int n) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = (float) (r.nextGaussian() * 1.5); // float32 values, so both runs see the same numbers
        }
        return x;
    }

    private static int[] ints(String s) {
        return java.util.Arrays.stream(s.trim().split(" +")).mapToInt(Integer::parseInt).toArray();
    }

    private static int[] starts(int[] lengths) {
        int[] s = new int[lengths.length + 1];
        for (int i = 0; i < lengths.length; i++) {
            s[i + 1] = s[i] + lengths[i];
        }
        return s;
    }

    private static int max(int[] x) {
        return java.util.Arrays.stream(x).max().orElseThrow();
    }
}
