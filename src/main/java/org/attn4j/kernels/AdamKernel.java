package org.attn4j.kernels;

/**
 * Adam's step with decoupled weight decay, fused into one pass over a parameter's elements: what ND4J's
 * {@code adam_updater} op, its {@code WeightDecay}'s axpy and the subtraction compute as three or four ops (the
 * trainer ran them per chunk of parameters, each op at a fixed cost of tens of microseconds), in the same order of
 * operations, in the parameters' own precision:
 *
 * <pre>
 *   g = scale g                                   (the clipping factor; 1: unclipped)
 *   m = beta1 m + g (1 - beta1)
 *   v = beta2 v + g g (1 - beta2)
 *   u = (m alpha) / (sqrt(v) + eps),   alpha = lr sqrt(1 - beta2^t) / (1 - beta1^t)   ({@link #alpha})
 *   u = u + decay p                               (decay = lr x the coefficient; decayed parameters only)
 *   p = p - u
 * </pre>
 *
 * The gradient is only read. float32 runs in vector lanes where they are loaded ({@link AdamLanes}), without fused
 * multiply-adds, as ND4J's CPU loops compute it.
 */
public final class AdamKernel {
    private AdamKernel() {
    }

    /**
     * Adam's step size at (0-based) {@code iteration} for learning rate {@code lr}, as ND4J's op takes it: in the
     * parameters' precision ({@code single}: float32), falling back to {@code eps} where it is not a finite non-zero
     * number.
     */
    public static double alpha(double lr, double beta1, double beta2, double eps, int iteration, boolean single) {
        double alpha;
        if (single) {
            float b1t = (float) Math.pow((float) beta1, iteration + 1), b2t = (float) Math.pow((float) beta2, iteration + 1);
            alpha = (float) ((double) ((float) lr * (float) Math.sqrt((float) (1.0 - b2t))) / (1.0 - b1t));
        } else {
            alpha = lr * Math.sqrt(1.0 - Math.pow(beta2, iteration + 1)) / (1.0 - Math.pow(beta1, iteration + 1));
        }
        return Double.isNaN(alpha) || alpha == 0 || Double.isInfinite(alpha) ? eps : alpha;
    }

    /**
     * Elements {@code [from, from + n)} of parameter {@code p} from gradient {@code g}, with Adam's moments at
     * {@code m[mAt + i]} and {@code v[vAt + i]} for element {@code from + i}; all four float32 or all float64.
     */
    public static void update(Buf p, Buf g, Buf m, int mAt, Buf v, int vAt, int from, int n, AdamStep s) {
        if (p.isFloat()) {
            int done = RowMath.vector(p) ? AdamLanes.update(p, g, m, mAt, v, vAt, from, n, s) : 0;
            float scale = (float) s.scale(), b1 = (float) s.beta1(), b2 = (float) s.beta2(), c1 = 1 - b1, c2 = 1 - b2;
            float alpha = (float) s.alpha(), eps = (float) s.eps(), decay = (float) s.decay();
            for (int i = done; i < n; i++) { // the lanes' rest, or everything without them: float arithmetic
                float gi = (float) g.get(from + i) * scale;
                float mi = b1 * (float) m.get(mAt + i) + gi * c1;
                float vi = b2 * (float) v.get(vAt + i) + gi * gi * c2;
                float pi = (float) p.get(from + i), u = (mi * alpha) / ((float) Math.sqrt(vi) + eps);
                if (decay != 0) {
                    u = u + pi * decay;
                }
                m.put(mAt + i, mi);
                v.put(vAt + i, vi);
                p.put(from + i, pi - u);
            }
            return;
        }
        double c1 = 1 - s.beta1(), c2 = 1 - s.beta2();
        for (int i = 0; i < n; i++) {
            double gi = g.get(from + i) * s.scale();
            double mi = s.beta1() * m.get(mAt + i) + gi * c1;
            double vi = s.beta2() * v.get(vAt + i) + gi * gi * c2;
            double pi = p.get(from + i), u = (mi * s.alpha()) / (Math.sqrt(vi) + s.eps());
            if (s.decay() != 0) {
                u = u + pi * s.decay();
            }
            m.put(mAt + i, mi);
            v.put(vAt + i, vi);
            p.put(from + i, pi - u);
        }
    }
}
