package org.attn4j.kernels;

import static org.attn4j.kernels.KernelFixtures.buf;
import static org.attn4j.kernels.KernelFixtures.close;
import static org.attn4j.kernels.KernelFixtures.dot;
import static org.attn4j.kernels.KernelFixtures.random;
import static org.attn4j.kernels.KernelFixtures.values;

import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * {@link RotaryKernel}: rows of two heads of D = 8 at positions past .. past + t - 1, each pair (i, i + D/2) turned
 * by position 10000^(-2i/D) (transformers' {@code rotate_half} layout), in float32 against float64 loops; the way
 * back is the rotation's gradient (central differences).
 */
class RotaryKernelTest {
    private static final int D = 8, HEADS = 2, WIDTH = D * HEADS, T = 5, PAST = 3;

    private static double[] frequencies() {
        double[] f = new double[D / 2];
        for (int i = 0; i < f.length; i++) {
            f[i] = Math.pow(10_000, -2.0 * i / D);
        }
        return f;
    }

    @Test
    void forwardMatchesFloat64Loops() {
        double[] x = random(new Random(5), T * WIDTH), want = new double[T * WIDTH];
        RotaryKernel k = new RotaryKernel(frequencies());
        k.table(PAST, T);
        Buf xs = buf(x, DataType.FLOAT);
        for (int t = 0; t < T; t++) {
            k.rotate(xs, t * WIDTH, WIDTH, t, false);
            for (int head = t * WIDTH; head < (t + 1) * WIDTH; head += D) {
                for (int i = 0; i < D / 2; i++) {
                    double angle = (PAST + t) * Math.pow(10_000, -2.0 * i / D);
                    double x1 = x[head + i], x2 = x[head + i + D / 2];
                    want[head + i] = x1 * Math.cos(angle) - x2 * Math.sin(angle);
                    want[head + i + D / 2] = x2 * Math.cos(angle) + x1 * Math.sin(angle);
                }
            }
        }
        close("rotated", want, values(xs), 2e-6);
    }

    @Test
    void backIsTheGradientOfTheRotation() {
        Random r = new Random(6);
        double[] w = random(r, T * WIDTH);
        Buf x = buf(random(r, T * WIDTH), DataType.DOUBLE), y = buf(new double[T * WIDTH], DataType.DOUBLE);
        Buf dx = buf(w, DataType.DOUBLE);
        RotaryKernel k = new RotaryKernel(frequencies());
        k.table(PAST, T);
        for (int t = 0; t < T; t++) {
            k.rotate(dx, t * WIDTH, WIDTH, t, true);
        }
        KernelFixtures.gradientsAgree(Map.of("x", x), Map.of("x", dx), () -> {
            for (int i = 0; i < T * WIDTH; i++) {
                y.put(i, x.get(i));
            }
            for (int t = 0; t < T; t++) {
                k.rotate(y, t * WIDTH, WIDTH, t, false);
            }
            return dot(w, y);
        });
    }
}
