package org.attn4j.kernels;

import static org.attn4j.kernels.KernelFixtures.buf;
import static org.attn4j.kernels.KernelFixtures.close;
import static org.attn4j.kernels.KernelFixtures.dot;
import static org.attn4j.kernels.KernelFixtures.random;
import static org.attn4j.kernels.KernelFixtures.values;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * {@link NormKernel}, LayerNorm and RMSNorm: the forward in float32 against PyTorch's definitions in float64 loops
 * (biased variance, eps inside the square root); dx, dgamma and dbeta against central differences.
 */
class NormKernelTest {
    private static final int N = 5, C = 6;
    private static final double EPS = 1e-5;

    @ParameterizedTest(name = "rms {0}")
    @ValueSource(booleans = {false, true})
    void forwardMatchesFloat64Loops(boolean rms) {
        Random r = new Random(3);
        double[] x = random(r, N * C), gamma = random(r, C), beta = random(r, C);
        NormKernel k = new NormKernel(buf(gamma, DataType.FLOAT), rms ? null : buf(beta, DataType.FLOAT), EPS);
        Buf xs = buf(x, DataType.FLOAT), y = buf(new double[N * C], DataType.FLOAT);
        Buf xhat = buf(new double[N * C], DataType.FLOAT), rstd = buf(new double[N], DataType.FLOAT);
        k.forward(xs, y, xhat, rstd, 0, 2, C);
        k.forward(xs, y, xhat, rstd, 2, N, C);
        double[] want = new double[N * C];
        for (int n = 0; n < N; n++) {
            double mean = 0, square = 0;
            for (int c = 0; c < C; c++) {
                mean += x[n * C + c] / C;
            }
            for (int c = 0; c < C; c++) {
                double centred = rms ? x[n * C + c] : x[n * C + c] - mean;
                square += centred * centred / C;
            }
            for (int c = 0; c < C; c++) {
                double centred = rms ? x[n * C + c] : x[n * C + c] - mean;
                want[n * C + c] = centred / Math.sqrt(square + EPS) * gamma[c] + (rms ? 0 : beta[c]);
            }
        }
        close("y", want, values(y), 2e-6);
    }

    @ParameterizedTest(name = "rms {0}")
    @ValueSource(booleans = {false, true})
    void backwardMatchesCentralDifferences(boolean rms) {
        Random r = new Random(4);
        double[] w = random(r, N * C), plusValues = random(r, N * C);
        DataType f64 = DataType.DOUBLE;
        Buf x = buf(random(r, N * C), f64), gamma = buf(random(r, C), f64), beta = rms ? null : buf(random(r, C), f64);
        NormKernel k = new NormKernel(gamma, beta, EPS);
        Buf y = buf(new double[N * C], f64), xhat = buf(new double[N * C], f64), rstd = buf(new double[N], f64);
        Buf dy = buf(w, f64), dx = buf(new double[N * C], f64), plus = buf(plusValues, f64);
        Buf dGamma = buf(new double[C], f64), dBeta = buf(new double[C], f64);
        k.forward(x, y, xhat, rstd, 0, N, C);
        k.backward(dy, xhat, rstd, dx, plus, 0, N, C);
        k.backwardParams(dy, xhat, dGamma, dBeta, N, C, 0, 2); // two workers' columns
        k.backwardParams(dy, xhat, dGamma, dBeta, N, C, 2, C);
        for (int i = 0; i < N * C; i++) {
            dx.put(i, dx.get(i) - plusValues[i]); // the kernel added plus: what is left is norm'(dy)
        }
        Map<String, Buf> inputs = new LinkedHashMap<>(), grads = new LinkedHashMap<>();
        inputs.put("x", x);
        grads.put("x", dx);
        inputs.put("gamma", gamma);
        grads.put("gamma", dGamma);
        if (!rms) {
            inputs.put("beta", beta);
            grads.put("beta", dBeta);
        }
        KernelFixtures.gradientsAgree(inputs, grads, () -> {
            k.forward(x, y, xhat, rstd, 0, N, C);
            return dot(w, y);
        });
    }
}
