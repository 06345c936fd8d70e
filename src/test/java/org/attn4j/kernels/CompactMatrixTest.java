package org.attn4j.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.attn4j.config.WeightFormat;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * bfloat16 and Q8_0 weights: their values against the formats' definitions, computed here in float64, and their
 * products (vector lanes and scalar loops) against float64 sums of those values, on ragged shapes: widths that are
 * not multiples of the block (32) or of the vector lanes' chunks (32 or 64 weights with 16 lanes), a row count that
 * splits over threads unevenly, 1 to 8 input rows (read from the compact weights) and 9 to 12 (GEMM on widened
 * tiles of 64 rows), and a batch's rows against the same rows one at a time.
 */
class CompactMatrixTest {
    private static final int[] OUTS = {1, 7, 131}, INS = {1, 13, 32, 45, 77, 96, 100, 130, 200};

    @AfterEach
    void vectorBack() {
        RowMath.useVector(true);
    }

    private static Buf random(Random r, int n, double scale) {
        Buf b = Buf.of(Nd4j.create(DataType.FLOAT, Math.max(1, n)));
        for (int i = 0; i < n; i++) {
            b.put(i, scale * r.nextGaussian());
        }
        return b;
    }

    /** Every weight is w's bfloat16 rounding (nearest, ties to even: BFloat16Test checks it against PyTorch). */
    @Test
    void bfloat16WeightsAreTheRoundedFloats() {
        Buf w = random(new Random(1), 7 * 45, 1);
        CompactMatrix m = CompactMatrices.of(w, 7, 45, WeightFormat.BFLOAT16);
        for (int o = 0; o < 7; o++) {
            for (int i = 0; i < 45; i++) {
                float v = (float) w.get(o * 45 + i);
                assertEquals(BFloat16.toFloat(BFloat16.fromFloat(v)), m.get(o, i), 0, "[" + o + ", " + i + "]");
            }
        }
        assertEquals(2L * 7 * 45, m.bytes());
    }

    /**
     * Q8_0 from its definition, in float64: per block of 32 (and a short last block of in % 32) the scale is the
     * block's max |w| / 127, the block's largest weight is +-127 steps exactly, and each weight is within half a step.
     */
    @Test
    void int8WeightsAreBlocksOf32WithTheirMaximumAt127Steps() {
        int out = 5, in = 77; // blocks [0, 32), [32, 64), and the short [64, 77)
        Buf w = random(new Random(2), out * in, 1);
        w.put(3 * in + 40, 0); // a zero in a block
        for (int i = 64; i < 77; i++) {
            w.put(in + i, 0); // a block of zeros: scale 0, weights 0
        }
        CompactMatrix m = CompactMatrices.of(w, out, in, WeightFormat.INT8);
        for (int o = 0; o < out; o++) {
            for (int from = 0; from < in; from += 32) {
                int to = Math.min(in, from + 32);
                double max = 0;
                int at = from;
                for (int i = from; i < to; i++) {
                    if (Math.abs(w.get(o * in + i)) > max) {
                        max = Math.abs(w.get(o * in + i));
                        at = i;
                    }
                }
                double step = max / 127;
                assertEquals(Math.signum(w.get(o * in + at)) * max, m.get(o, at), 1e-6 * max,
                        "the largest weight of block " + from + " in row " + o);
                for (int i = from; i < to; i++) {
                    double v = w.get(o * in + i), got = m.get(o, i);
                    assertTrue(Math.abs(got - v) <= step / 2 * (1 + 1e-5), "[" + o + ", " + i + "] " + v + " -> " + got
                            + ", step " + step);
                    if (step > 0) {
                        assertEquals(0, Math.IEEEremainder(got / step, 1), 1e-4, "[" + o + ", " + i + "] a whole step");
                    }
                }
            }
        }
        assertEquals(0, m.get(1, 70), 0);
        assertEquals(0, m.get(3, 40), 0);
        assertEquals((long) out * in + 4L * out * 3, m.bytes());
    }

    /** A weight a step and a half from zero goes to 2 steps (C's roundf: half away from zero), -1.5 to -2. */
    @Test
    void int8RoundsHalfAwayFromZero() {
        Buf w = Buf.of(Nd4j.createFromArray(127f, 1.5f, -1.5f, 2.5f, -0.5f));
        CompactMatrix m = CompactMatrices.of(w, 1, 5, WeightFormat.INT8);
        assertEquals(2, m.get(0, 1), 1e-6);
        assertEquals(-2, m.get(0, 2), 1e-6);
        assertEquals(3, m.get(0, 3), 1e-6);
        assertEquals(-1, m.get(0, 4), 1e-6);
    }

    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"BFLOAT16", "INT8"})
    void productsMatchFloat64SumsOnRaggedShapesInLanes(WeightFormat format) {
        productsMatchFloat64Sums(format, true);
    }

    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"BFLOAT16", "INT8"})
    void productsMatchFloat64SumsOnRaggedShapesScalar(WeightFormat format) {
        productsMatchFloat64Sums(format, false);
    }

    /**
     * y = x W^T + b against a float64 sum of the matrix's own widened weights, within 1e-5 of |b| + sum |w x|
     * (float32 sums); rows of y outside the call's stay untouched.
     */
    private static void productsMatchFloat64Sums(WeightFormat format, boolean lanes) {
        RowMath.useVector(lanes);
        Random r = new Random(format.ordinal() * 31 + (lanes ? 1 : 0));
        for (int out : OUTS) {
            for (int in : INS) {
                CompactMatrix m = CompactMatrices.of(random(r, out * in, 0.1), out, in, format);
                for (int n = 1; n <= CompactMatrix.PRODUCT_ROWS + 4; n++) {
                    boolean withBias = (n + in) % 2 == 0;
                    Buf bias = withBias ? random(r, out, 1) : null;
                    int xRow = 1, yRow = 2; // the call's rows start inside the buffers
                    Buf x = random(r, (n + 2) * in, 1), y = Buf.of(Nd4j.create(DataType.FLOAT, n + 3, out));
                    for (int i = 0; i < y.length; i++) {
                        y.put(i, Float.NaN);
                    }
                    m.multiply(x, xRow, n, bias, y, yRow);
                    for (int row = 0; row < n + 3; row++) {
                        for (int o = 0; o < out; o++) {
                            double got = y.get(row * out + o);
                            String where = format + (lanes ? " lanes" : " scalar") + " [" + out + ", " + in + "] n="
                                    + n + " y[" + row + ", " + o + "]";
                            if (row < yRow || row >= yRow + n) {
                                assertTrue(Double.isNaN(got), where + " is outside the call but was written: " + got);
                                continue;
                            }
                            int xr = xRow + row - yRow;
                            double want = withBias ? bias.get(o) : 0, magnitude = Math.abs(want);
                            for (int i = 0; i < in; i++) {
                                double t = (double) m.get(o, i) * x.get(xr * in + i);
                                want += t;
                                magnitude += Math.abs(t);
                            }
                            assertEquals(want, got, 1e-5 * magnitude, where);
                        }
                    }
                }
            }
        }
    }

    /**
     * A decoding step of several sequences reads each weight once for all of them, and each sequence's row must come
     * out as it would alone (to the bit: the same sums in the same order), on two threads and on one.
     */
    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"BFLOAT16", "INT8"})
    void aBatchsRowsAreTheRowsOneAtATime(WeightFormat format) {
        Random r = new Random(11 + format.ordinal());
        int out = 131, in = 200;
        CompactMatrix m = CompactMatrices.of(random(r, out * in, 0.1), out, in, format);
        Buf bias = random(r, out, 1);
        for (int n = 2; n <= CompactMatrix.PRODUCT_ROWS; n++) {
            Buf x = random(r, n * in, 1), batch = Buf.of(Nd4j.create(DataType.FLOAT, n, out));
            Buf alone = Buf.of(Nd4j.create(DataType.FLOAT, n, out));
            m.multiply(new Parallel(2), x, 0, n, bias, batch, 0);
            for (int row = 0; row < n; row++) {
                m.multiply(new Parallel(1), x, row, 1, bias, alone, row);
            }
            for (int i = 0; i < n * out; i++) {
                assertEquals(alone.get(i), batch.get(i), 0, format + " n=" + n + " y[" + i / out + ", " + i % out + "]");
            }
        }
    }

    @Test
    void refusesFloat32ANonFiniteWeightAndShortBuffers() {
        Buf w = random(new Random(5), 6, 1);
        IllegalArgumentException f32 = assertThrows(IllegalArgumentException.class,
                () -> CompactMatrices.of(w, 2, 3, WeightFormat.FLOAT32));
        assertTrue(f32.getMessage().contains("FLOAT32"), f32.getMessage());
        w.put(4, Float.NaN);
        IllegalArgumentException nan = assertThrows(IllegalArgumentException.class,
                () -> CompactMatrices.of(w, 2, 3, WeightFormat.INT8));
        assertEquals("weight [1, 1] is NaN; only finite weights quantize to INT8", nan.getMessage());
        IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
                () -> CompactMatrices.of(w, 3, 3, WeightFormat.BFLOAT16));
        assertEquals("a [3, 3] weight matrix needs 9 elements, given 6", small.getMessage());
        CompactMatrix m = CompactMatrices.of(random(new Random(6), 6, 1), 2, 3, WeightFormat.BFLOAT16);
        Buf x = random(new Random(7), 6, 1), y = Buf.of(Nd4j.create(DataType.FLOAT, 2, 2));
        IllegalArgumentException rows = assertThrows(IllegalArgumentException.class, () -> m.multiply(x, 1, 2, null, y, 0));
        assertTrue(rows.getMessage().startsWith("[2, 3] product of 2 rows: the input from row 1 holds 6 elements"),
                rows.getMessage());
        Buf x64 = Buf.of(Nd4j.create(DataType.DOUBLE, 1, 3));
        assertThrows(IllegalArgumentException.class, () -> m.multiply(x64, 0, 1, null, y, 0));
    }
}
