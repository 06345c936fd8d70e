package org.attn4j.kernels;

import static org.attn4j.kernels.KernelFixtures.buf;
import static org.attn4j.kernels.KernelFixtures.close;
import static org.attn4j.kernels.KernelFixtures.random;
import static org.attn4j.kernels.KernelFixtures.values;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * {@link CrossEntropyKernel}: loss and log-softmax in float32 against float64 loops of the definitions (smoothed
 * loss = (1 - s) NLL + s mean_v -log p_v, as PyTorch's label_smoothing), finite on logits near 1000 where a
 * plain exp overflows; the gradient against central differences.
 */
class CrossEntropyKernelTest {
    private static final int V = 7, TARGET = 4;

    @ParameterizedTest(name = "smoothing {0}")
    @ValueSource(doubles = {0, 0.1})
    void lossMatchesFloat64Loops(double smoothing) {
        double[] z = random(new Random(12), V);
        double sum = 0;
        for (double zi : z) {
            sum += Math.exp(zi);
        }
        double logSum = Math.log(sum), mean = 0;
        for (double zi : z) {
            mean += (logSum - zi) / V;
        }
        double want = (1 - smoothing) * (logSum - z[TARGET]) + smoothing * mean;
        Buf row = buf(z, DataType.FLOAT);
        double got = CrossEntropyKernel.forwardRow(row, 0, V, TARGET, false, smoothing);
        assertEquals(want, got, 2e-6 * Math.max(1, want));
        double[] softmax = new double[V];
        for (int v = 0; v < V; v++) {
            softmax[v] = Math.exp(z[v]) / sum;
        }
        close("softmax", softmax, values(row), 1e-6);
        Buf ignored = buf(z, DataType.FLOAT);
        assertEquals(smoothing * mean, CrossEntropyKernel.forwardRow(ignored, 0, V, TARGET, true, smoothing), 2e-6);
    }

    @Test
    void logSoftmaxIsFiniteAndExactOnLargeLogits() {
        double[] z = random(new Random(13), V), bias = random(new Random(14), V);
        for (int v = 0; v < V; v++) {
            z[v] += 1000; // exp(1000) is infinite in float64: only a shifted sum is finite
        }
        Buf row = buf(z, DataType.FLOAT);
        CrossEntropyKernel.logSoftmaxRow(row, 0, V, buf(bias, DataType.FLOAT));
        double[] want = logSoftmax(z, bias), got = values(row);
        for (double g : got) {
            assertTrue(Double.isFinite(g), "log-softmax " + java.util.Arrays.toString(got));
        }
        close("log-softmax", want, got, 2e-4); // float32 logits near 1000 carry 6e-5 of rounding each
    }

    @Test
    void backwardMatchesCentralDifferences() {
        double smoothing = 0.1, scale = 0.5;
        DataType f64 = DataType.DOUBLE;
        Buf z = buf(random(new Random(15), V), f64), work = buf(new double[V], f64);
        Buf grad = buf(values(z), f64);
        CrossEntropyKernel.forwardRow(grad, 0, V, TARGET, false, smoothing);
        CrossEntropyKernel.backwardRow(grad, 0, V, TARGET, false, smoothing, scale);
        KernelFixtures.gradientsAgree(Map.of("z", z), Map.of("z", grad), () -> {
            for (int v = 0; v < V; v++) {
                work.put(v, z.get(v));
            }
            return scale * CrossEntropyKernel.forwardRow(work, 0, V, TARGET, false, smoothing);
        });
        Buf ignored = buf(values(z), f64);
        CrossEntropyKernel.backwardRow(ignored, 0, V, TARGET, true, smoothing, scale);
        close("ignored row", new double[V], values(ignored), 0);
    }

    /**
     * A row of several pieces and a ragged end (3 x 4,096 + 37 columns, the last piece's end not a whole vector), in
     * float32 and float64, against float64 loops of the definition; the pieces run in reverse order (as threads may
     * take them) give the same bits as {@link CrossEntropyKernel#logSoftmaxRow}; a piece of -inf logits adds nothing.
     */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"FLOAT", "DOUBLE"})
    void logSoftmaxInPiecesMatchesFloat64Loops(String typeName) {
        DataType type = DataType.valueOf(typeName);
        int wide = 3 * CrossEntropyKernel.PIECE + 37, pieces = CrossEntropyKernel.pieces(wide);
        assertEquals(4, pieces);
        double[] z = random(new Random(16), wide), bias = random(new Random(17), wide);
        for (int v = 0; v < wide; v++) {
            z[v] *= 8; // logits spread over a few units, as a trained head's
        }
        for (int v = CrossEntropyKernel.PIECE; v < 2 * CrossEntropyKernel.PIECE; v++) {
            z[v] = Double.NEGATIVE_INFINITY; // the second piece: excluded tokens
        }
        z[wide - 1] = 30; // the row's max in the ragged end, where a lost column would show
        Buf whole = buf(z, type), reversed = buf(z, type), biasBuf = buf(bias, type);
        double[] rounded = values(buf(z, type)), roundedBias = values(biasBuf);
        double[] want = logSoftmax(rounded, roundedBias);
        CrossEntropyKernel.logSoftmaxRow(whole, 0, wide, biasBuf);
        double[] maxSum = new double[2 * pieces];
        for (int k = pieces - 1; k >= 0; k--) {
            CrossEntropyKernel.logSoftmaxPiece(reversed, 0, wide, biasBuf, k, maxSum, 2 * k);
        }
        double logSum = CrossEntropyKernel.logSumExp(maxSum, 0, pieces);
        for (int k = pieces - 1; k >= 0; k--) {
            CrossEntropyKernel.shiftPiece(reversed, 0, wide, k, logSum);
        }
        double[] got = values(whole);
        for (int v = 0; v < wide; v++) {
            if (want[v] == Double.NEGATIVE_INFINITY) {
                assertEquals(Double.NEGATIVE_INFINITY, got[v], "column " + v);
                got[v] = want[v] = 0;
            }
        }
        close("log-softmax in pieces", want, got, type == DataType.FLOAT ? 2e-6 : 1e-12);
        assertTrue(java.util.Arrays.equals(values(whole), values(reversed)), "pieces in reverse order: other bits");
    }

    /** log softmax(z + bias) in float64, shifted by the row's max. */
    private static double[] logSoftmax(double[] z, double[] bias) {
        double max = Double.NEGATIVE_INFINITY, sum = 0;
        for (int v = 0; v < z.length; v++) {
            max = Math.max(max, z[v] + bias[v]);
        }
        for (int v = 0; v < z.length; v++) {
            sum += Math.exp(z[v] + bias[v] - max);
        }
        double[] out = new double[z.length];
        for (int v = 0; v < z.length; v++) {
            out[v] = z[v] + bias[v] - max - Math.log(sum);
        }
        return out;
    }
}
