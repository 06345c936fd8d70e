package org.attn4j.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.attn4j.config.WeightFormat;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The products of a compact weight ({@link CompactMatrix#multiply}: y = x W^T + b, its lanes for a few rows and
 * its widened GEMM tiles for more, and
 * {@link CompactMatrix#multiplyTransposed}: dx = dy W, or +=) against float64 sums of the matrix's own widened
 * weights ({@link CompactMatrix#get}), on ragged shapes: widths not multiples of the int8 block (32) or of vector
 * lanes, and matrices of several tiles (300 rows: forward tiles of 64 rows, transposed tiles of 262 rows of 1,000) so
 * that the tiles' shares must add up.
 */
class CompactRowsTest {
    private static final int[][] SHAPES = {{1, 1}, {7, 13}, {131, 45}, {5, 100}, {300, 1000}}; // {out, in}
    private static final int[] ROWS = {1, 3, 10};

    private static Buf random(Random r, int n) {
        Buf b = Buf.of(Nd4j.create(DataType.FLOAT, Math.max(1, n)));
        for (int i = 0; i < n; i++) {
            b.put(i, r.nextGaussian());
        }
        return b;
    }

    private static double[][] widened(CompactMatrix m) {
        double[][] w = new double[m.rows()][m.columns()];
        for (int o = 0; o < m.rows(); o++) {
            for (int i = 0; i < m.columns(); i++) {
                w[o][i] = m.get(o, i);
            }
        }
        return w;
    }

    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"BFLOAT16", "INT8"})
    void rowProductsMatchFloat64Sums(WeightFormat format) {
        Random r = new Random(3);
        for (int[] shape : SHAPES) {
            int out = shape[0], in = shape[1];
            CompactMatrix m = CompactMatrices.of(random(r, out * in), out, in, format);
            double[][] w = widened(m);
            Buf bias = random(r, out);
            for (int n : ROWS) {
                for (boolean withBias : new boolean[] {false, true}) {
                    int xRow = 2, yRow = 1; // operands at an offset; rows around the call's stay untouched
                    Buf x = random(r, (xRow + n) * in), y = random(r, (yRow + n + 1) * out);
                    double[] untouched = new double[y.length];
                    for (int i = 0; i < y.length; i++) {
                        untouched[i] = y.get(i);
                    }
                    m.multiply(x, xRow, n, withBias ? bias : null, y, yRow);
                    String what = format + " [" + out + ", " + in + "] x " + n + " rows" + (withBias ? " + b" : "");
                    for (int row = 0; row < n; row++) {
                        for (int o = 0; o < out; o++) {
                            double sum = withBias ? bias.get(o) : 0, size = Math.abs(sum);
                            for (int i = 0; i < in; i++) {
                                double p = w[o][i] * x.get((xRow + row) * in + i);
                                sum += p;
                                size += Math.abs(p);
                            }
                            assertEquals(sum, y.get((yRow + row) * out + o), 1e-5 * size + 1e-30,
                                    what + ": y[" + row + ", " + o + "]");
                        }
                    }
                    for (int i = 0; i < yRow * out; i++) {
                        assertEquals(untouched[i], y.get(i), 0, what + ": element " + i + " before the rows");
                    }
                    for (int i = (yRow + n) * out; i < y.length; i++) {
                        assertEquals(untouched[i], y.get(i), 0, what + ": element " + i + " after the rows");
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"BFLOAT16", "INT8"})
    void transposedProductsMatchFloat64Sums(WeightFormat format) {
        Random r = new Random(4);
        for (int[] shape : SHAPES) {
            int out = shape[0], in = shape[1];
            CompactMatrix m = CompactMatrices.of(random(r, out * in), out, in, format);
            double[][] w = widened(m);
            for (int n : ROWS) {
                for (boolean accumulate : new boolean[] {false, true}) {
                    int dyRow = 1, dxRow = 2;
                    Buf dy = random(r, (dyRow + n) * out), dx = random(r, (dxRow + n + 1) * in);
                    double[] before = new double[dx.length];
                    for (int i = 0; i < dx.length; i++) {
                        before[i] = dx.get(i);
                    }
                    m.multiplyTransposed(dy, dyRow, n, dx, dxRow, accumulate);
                    String what = format + " [" + out + ", " + in + "]^T x " + n + " rows" + (accumulate ? " +=" : "");
                    for (int row = 0; row < n; row++) {
                        for (int i = 0; i < in; i++) {
                            int at = (dxRow + row) * in + i;
                            double sum = accumulate ? before[at] : 0, size = Math.abs(sum);
                            for (int o = 0; o < out; o++) {
                                double p = dy.get((dyRow + row) * out + o) * w[o][i];
                                sum += p;
                                size += Math.abs(p);
                            }
                            assertEquals(sum, dx.get(at), 1e-5 * size + 1e-30, what + ": dx[" + row + ", " + i + "]");
                        }
                    }
                    for (int i = 0; i < dx.length; i++) {
                        if (i < dxRow * in || i >= (dxRow + n) * in) {
                            assertEquals(before[i], dx.get(i), 0, what + ": element " + i + " outside the rows");
                        }
                    }
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = WeightFormat.class, names = {"BFLOAT16", "INT8"})
    void operandsThatDoNotFitAreRefusedInOneLine(WeightFormat format) {
        CompactMatrix m = CompactMatrices.of(random(new Random(5), 7 * 13), 7, 13, format);
        Buf x = random(new Random(6), 2 * 13), y = Buf.of(Nd4j.create(DataType.FLOAT, 2 * 7));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> m.multiply(x, 0, 3, null, y, 0));
        assertEquals("[7, 13] product of 3 rows: the input from row 0 holds 26 elements (13 a row), the output from "
                + "row 0 holds 14 (7 a row)", e.getMessage());
        Buf doubles = Buf.of(Nd4j.create(DataType.DOUBLE, 2 * 7));
        e = assertThrows(IllegalArgumentException.class, () -> m.multiplyTransposed(doubles, 0, 2, x, 0, false));
        assertTrue(e.getMessage().startsWith("a compact product takes float32 activations, given DOUBLE"),
                e.getMessage());
    }
}
