package org.attn4j.kernels;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.attn4j.config.WeightFormat;

/**
 * {@link CompactMatrix}'s products in Vector API lanes (loaded only when the module is present, and used where
 * {@link #FITS}): a load of L int8 or
 * bfloat16 weights (L the float lanes of the preferred shape) is widened to one float vector in registers and
 * multiplied into the activations. One x row: two accumulator chains, so that an FMA need not wait for the one
 * before. Several x rows: four at a time share each weight load, so a weight row is read from memory once for the
 * whole call (its later passes find it in the first-level cache).
 */
final class CompactLanes {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Whether L bytes make a vector shape (64 bits or more): AVX2's and AVX-512's do, 128-bit SSE's or NEON's do not. */
    static final boolean FITS = L >= 8;
    /** As many bytes, shorts and ints as S has floats: one load widens into one float vector. */
    private static final VectorSpecies<Byte> BYTES = FITS ? VectorSpecies.of(byte.class, VectorShape.forBitSize(L * 8)) : null;
    private static final VectorSpecies<Short> SHORTS = FITS ? VectorSpecies.of(short.class, VectorShape.forBitSize(L * 16)) : null;
    private static final VectorSpecies<Integer> INTS = VectorSpecies.of(int.class, S.vectorShape());
    private static final int BLOCK = WeightFormat.INT8_BLOCK;
    private static final ByteOrder NATIVE = ByteOrder.nativeOrder();

    private CompactLanes() {
    }

    /** Stores the first {@code valid} of four results at floats yAt, yAt + stride, ... */
    private static void store4(ByteBuffer y, int yAt, int stride, int valid, float s0, float s1, float s2, float s3) {
        y.putFloat(yAt * 4, s0);
        if (valid > 1) {
            y.putFloat((yAt + stride) * 4, s1);
        }
        if (valid > 2) {
            y.putFloat((yAt + 2 * stride) * 4, s2);
        }
        if (valid > 3) {
            y.putFloat((yAt + 3 * stride) * 4, s3);
        }
    }

    static void int8Rows(byte[] q, float[] scale, int out, int in, ByteBuffer x, int xAt, int n, ByteBuffer bias,
            ByteBuffer y, int yAt, int o0, int o1) {
        for (int o = o0; o < o1; o++) {
            float b = bias == null ? 0 : bias.getFloat(o * 4);
            if (n == 1) {
                y.putFloat((yAt + o) * 4, b + int8One(q, scale, in, o, x, xAt));
                continue;
            }
            // four input rows a pass over W's row (the last pass repeats its last row where fewer remain)
            for (int r = 0; r < n; r += 4) {
                int8Four(q, scale, out, in, o, x, xAt + r * in, xAt + Math.min(r + 1, n - 1) * in,
                        xAt + Math.min(r + 2, n - 1) * in, xAt + Math.min(r + 3, n - 1) * in, b, y, yAt + r * out + o, n - r);
            }
        }
    }

    /** Row o of W times the x row at float xAt: two chains of blocks (even, odd). */
    private static float int8One(byte[] q, float[] scale, int in, int o, ByteBuffer x, int xAt) {
        int blocks = (in + BLOCK - 1) / BLOCK, full = in / BLOCK, wAt = o * in, sAt = o * blocks;
        FloatVector even = FloatVector.zero(S), odd = even;
        int blk = 0;
        for (; blk + 1 < full; blk += 2) {
            int j = blk * BLOCK;
            FloatVector p = FloatVector.zero(S), p2 = p;
            for (int k = 0; k < BLOCK; k += L) {
                p = ((FloatVector) ByteVector.fromArray(BYTES, q, wAt + j + k).convertShape(VectorOperators.B2F, S, 0))
                        .fma(FloatVector.fromByteBuffer(S, x, (xAt + j + k) * 4, NATIVE), p);
                p2 = ((FloatVector) ByteVector.fromArray(BYTES, q, wAt + j + BLOCK + k).convertShape(VectorOperators.B2F, S, 0))
                        .fma(FloatVector.fromByteBuffer(S, x, (xAt + j + BLOCK + k) * 4, NATIVE), p2);
            }
            even = p.fma(FloatVector.broadcast(S, scale[sAt + blk]), even);
            odd = p2.fma(FloatVector.broadcast(S, scale[sAt + blk + 1]), odd);
        }
        for (; blk < full; blk++) {
            int j = blk * BLOCK;
            FloatVector p = FloatVector.zero(S);
            for (int k = 0; k < BLOCK; k += L) {
                p = ((FloatVector) ByteVector.fromArray(BYTES, q, wAt + j + k).convertShape(VectorOperators.B2F, S, 0))
                        .fma(FloatVector.fromByteBuffer(S, x, (xAt + j + k) * 4, NATIVE), p);
            }
            even = p.fma(FloatVector.broadcast(S, scale[sAt + blk]), even);
        }
        float sum = VectorMath.sum(even.add(odd));
        if (full < blocks) { // the short last block
            float part = 0;
            for (int j = full * BLOCK; j < in; j++) {
                part += q[wAt + j] * x.getFloat((xAt + j) * 4);
            }
            sum += part * scale[sAt + full];
        }
        return sum;
    }

    /** Row o of W times the x rows at floats a, b, c, d, plus bias, into y at yAt, yAt + out, ... (valid of them). */
    private static void int8Four(byte[] q, float[] scale, int out, int in, int o, ByteBuffer x, int a, int b, int c,
            int d, float bias, ByteBuffer y, int yAt, int valid) {
        int blocks = (in + BLOCK - 1) / BLOCK, full = in / BLOCK, wAt = o * in, sAt = o * blocks;
        FloatVector acc0 = FloatVector.zero(S), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (int blk = 0; blk < full; blk++) {
            int j = blk * BLOCK;
            FloatVector p0 = FloatVector.zero(S), p1 = p0, p2 = p0, p3 = p0;
            for (int k = 0; k < BLOCK; k += L) {
                FloatVector w = (FloatVector) ByteVector.fromArray(BYTES, q, wAt + j + k)
                        .convertShape(VectorOperators.B2F, S, 0);
                p0 = w.fma(FloatVector.fromByteBuffer(S, x, (a + j + k) * 4, NATIVE), p0);
                p1 = w.fma(FloatVector.fromByteBuffer(S, x, (b + j + k) * 4, NATIVE), p1);
                p2 = w.fma(FloatVector.fromByteBuffer(S, x, (c + j + k) * 4, NATIVE), p2);
                p3 = w.fma(FloatVector.fromByteBuffer(S, x, (d + j + k) * 4, NATIVE), p3);
            }
            FloatVector s = FloatVector.broadcast(S, scale[sAt + blk]);
            acc0 = p0.fma(s, acc0);
            acc1 = p1.fma(s, acc1);
            acc2 = p2.fma(s, acc2);
            acc3 = p3.fma(s, acc3);
        }
        float s0 = VectorMath.sum(acc0), s1 = VectorMath.sum(acc1), s2 = VectorMath.sum(acc2), s3 = VectorMath.sum(acc3);
        if (full < blocks) {
            float t0 = 0, t1 = 0, t2 = 0, t3 = 0;
            for (int j = full * BLOCK; j < in; j++) {
                float w = q[wAt + j];
                t0 += w * x.getFloat((a + j) * 4);
                t1 += w * x.getFloat((b + j) * 4);
                t2 += w * x.getFloat((c + j) * 4);
                t3 += w * x.getFloat((d + j) * 4);
            }
            float last = scale[sAt + full];
            s0 += t0 * last;
            s1 += t1 * last;
            s2 += t2 * last;
            s3 += t3 * last;
        }
        store4(y, yAt, out, valid, bias + s0, bias + s1, bias + s2, bias + s3);
    }

    static void bf16Rows(short[] w, int out, int in, ByteBuffer x, int xAt, int n, ByteBuffer bias, ByteBuffer y,
            int yAt, int o0, int o1) {
        for (int o = o0; o < o1; o++) {
            float b = bias == null ? 0 : bias.getFloat(o * 4);
            if (n == 1) {
                y.putFloat((yAt + o) * 4, b + bf16One(w, in, o, x, xAt));
                continue;
            }
            for (int r = 0; r < n; r += 4) {
                bf16Four(w, out, in, o, x, xAt + r * in, xAt + Math.min(r + 1, n - 1) * in,
                        xAt + Math.min(r + 2, n - 1) * in, xAt + Math.min(r + 3, n - 1) * in, b, y, yAt + r * out + o, n - r);
            }
        }
    }

    /** Row o of W times the x row at float xAt: two accumulator chains. */
    private static float bf16One(short[] w, int in, int o, ByteBuffer x, int xAt) {
        int vEnd = in - in % L, wAt = o * in;
        FloatVector acc = FloatVector.zero(S), acc2 = acc;
        int j = 0;
        for (; j + L < vEnd; j += 2 * L) {
            acc = ((IntVector) ShortVector.fromArray(SHORTS, w, wAt + j).convertShape(VectorOperators.S2I, INTS, 0))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()
                    .fma(FloatVector.fromByteBuffer(S, x, (xAt + j) * 4, NATIVE), acc);
            acc2 = ((IntVector) ShortVector.fromArray(SHORTS, w, wAt + j + L).convertShape(VectorOperators.S2I, INTS, 0))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()
                    .fma(FloatVector.fromByteBuffer(S, x, (xAt + j + L) * 4, NATIVE), acc2);
        }
        for (; j < vEnd; j += L) {
            acc = ((IntVector) ShortVector.fromArray(SHORTS, w, wAt + j).convertShape(VectorOperators.S2I, INTS, 0))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats()
                    .fma(FloatVector.fromByteBuffer(S, x, (xAt + j) * 4, NATIVE), acc);
        }
        float sum = VectorMath.sum(acc.add(acc2));
        for (; j < in; j++) {
            sum += BFloat16.toFloat(w[wAt + j]) * x.getFloat((xAt + j) * 4);
        }
        return sum;
    }

    /** Row o of W times the x rows at floats a, b, c, d, plus bias, into y at yAt, yAt + out, ... (valid of them). */
    private static void bf16Four(short[] w, int out, int in, int o, ByteBuffer x, int a, int b, int c, int d,
            float bias, ByteBuffer y, int yAt, int valid) {
        int vEnd = in - in % L, wAt = o * in;
        FloatVector acc0 = FloatVector.zero(S), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        int j = 0;
        for (; j < vEnd; j += L) {
            FloatVector wv = ((IntVector) ShortVector.fromArray(SHORTS, w, wAt + j).convertShape(VectorOperators.S2I, INTS, 0))
                    .lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
            acc0 = wv.fma(FloatVector.fromByteBuffer(S, x, (a + j) * 4, NATIVE), acc0);
            acc1 = wv.fma(FloatVector.fromByteBuffer(S, x, (b + j) * 4, NATIVE), acc1);
            acc2 = wv.fma(FloatVector.fromByteBuffer(S, x, (c + j) * 4, NATIVE), acc2);
            acc3 = wv.fma(FloatVector.fromByteBuffer(S, x, (d + j) * 4, NATIVE), acc3);
        }
        float s0 = VectorMath.sum(acc0), s1 = VectorMath.sum(acc1), s2 = VectorMath.sum(acc2), s3 = VectorMath.sum(acc3);
        for (; j < in; j++) {
            float wj = BFloat16.toFloat(w[wAt + j]);
            s0 += wj * x.getFloat((a + j) * 4);
            s1 += wj * x.getFloat((b + j) * 4);
            s2 += wj * x.getFloat((c + j) * 4);
            s3 += wj * x.getFloat((d + j) * 4);
        }
        store4(y, yAt, out, valid, bias + s0, bias + s1, bias + s2, bias + s3);
    }
}
