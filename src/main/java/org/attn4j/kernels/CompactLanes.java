package org.attn4j.kernels;

import java.nio.ByteBuffer;
import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.attn4j.config.WeightFormat;

/**
 * {@link CompactMatrix}'s products in Vector API lanes (loaded only when the module is present, and used where
 * {@link #FITS}). A weight row is read in chunks of one vector of the preferred shape, reinterpreted as L ints
 * (L the float lanes): a bfloat16 chunk holds 2L weights, the low and high half of each int, which a shift and a
 * mask widen to two float vectors; an int8 chunk holds 4L weights, the four bytes of each int, which shifts
 * (sign-extending) and a conversion widen to four. The activations are laid out to match once per product
 * ({@link #bf16Layout}, {@link #int8Layout}): in each chunk the even elements first, then the odd ones (bfloat16),
 * or every fourth element from 0, from 1, 2 and 3 (int8); the chunks' remainder stays in order and is summed in
 * scalar code.
 *
 * <p>Only loads from Java arrays, shifts, masks, reinterpretations, int-to-float conversions and FMAs are used:
 * JDK 17 compiles these to vector instructions everywhere (byte-buffer loads and shape-changing conversions fell
 * back to its Java loops in a decoding step, many times slower: BENCHMARKS.md's method section). A pass over a
 * weight row serves up to four activation rows, each with its own accumulators, in the same order of operations as
 * a single row, so a batch's row gets exactly what it would alone.
 */
final class CompactLanes {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> SHORTS = ShortVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Byte> BYTES = ByteVector.SPECIES_PREFERRED;
    /** Reinterpretations name these constant species (see {@link VectorMath#exp}'s note on reinterpretAsInts). */
    private static final VectorSpecies<Integer> INTS = IntVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Whether the lanes fit the formats: 8 or 16 floats (AVX2, AVX-512), so an int8 chunk holds whole blocks. */
    static final boolean FITS = L == 8 || L == 16;
    /** Weights a bfloat16 chunk holds (2L) and an int8 chunk (4L: one Q8_0 block, or two with 16 lanes). */
    static final int BF16_CHUNK = 2 * L, INT8_CHUNK = 4 * L;
    private static final int BLOCK = WeightFormat.INT8_BLOCK;
    private static final boolean TWO_BLOCKS = INT8_CHUNK == 2 * BLOCK;
    /** Lanes of an int8 chunk's second block (with 16 lanes: lanes 8-15 hold weights 32-63 of the chunk). */
    private static final VectorMask<Float> SECOND_BLOCK = VectorMask.fromLong(S, TWO_BLOCKS ? 0xFF00L : 0);
    private static final int HIGH_HALF = 0xFFFF0000;

    private CompactLanes() {
    }

    /** x's row at float {@code xAt} ({@code in} wide) into {@code xs} from {@code xsAt}, laid out for bfloat16 chunks. */
    static void bf16Layout(ByteBuffer x, int xAt, int in, float[] xs, int xsAt) {
        int full = in - in % BF16_CHUNK;
        for (int j = 0; j < full; j += BF16_CHUNK) {
            for (int i = 0; i < L; i++) {
                xs[xsAt + j + i] = x.getFloat((xAt + j + 2 * i) * 4);
                xs[xsAt + j + L + i] = x.getFloat((xAt + j + 2 * i + 1) * 4);
            }
        }
        for (int j = full; j < in; j++) {
            xs[xsAt + j] = x.getFloat((xAt + j) * 4);
        }
    }

    /** As {@link #bf16Layout}, for int8 chunks: element 4i + k of a chunk at k L + i. */
    static void int8Layout(ByteBuffer x, int xAt, int in, float[] xs, int xsAt) {
        int full = in - in % INT8_CHUNK;
        for (int j = 0; j < full; j += INT8_CHUNK) {
            for (int i = 0; i < L; i++) {
                for (int k = 0; k < 4; k++) {
                    xs[xsAt + j + k * L + i] = x.getFloat((xAt + j + 4 * i + k) * 4);
                }
            }
        }
        for (int j = full; j < in; j++) {
            xs[xsAt + j] = x.getFloat((xAt + j) * 4);
        }
    }

    /** Output rows [o0, o1) of y = x W^T + bias for W {@code [out, in]} in bfloat16, on the rows of {@code x}. */
    static void bf16Rows(short[] w, ProductRows x, int o0, int o1) {
        int in = x.in();
        for (int o = o0; o < o1; o++) {
            float b = x.bias(o);
            if (x.n() == 1) {
                x.put(0, o, b + bf16One(w, o * in, in, x.xs(), 0));
                continue;
            }
            for (int r = 0; r < x.n(); r += 4) { // the last pass repeats its last row where fewer than four remain
                bf16Four(w, o, x, r, b);
            }
        }
    }

    /** W's row at {@code wAt} times the laid-out x row at {@code a}: even and odd weights in two chains. */
    private static float bf16One(short[] w, int wAt, int in, float[] xs, int a) {
        int full = in - in % BF16_CHUNK;
        FloatVector even = FloatVector.zero(S), odd = even;
        for (int j = 0; j < full; j += BF16_CHUNK) {
            IntVector v = (IntVector) ShortVector.fromArray(SHORTS, w, wAt + j).reinterpretShape(INTS, 0);
            FloatVector we = (FloatVector) v.lanewise(VectorOperators.LSHL, 16).reinterpretShape(S, 0);
            FloatVector wo = (FloatVector) v.lanewise(VectorOperators.AND, HIGH_HALF).reinterpretShape(S, 0);
            even = we.fma(FloatVector.fromArray(S, xs, a + j), even);
            odd = wo.fma(FloatVector.fromArray(S, xs, a + j + L), odd);
        }
        float sum = even.add(odd).reduceLanes(VectorOperators.ADD);
        for (int j = full; j < in; j++) {
            sum += BFloat16.toFloat(w[wAt + j]) * xs[a + j];
        }
        return sum;
    }

    /** W's row o times x's rows r.. r + 3, plus bias, into y's rows r.. r + 3 (those that exist) at column o. */
    private static void bf16Four(short[] w, int o, ProductRows x, int r, float bias) {
        float[] xs = x.xs();
        int in = x.in(), wAt = o * in, a = x.row(r), b = x.row(r + 1), c = x.row(r + 2), d = x.row(r + 3);
        int full = in - in % BF16_CHUNK;
        FloatVector e0 = FloatVector.zero(S), o0 = e0, e1 = e0, o1 = e0, e2 = e0, o2 = e0, e3 = e0, o3 = e0;
        for (int j = 0; j < full; j += BF16_CHUNK) {
            IntVector v = (IntVector) ShortVector.fromArray(SHORTS, w, wAt + j).reinterpretShape(INTS, 0);
            FloatVector we = (FloatVector) v.lanewise(VectorOperators.LSHL, 16).reinterpretShape(S, 0);
            FloatVector wo = (FloatVector) v.lanewise(VectorOperators.AND, HIGH_HALF).reinterpretShape(S, 0);
            e0 = we.fma(FloatVector.fromArray(S, xs, a + j), e0);
            o0 = wo.fma(FloatVector.fromArray(S, xs, a + j + L), o0);
            e1 = we.fma(FloatVector.fromArray(S, xs, b + j), e1);
            o1 = wo.fma(FloatVector.fromArray(S, xs, b + j + L), o1);
            e2 = we.fma(FloatVector.fromArray(S, xs, c + j), e2);
            o2 = wo.fma(FloatVector.fromArray(S, xs, c + j + L), o2);
            e3 = we.fma(FloatVector.fromArray(S, xs, d + j), e3);
            o3 = wo.fma(FloatVector.fromArray(S, xs, d + j + L), o3);
        }
        float s0 = e0.add(o0).reduceLanes(VectorOperators.ADD), s1 = e1.add(o1).reduceLanes(VectorOperators.ADD);
        float s2 = e2.add(o2).reduceLanes(VectorOperators.ADD), s3 = e3.add(o3).reduceLanes(VectorOperators.ADD);
        for (int j = full; j < in; j++) {
            float wj = BFloat16.toFloat(w[wAt + j]);
            s0 += wj * xs[a + j];
            s1 += wj * xs[b + j];
            s2 += wj * xs[c + j];
            s3 += wj * xs[d + j];
        }
        x.put4(r, o, bias + s0, bias + s1, bias + s2, bias + s3);
    }

    /** As {@link #bf16Rows}, for Q8_0 weights {@code q [out, in]} with scales {@code scale [out, ceil(in / 32)]}. */
    static void int8Rows(byte[] q, float[] scale, ProductRows x, int o0, int o1) {
        int in = x.in(), blocks = (in + BLOCK - 1) / BLOCK;
        for (int o = o0; o < o1; o++) {
            float b = x.bias(o);
            if (x.n() == 1) {
                x.put(0, o, b + int8One(q, scale, o * in, o * blocks, in, x.xs(), 0));
                continue;
            }
            for (int r = 0; r < x.n(); r += 4) {
                int8Four(q, scale, o, x, r, b);
            }
        }
    }

    /**
     * W's row (weights at {@code wAt}, scales at {@code sAt}) times the laid-out x row at {@code a}: per chunk,
     * (w0 x0 + w1 x1) + (w2 x2 + w3 x3), times the chunk's block scales, into the sum.
     */
    private static float int8One(byte[] q, float[] scale, int wAt, int sAt, int in, float[] xs, int a) {
        int full = in - in % INT8_CHUNK;
        FloatVector acc = FloatVector.zero(S);
        for (int j = 0; j < full; j += INT8_CHUNK) {
            // Weights 4i + k of the chunk (byte k of int i, sign-extended) as floats, and the block scales per lane:
            // written out here, not in helpers (a helper the JIT leaves out of this loop gets its vectors boxed, and
            // the conversion then runs the JDK's Java fallback: a decoding step 3-6x slower once it recompiled)
            IntVector v = (IntVector) ByteVector.fromArray(BYTES, q, wAt + j).reinterpretShape(INTS, 0);
            FloatVector w0 = (FloatVector) v.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24)
                    .convertShape(VectorOperators.I2F, S, 0);
            FloatVector w1 = (FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24)
                    .convertShape(VectorOperators.I2F, S, 0);
            FloatVector w2 = (FloatVector) v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24)
                    .convertShape(VectorOperators.I2F, S, 0);
            FloatVector w3 = (FloatVector) v.lanewise(VectorOperators.ASHR, 24).convertShape(VectorOperators.I2F, S, 0);
            FloatVector s = FloatVector.broadcast(S, scale[sAt + j / BLOCK]);
            if (TWO_BLOCKS) {
                s = s.blend(scale[sAt + j / BLOCK + 1], SECOND_BLOCK);
            }
            FloatVector p = w1.fma(FloatVector.fromArray(S, xs, a + j + L), w0.mul(FloatVector.fromArray(S, xs, a + j)))
                    .add(w3.fma(FloatVector.fromArray(S, xs, a + j + 3 * L),
                            w2.mul(FloatVector.fromArray(S, xs, a + j + 2 * L))));
            acc = p.fma(s, acc);
        }
        return acc.reduceLanes(VectorOperators.ADD) + int8Tail(q, scale, wAt, sAt, full, in, xs, a);
    }

    /** As {@link #bf16Four}, for Q8_0 weights: each row's sums as in {@link #int8One}. */
    private static void int8Four(byte[] q, float[] scale, int o, ProductRows x, int r, float bias) {
        float[] xs = x.xs();
        int in = x.in(), wAt = o * in, sAt = o * ((in + BLOCK - 1) / BLOCK);
        int a = x.row(r), b = x.row(r + 1), c = x.row(r + 2), d = x.row(r + 3);
        int full = in - in % INT8_CHUNK;
        FloatVector acc0 = FloatVector.zero(S), acc1 = acc0, acc2 = acc0, acc3 = acc0;
        for (int j = 0; j < full; j += INT8_CHUNK) {
            // widened and scaled as in int8One, written out here too
            IntVector v = (IntVector) ByteVector.fromArray(BYTES, q, wAt + j).reinterpretShape(INTS, 0);
            FloatVector w0 = (FloatVector) v.lanewise(VectorOperators.LSHL, 24).lanewise(VectorOperators.ASHR, 24)
                    .convertShape(VectorOperators.I2F, S, 0);
            FloatVector w1 = (FloatVector) v.lanewise(VectorOperators.LSHL, 16).lanewise(VectorOperators.ASHR, 24)
                    .convertShape(VectorOperators.I2F, S, 0);
            FloatVector w2 = (FloatVector) v.lanewise(VectorOperators.LSHL, 8).lanewise(VectorOperators.ASHR, 24)
                    .convertShape(VectorOperators.I2F, S, 0);
            FloatVector w3 = (FloatVector) v.lanewise(VectorOperators.ASHR, 24).convertShape(VectorOperators.I2F, S, 0);
            FloatVector s = FloatVector.broadcast(S, scale[sAt + j / BLOCK]);
            if (TWO_BLOCKS) {
                s = s.blend(scale[sAt + j / BLOCK + 1], SECOND_BLOCK);
            }
            acc0 = w1.fma(FloatVector.fromArray(S, xs, a + j + L), w0.mul(FloatVector.fromArray(S, xs, a + j)))
                    .add(w3.fma(FloatVector.fromArray(S, xs, a + j + 3 * L),
                            w2.mul(FloatVector.fromArray(S, xs, a + j + 2 * L)))).fma(s, acc0);
            acc1 = w1.fma(FloatVector.fromArray(S, xs, b + j + L), w0.mul(FloatVector.fromArray(S, xs, b + j)))
                    .add(w3.fma(FloatVector.fromArray(S, xs, b + j + 3 * L),
                            w2.mul(FloatVector.fromArray(S, xs, b + j + 2 * L)))).fma(s, acc1);
            acc2 = w1.fma(FloatVector.fromArray(S, xs, c + j + L), w0.mul(FloatVector.fromArray(S, xs, c + j)))
                    .add(w3.fma(FloatVector.fromArray(S, xs, c + j + 3 * L),
                            w2.mul(FloatVector.fromArray(S, xs, c + j + 2 * L)))).fma(s, acc2);
            acc3 = w1.fma(FloatVector.fromArray(S, xs, d + j + L), w0.mul(FloatVector.fromArray(S, xs, d + j)))
                    .add(w3.fma(FloatVector.fromArray(S, xs, d + j + 3 * L),
                            w2.mul(FloatVector.fromArray(S, xs, d + j + 2 * L)))).fma(s, acc3);
        }
        x.put4(r, o,
                bias + (acc0.reduceLanes(VectorOperators.ADD) + int8Tail(q, scale, wAt, sAt, full, in, xs, a)),
                bias + (acc1.reduceLanes(VectorOperators.ADD) + int8Tail(q, scale, wAt, sAt, full, in, xs, b)),
                bias + (acc2.reduceLanes(VectorOperators.ADD) + int8Tail(q, scale, wAt, sAt, full, in, xs, c)),
                bias + (acc3.reduceLanes(VectorOperators.ADD) + int8Tail(q, scale, wAt, sAt, full, in, xs, d)));
    }

    /** Weights [from, in) of the row times x (in order at {@code a}): each block's part times its scale. */
    private static float int8Tail(byte[] q, float[] scale, int wAt, int sAt, int from, int in, float[] xs, int a) {
        float sum = 0;
        for (int j = from; j < in; ) {
            int blk = j / BLOCK, end = Math.min(in, (blk + 1) * BLOCK);
            float part = 0;
            for (; j < end; j++) {
                part += q[wAt + j] * xs[a + j];
            }
            sum += part * scale[sAt + blk];
        }
        return sum;
    }
}
