package org.attn4j.kernels;

import static org.attn4j.kernels.KernelFixtures.buf;
import static org.attn4j.kernels.KernelFixtures.close;
import static org.attn4j.kernels.KernelFixtures.dot;
import static org.attn4j.kernels.KernelFixtures.random;
import static org.attn4j.kernels.KernelFixtures.values;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * {@link EmbeddingKernel}: the lookup E[id] scale + P[position] in float32 against float64 loops, on rows [B, T] and
 * on packed rows; the scatter-add against central differences (an id met twice adds both rows).
 */
class EmbeddingKernelTest {
    private static final int V = 6, C = 4, MAX_LEN = 5;
    private static final int[] IDS = {2, 5, 2, 0, 3, 3};

    @Test
    void forwardMatchesFloat64Loops() {
        Random r = new Random(10);
        double[] table = random(r, V * C), positions = random(r, MAX_LEN * C), want = new double[IDS.length * C];
        double scale = Math.sqrt(C);
        EmbeddingKernel k = new EmbeddingKernel(buf(table, DataType.FLOAT), buf(positions, DataType.FLOAT), scale, C);
        Buf x = buf(new double[IDS.length * C], DataType.FLOAT);
        int t = 3, past = 1; // rows [2, 3], the first at position 1
        for (int row = 0; row < IDS.length; row++) {
            int position = EmbeddingKernel.position(null, t, past, row);
            k.forward(IDS[row], position, x, row);
            for (int j = 0; j < C; j++) {
                want[row * C + j] = table[IDS[row] * C + j] * scale + positions[(past + row % t) * C + j];
            }
        }
        close("x", want, values(x), 1e-6);
        int[] rowPos = {0, 1, 2, 3, 0, 1}; // packed: a sequence of four and one of two
        org.junit.jupiter.api.Assertions.assertEquals(3, EmbeddingKernel.position(rowPos, t, 0, 3));
    }

    @Test
    void backwardMatchesCentralDifferences() {
        Random r = new Random(11);
        int n = IDS.length;
        int[] rowPos = {0, 1, 2, 3, 0, 1};
        double[] w = random(r, n * C);
        DataType f64 = DataType.DOUBLE;
        Buf table = buf(random(r, V * C), f64), positions = buf(random(r, MAX_LEN * C), f64);
        EmbeddingKernel k = new EmbeddingKernel(table, positions, 1.7, C);
        Buf dTable = buf(new double[V * C], f64), dPositions = buf(new double[MAX_LEN * C], f64);
        k.backward(buf(w, f64), IDS, rowPos, 0, n, dTable, dPositions, 0, 1); // two workers' columns
        k.backward(buf(w, f64), IDS, rowPos, 0, n, dTable, dPositions, 1, C);
        Buf x = buf(new double[n * C], f64);
        Map<String, Buf> inputs = new LinkedHashMap<>(), grads = new LinkedHashMap<>();
        inputs.put("table", table);
        grads.put("table", dTable);
        inputs.put("positions", positions);
        grads.put("positions", dPositions);
        KernelFixtures.gradientsAgree(inputs, grads, () -> {
            for (int row = 0; row < n; row++) {
                k.forward(IDS[row], rowPos[row], x, row);
            }
            return dot(w, x);
        });
    }
}
