package org.attn4j.kernels;

import static org.attn4j.kernels.KernelFixtures.buf;
import static org.attn4j.kernels.KernelFixtures.close;
import static org.attn4j.kernels.KernelFixtures.dot;
import static org.attn4j.kernels.KernelFixtures.random;
import static org.attn4j.kernels.KernelFixtures.values;

import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** {@link LinearKernel}: y = x W^T + b in float32 against float64 loops; dx, dW, db against central differences. */
class LinearKernelTest {
    private static final int N = 7, IN = 5, OUT = 3;

    @ParameterizedTest(name = "bias {0}")
    @ValueSource(booleans = {true, false})
    void forwardMatchesFloat64Loops(boolean withBias) {
        Random r = new Random(1);
        double[] x = random(r, N * IN), w = random(r, OUT * IN), b = random(r, OUT);
        LinearKernel k = kernel(w, withBias ? b : null, DataType.FLOAT);
        Buf y = buf(new double[N * OUT], DataType.FLOAT), xs = buf(x, DataType.FLOAT);
        k.forward(xs, y, 0, 3); // two row ranges, as two workers
        k.forward(xs, y, 3, N);
        double[] want = new double[N * OUT];
        for (int n = 0; n < N; n++) {
            for (int o = 0; o < OUT; o++) {
                double sum = withBias ? b[o] : 0;
                for (int i = 0; i < IN; i++) {
                    sum += x[n * IN + i] * w[o * IN + i];
                }
                want[n * OUT + o] = sum;
            }
        }
        close("y", want, values(y), 1e-5);
    }

    @ParameterizedTest(name = "bias {0}")
    @ValueSource(booleans = {true, false})
    void backwardMatchesCentralDifferences(boolean withBias) {
        Random r = new Random(2);
        double[] dyValues = random(r, N * OUT);
        Buf x = buf(random(r, N * IN), DataType.DOUBLE), y = buf(new double[N * OUT], DataType.DOUBLE);
        INDArray w = Nd4j.createFromArray(random(r, OUT * IN)).reshape(OUT, IN);
        INDArray b = withBias ? Nd4j.createFromArray(random(r, OUT)) : null;
        LinearKernel k = LinearKernel.of("p", w, b);
        Buf dy = buf(dyValues, DataType.DOUBLE), dx = buf(new double[N * IN], DataType.DOUBLE);
        k.backwardInput(dy, dx, false, 0, N);
        Map<String, INDArray> grads = new java.util.LinkedHashMap<>();
        grads.put("p.weight", Nd4j.zeros(DataType.DOUBLE, OUT, IN));
        if (withBias) {
            grads.put("p.bias", Nd4j.zeros(DataType.DOUBLE, OUT));
        }
        GradientShares shares = new GradientShares(grads, 3); // three workers' row shares, added up
        for (int part = 0; part < 3; part++) {
            k.backwardWeights(shares, dy, x, N, part);
        }
        shares.reduce(List.copyOf(grads.keySet()), new Parallel(1));
        Map<String, Buf> inputs = new java.util.LinkedHashMap<>(), analytic = new java.util.LinkedHashMap<>();
        inputs.put("x", x);
        analytic.put("x", dx);
        inputs.put("weight", Buf.of(w));
        analytic.put("weight", Buf.of(grads.get("p.weight")));
        if (withBias) {
            inputs.put("bias", Buf.of(b));
            analytic.put("bias", Buf.of(grads.get("p.bias")));
        }
        KernelFixtures.gradientsAgree(inputs, analytic, () -> {
            k.forward(x, y, 0, N);
            return dot(dyValues, y);
        });
    }

    private static LinearKernel kernel(double[] w, double[] b, DataType type) {
        return LinearKernel.of("p", Nd4j.createFromArray(w).reshape(OUT, IN).castTo(type),
                b == null ? null : Nd4j.createFromArray(b).castTo(type));
    }
}
