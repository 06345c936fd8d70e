package org.attn4j.kernels;

import static jdk.incubator.vector.FloatVector.fromByteBuffer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The float32 lanes of the JDK's Vector API ({@code jdk.incubator.vector}), which the JIT turns into AVX
 * instructions, and the lane functions the row kernels ({@link VectorRows}, {@link VectorActivations}) and the
 * attention lanes build on: a sum in a fixed order, and exp, sigmoid, tanh and erfc written from exactly
 * specified lane operations (the JDK's {@code EXP} and {@code TANH} may differ between the interpreter and the
 * JIT). Used only when the module is present ({@code RowMath.VECTOR_AVAILABLE}); otherwise {@link ScalarMath}'s
 * and {@code RowMath}'s scalar loops run.
 *
 * <p>No method of ours takes or returns a vector: the functions work in place on a float array, a vector at a
 * time, and the kernels hand them a chunk of a row in a thread's {@link #scratch} arrays ({@link #CHUNK}
 * floats, in the first-level cache) and read it back; a vector the kernel still needs after such a call (a
 * running sum) waits in the scratch lanes, since a vector live across a call is boxed too. The JIT always inlines the JDK's vector methods but not
 * ordinary ones (past its node-count cutoff, or once the callee was compiled on its own into a "big method"),
 * and a helper left out of a loop boxes every vector it is handed and returns: GELU, the softmaxes and the
 * lanes' sums, as helpers on vectors, allocated ~0.4 GB a second of boxed vectors while a real-size model
 * decoded (BENCHMARKS.md's method section). Loads and stores call the JDK's {@code fromByteBuffer} and
 * {@code intoByteBuffer} directly, for the same reason.
 */
public final class VectorMath {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
    static final ByteOrder NATIVE = ByteOrder.nativeOrder();
    /** Floats a chunk of the scratch arrays holds: 16 vectors. */
    static final int CHUNK = 16 * L;

    private VectorMath() {
    }

    /** A thread's scratch arrays: three chunks and one vector's lanes. */
    static final class Scratch {
        final float[] a = new float[CHUNK], b = new float[CHUNK], c = new float[CHUNK], lanes = new float[L];
    }

    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    /** This thread's scratch arrays (for the leaf loops of a kernel: nothing they call uses them). */
    static Scratch scratch() {
        return SCRATCH.get();
    }

    /**
     * The sum of x[at, at + L) as a tree in a fixed order: element i plus element i + L/2, and so on down
     * (rounds of independent additions, not L in a row); a vector's lanes put there by {@code intoArray} add up as
     * {@code lane i + lane i + L/2, ...}. Not {@code reduceLanes(ADD)}, whose order of additions is left
     * unspecified (so may differ between the interpreter and the JIT's intrinsic): results should not change once
     * the JIT has compiled a kernel. Overwrites x[at, at + L).
     */
    static float treeSum(float[] x, int at) {
        for (int half = L / 2; half > 0; half /= 2) {
            for (int i = at; i < at + half; i++) {
                x[i] += x[i + half];
            }
        }
        return x[at];
    }

    /** n rounded down to whole vectors. */
    static int bound(int n) {
        return n - n % L;
    }

    /** x[from, to) = 1 / (1 + e^-x), in place, through {@link #exp} (whose clamp keeps e^-x finite: no NaN). */
    static void sigmoid(float[] x, int from, int to) {
        for (int i = from; i < to; i += L) {
            FloatVector.fromArray(S, x, i).neg().intoArray(x, i);
        }
        exp(x, from, to);
        for (int i = from; i < to; i += L) {
            FloatVector.broadcast(S, 1f).div(FloatVector.fromArray(S, x, i).add(1f)).intoArray(x, i);
        }
    }

    /** x[from, to) = tanh(x) = 1 - 2 / (e^2x + 1), in place, through {@link #exp} (not {@code lanewise(TANH)}). */
    static void tanh(float[] x, int from, int to) {
        for (int i = from; i < to; i += L) {
            FloatVector.fromArray(S, x, i).mul(2f).intoArray(x, i);
        }
        exp(x, from, to);
        for (int i = from; i < to; i += L) {
            FloatVector.broadcast(S, -2f).div(FloatVector.fromArray(S, x, i).add(1f)).add(1f).intoArray(x, i);
        }
    }

    /**
     * x[from, to) = e^x, in place (to - from whole vectors), from exactly specified operations only: x = n ln2 + r
     * with |r| &lt;= ln2 / 2, e^r by its Taylor series to r^7 (truncation below 1e-8 relative), 2^n put into the
     * exponent bits; below -87.3 (where e^x leaves float's normal range) it is 0, also for -infinity. Not
     * {@code lanewise(EXP)}: that one is allowed to differ between the interpreter and the JIT's intrinsic, and did
     * (float32 decodes changed in their last bits once the JIT had compiled this).
     */
    public static void exp(float[] x, int from, int to) {
        for (int i = from; i < to; i += L) {
            FloatVector v = FloatVector.fromArray(S, x, i);
            FloatVector xc = v.max(-87.3f).min(88f);
            FloatVector t = xc.fma(FloatVector.broadcast(S, 1.44269504f), FloatVector.broadcast(S, ROUNDER)); // n + 1.5 2^23
            FloatVector n = t.sub(ROUNDER);
            FloatVector r = n.fma(FloatVector.broadcast(S, -0.693359375f), xc); // ln2 in two parts, as Cephes
            r = n.fma(FloatVector.broadcast(S, 2.12194440e-4f), r);
            FloatVector p = r.mul(1f / 5040).add(1f / 720);
            p = p.fma(r, FloatVector.broadcast(S, 1f / 120));
            p = p.fma(r, FloatVector.broadcast(S, 1f / 24));
            p = p.fma(r, FloatVector.broadcast(S, 1f / 6));
            p = p.fma(r, FloatVector.broadcast(S, 0.5f));
            p = p.fma(r, FloatVector.broadcast(S, 1f));
            p = p.fma(r, FloatVector.broadcast(S, 1f));
            // reinterpreted to constant species (not reinterpretAsInts/Floats, whose species lookup C2 could not
            // always fold: the intrinsic then failed and the JDK's Java fallback ran, allocating every vector)
            IntVector bits = ((IntVector) t.reinterpretShape(INTS, 0)).sub(0x4B400000 - 127).lanewise(VectorOperators.LSHL, 23);
            FloatVector e = p.mul((FloatVector) bits.reinterpretShape(S, 0));
            e.blend(0f, v.compare(VectorOperators.LT, -87.3f)).intoArray(x, i);
        }
    }

    /** 1.5 2^23: adding it rounds a float of magnitude below 2^22 to a whole number, held in the low bits. */
    private static final float ROUNDER = 12582912f;

    /**
     * out[0, n) = erfc(z[0, n)) ({@link ScalarMath#erfc}'s fit, n whole vectors), with {@code t[0, n)} for
     * 1 / (1 + |z| / 2) while exp runs on {@code out}.
     */
    static void erfc(float[] z, float[] out, float[] t, int n) {
        for (int i = 0; i < n; i += L) {
            FloatVector a = FloatVector.fromArray(S, z, i).abs();
            FloatVector ti = FloatVector.broadcast(S, 1f).div(a.mul(0.5f).add(1f));
            FloatVector p = ti.mul(0.17087277f).add(-0.82215223f);
            p = ti.fma(p, FloatVector.broadcast(S, 1.48851587f));
            p = ti.fma(p, FloatVector.broadcast(S, -1.13520398f));
            p = ti.fma(p, FloatVector.broadcast(S, 0.27886807f));
            p = ti.fma(p, FloatVector.broadcast(S, -0.18628806f));
            p = ti.fma(p, FloatVector.broadcast(S, 0.09678418f));
            p = ti.fma(p, FloatVector.broadcast(S, 0.37409196f));
            p = ti.fma(p, FloatVector.broadcast(S, 1.00002368f));
            p = ti.fma(p, FloatVector.broadcast(S, -1.26551223f));
            ti.intoArray(t, i);
            a.mul(a).neg().add(p).intoArray(out, i);
        }
        exp(out, 0, n);
        for (int i = 0; i < n; i += L) {
            FloatVector r = FloatVector.fromArray(S, t, i).mul(FloatVector.fromArray(S, out, i));
            r.blend(r.neg().add(2f), FloatVector.fromArray(S, z, i).compare(VectorOperators.LT, 0f)).intoArray(out, i);
        }
    }

    /** Whether every element in {@code [from, to)} is finite (x * 0 is 0 only for finite x). */
    public static boolean allFinite(Buf bB, int from, int to) {
        ByteBuffer b = bB.bytes();
        FloatVector acc = FloatVector.zero(S);
        int i = from, vEnd = from + bound(to - from);
        for (; i < vEnd; i += L) {
            acc = acc.add(fromByteBuffer(S, b, i * 4, NATIVE).mul(0f));
        }
        float[] lanes = scratch().lanes;
        acc.intoArray(lanes, 0);
        float sum = treeSum(lanes, 0);
        for (; i < to; i++) {
            sum += b.getFloat(i * 4) * 0f;
        }
        return sum == 0;
    }
}
