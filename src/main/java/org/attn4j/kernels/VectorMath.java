package org.attn4j.kernels;

import static jdk.incubator.vector.FloatVector.fromByteBuffer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The float32 lanes of the JDK's Vector API ({@code jdk.incubator.vector}), which the JIT turns into AVX
 * instructions, and the lane functions the row kernels ({@link VectorRows}, {@link VectorActivations}) and the
 * attention lanes build on: a sum in a fixed order, and exp, sigmoid, tanh and erfc written from exactly
 * specified lane operations (the JDK's {@code EXP} and {@code TANH} may differ between the interpreter and the
 * JIT). Used only when the module is present ({@code RowMath.VECTOR_AVAILABLE}); otherwise {@link ScalarMath}'s
 * and {@code RowMath}'s scalar loops run.
 *
 * <p>Loads and stores in the kernels call the JDK's {@code fromByteBuffer}/{@code intoByteBuffer} directly, not
 * a helper of ours: the JIT always inlines the JDK's vector methods, but it stops inlining ordinary ones once a
 * method has grown past its node-count cutoff, which a loop with {@link #exp} in it reaches, and a helper left
 * out there boxes every vector it is handed. {@link #exp}, {@link #erfc}, {@link #sigmoid} and {@link #tanh}
 * still take and return vectors: passing them buffers instead (one store and one load per vector) was slower,
 * and forcing them inline with a JVM flag did not change the example's training time. The measured figures are
 * in BENCHMARKS.md's method section: a speed claim belongs there, not in a comment.
 */
public final class VectorMath {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    static final int L = S.length();
    static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private VectorMath() {
    }

    /**
     * The lanes' sum as a tree in a fixed order: the upper half of the lanes added to the lower, then again, down
     * to one lane (lane i + lane i + L/2, ...), each step one shuffle and one add. Not {@code reduceLanes(ADD)},
     * whose order of additions is left unspecified (so may differ between the interpreter and the JIT's
     * intrinsic): results should not change once the JIT has compiled a kernel.
     */
    static float sum(FloatVector v) {
        for (VectorShuffle<Float> half : HALVES) {
            v = v.add(v.rearrange(half));
        }
        return v.lane(0);
    }

    /** Shuffles that bring lane i + L/2, i + L/4, ..., i + 1 to lane i. */
    @SuppressWarnings("unchecked")
    private static final VectorShuffle<Float>[] HALVES = java.util.stream.IntStream
            .iterate(L / 2, h -> h > 0, h -> h / 2)
            .mapToObj(h -> VectorShuffle.iota(S, h, 1, true)).toArray(VectorShuffle[]::new);

    /** n rounded down to whole vectors. */
    static int bound(int n) {
        return n - n % L;
    }

    /** 1 / (1 + e^-x) through {@link #exp} (whose clamp keeps e^-x finite, so no NaN for any x). */
    static FloatVector sigmoid(FloatVector x) {
        return FloatVector.broadcast(S, 1f).div(exp(x.neg()).add(1f));
    }

    /** tanh(x) = 1 - 2 / (e^2x + 1) through {@link #exp}: not {@code lanewise(TANH)}, for the reason exp gives. */
    static FloatVector tanh(FloatVector x) {
        return FloatVector.broadcast(S, -2f).div(exp(x.mul(2f)).add(1f)).add(1f);
    }

    /**
     * e^x in float lanes, from exactly specified operations only: x = n ln2 + r with |r| &lt;= ln2 / 2, e^r by
     * its Taylor series to r^7 (truncation below 1e-8 relative), 2^n put into the exponent bits; below
     * -87.3 (where e^x leaves float's normal range) it is 0, also for -infinity. Not
     * {@code lanewise(EXP)}: that one is allowed to differ between the interpreter and the JIT's
     * intrinsic, and did (float32 decodes changed in their last bits once the JIT had compiled this).
     */
    public static FloatVector exp(FloatVector x) {
        FloatVector xc = x.max(-87.3f).min(88f);
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
        IntVector bits = ((IntVector) t.reinterpretAsInts()).sub(0x4B400000 - 127).lanewise(VectorOperators.LSHL, 23);
        FloatVector e = p.mul(bits.reinterpretAsFloats());
        return e.blend(0f, x.compare(VectorOperators.LT, -87.3f));
    }

    /** 1.5 2^23: adding it rounds a float of magnitude below 2^22 to a whole number, held in the low bits. */
    private static final float ROUNDER = 12582912f;

    /** {@link ScalarMath#erfc}'s fit, in float lanes. */
    static FloatVector erfc(FloatVector z) {
        FloatVector a = z.abs();
        FloatVector t = FloatVector.broadcast(S, 1f).div(a.mul(0.5f).add(1f));
        FloatVector p = t.mul(0.17087277f).add(-0.82215223f);
        p = t.fma(p, FloatVector.broadcast(S, 1.48851587f));
        p = t.fma(p, FloatVector.broadcast(S, -1.13520398f));
        p = t.fma(p, FloatVector.broadcast(S, 0.27886807f));
        p = t.fma(p, FloatVector.broadcast(S, -0.18628806f));
        p = t.fma(p, FloatVector.broadcast(S, 0.09678418f));
        p = t.fma(p, FloatVector.broadcast(S, 0.37409196f));
        p = t.fma(p, FloatVector.broadcast(S, 1.00002368f));
        p = t.fma(p, FloatVector.broadcast(S, -1.26551223f));
        FloatVector r = t.mul(exp(a.mul(a).neg().add(p)));
        return r.blend(r.neg().add(2f), z.compare(VectorOperators.LT, 0f));
    }

    /** Whether every element in {@code [from, to)} is finite (x * 0 is 0 only for finite x). */
    public static boolean allFinite(Buf bB, int from, int to) {
        ByteBuffer b = bB.bytes();
        FloatVector acc = FloatVector.zero(S);
        int i = from, vEnd = from + bound(to - from);
        for (; i < vEnd; i += L) {
            acc = acc.add(fromByteBuffer(S, b, i * 4, NATIVE).mul(0f));
        }
        float sum = sum(acc);
        for (; i < to; i++) {
            sum += b.getFloat(i * 4) * 0f;
        }
        return sum == 0;
    }
}
