package org.attn4j.nn;

import java.util.LinkedHashMap;
import java.util.Map;
import org.attn4j.config.Activation;
import org.attn4j.config.FeedForwardWeights;
import org.attn4j.config.LinearWeights;
import org.attn4j.kernels.Blas;
import org.attn4j.kernels.Buf;
import org.attn4j.kernels.DropoutSeed;
import org.attn4j.kernels.GradientShares;
import org.attn4j.kernels.LinearKernel;
import org.attn4j.kernels.Parallel;
import org.attn4j.kernels.RowMath;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The engine of a lone {@link FeedForward}: the training pass of its {@code train}, OpenBLAS products on rows
 * (N = B T) and the activation kernels of {@link RowMath} (the ones {@link FastBlock}'s feed-forward runs).
 *
 * <pre>
 *   forward:   h = x W1^T + b1;   g = act(h)   (SwiGLU: u = x Wg^T + bg;  g = silu(h) u)
 *              g = drop(g);       y = g W2^T + b2
 *   backward:  dg = dy W2;  dW2 = dy^T g;  db2 = colsum(dy);  dg = drop(dg)
 *              dh = dg act'(h)    (SwiGLU: du = dg silu(h);  dh = dg u silu'(h))
 *              dx = dh W1 (+ du Wg);  dW1 = dh^T x;  db1 = colsum(dh)  (dWg = du^T x;  dbg = colsum(du))
 * </pre>
 *
 * <p>Weights and state are separate: this object holds only the layer's parameter arrays (its own, so an
 * update to the layer is seen here); a {@link Pass} keeps what its backward needs. Any number of threads may
 * use one instance at once.
 */
public final class FastFeedForward {
    private static final int ROW_GRAIN = 4;
    private final FeedForward.Config config;
    private final DataType type;
    private final Parallel parallel;
    private final LinearKernel linear1, linear2, gate; // gate: SwiGLU only

    /** The engine of a feed-forward layer of {@code config} on {@code weights}, on {@code parallel}'s workers. */
    public FastFeedForward(FeedForward.Config config, FeedForwardWeights weights, Parallel parallel) {
        this.config = config;
        this.type = weights.linear1().weight().dataType();
        this.parallel = parallel;
        linear1 = lin(weights.linear1());
        linear2 = lin(weights.linear2());
        gate = config.activation() == Activation.SWIGLU ? lin(weights.gate()) : null;
    }

    /** A projection's arrays (the layer's own, shared); its name keys the gradients. */
    static LinearKernel lin(LinearWeights l) {
        return LinearKernel.of(l.name(), l.weight(), l.bias());
    }

    /**
     * A training forward of {@code x [B, T, C]} (the layer's type, checked by the caller). With a {@code dropout}
     * seed and a layer dropout p > 0 the hidden units drop (inverted, PyTorch's way) by the seed's stream
     * {@link DropoutSeed#FF_HIDDEN} of layer -1; null drops nothing. {@code finiteChecks} scans x.
     */
    public Pass forward(INDArray x, DropoutSeed dropout, boolean finiteChecks) {
        return new Pass(x, dropout, finiteChecks);
    }

    /**
     * One forward's activations, kept for its backward. Nothing in it is changed by {@link #backward}, which
     * may run any number of times, from any thread.
     */
    public final class Pass {
        private final int b, t, n;
        private final Buf x; // a copy of the input [N, C]
        private final Buf h, u, aux, g; // [N, F]: linear1's output, the gate's (SwiGLU), the activation's kept values, g
        private final double dropout; // the drop probability this pass used (0: none)
        private final long dropBase;
        private final INDArray output; // [B, T, C]
        private volatile boolean closed;

        private Pass(INDArray input, DropoutSeed seed, boolean finiteChecks) {
            int c = config.dModel(), f = config.hidden();
            b = (int) input.size(0);
            t = (int) input.size(1);
            n = b * t;
            x = buffer((long) n * c);
            Buf src = Buf.of(input, type);
            parallel.forRange(n * c, 1 << 15, (i0, i1) -> RowMath.copy(src, i0, x, i0, i1 - i0));
            if (finiteChecks) {
                Shapes.finite("x", x, input.shape());
            }
            h = buffer((long) n * f);
            u = gate == null ? null : buffer((long) n * f);
            aux = buffer((long) n * f);
            g = buffer((long) n * f);
            dropout = seed != null && config.dropout() > 0 ? config.dropout() : 0;
            dropBase = dropout > 0 ? seed.base(DropoutSeed.stream(-1, DropoutSeed.FF_HIDDEN)) : 0;
            output = Nd4j.createUninitialized(type, b, t, c);
            Buf y = Buf.of(output);
            Blas.singleThreaded();
            parallel.forRange(n, ROW_GRAIN, (r0, r1) -> {
                // 1. h = x W1^T + b1, then the activation (SwiGLU: silu(h) times the gate's u = x Wg^T + bg).
                linear1.forward(x, h, r0, r1);
                if (gate != null) {
                    gate.forward(x, u, r0, r1);
                    RowMath.swiglu(h, u, g, aux, r0 * f, r1 * f);
                } else {
                    RowMath.activation(config.activation(), h, g, aux, r0 * f, r1 * f);
                }
                // 2. Dropout on the hidden units, then y = g W2^T + b2.
                if (dropout > 0) {
                    DropoutSeed.apply(dropBase, dropout, g, r0 * f, r1 * f);
                }
                linear2.forward(g, y, r0, r1);
            });
        }

        /** Whether {@link #close} has run: {@link #backward} may not. */
        public boolean closed() {
            return closed;
        }

        /** The layer's output {@code [B, T, C]}. */
        public INDArray output() {
            return output;
        }

        /**
         * Frees what only the backward needs (the input's copy, the hidden activations) now rather than when the
         * garbage collector finds it; {@link #output} stays valid, {@link #backward} may not be called after.
         * {@code apply} closes its pass.
         */
        public synchronized void close() {
            if (!closed) {
                closed = true;
                for (Buf kept : new Buf[] {x, h, u, aux, g}) {
                    if (kept != null) {
                        kept.close();
                    }
                }
            }
        }

        /**
         * Gradients of a loss with respect to x and every parameter (by the layer's parameter names:
         * {@code linear1.weight}, {@code linear1.bias}, {@code linear2.*}, SwiGLU's {@code gate.*}), given its
         * gradient {@code gradOutput [B, T, C]} with respect to the output. New arrays on every call.
         */
        public InputGradients backward(INDArray gradOutput) {
            if (closed) {
                throw new IllegalStateException("backward on a closed pass: close() freed what the backward reads");
            }
            int c = config.dModel(), f = config.hidden();
            Buf dy = Buf.of(gradOutput, type);
            Buf dh = buffer((long) n * f), du = gate == null ? null : buffer((long) n * f);
            INDArray dx = Nd4j.create(type, b, t, c);
            Buf dxb = Buf.of(dx);
            Map<String, INDArray> grads = new LinkedHashMap<>();
            for (LinearKernel l : gate == null ? new LinearKernel[] {linear1, linear2}
                    : new LinearKernel[] {linear1, linear2, gate}) {
                grads.put(l.weightName(), Nd4j.create(type, l.w().array.shape()));
                if (l.bias() != null) {
                    grads.put(l.biasName(), Nd4j.create(type, l.bias().array.shape()));
                }
            }
            Blas.singleThreaded();
            parallel.forRange(n, ROW_GRAIN, (r0, r1) -> {
                // 1. dg = dy W2, dropped as the forward dropped.
                linear2.backwardInput(dy, dh, false, r0, r1);
                if (dropout > 0) {
                    DropoutSeed.apply(dropBase, dropout, dh, r0 * f, r1 * f);
                }
                // 2. dh = dg act'(h), in place (SwiGLU: and du = dg silu(h)).
                if (gate != null) {
                    RowMath.swigluBack(h, u, aux, dh, dh, du, r0 * f, r1 * f);
                } else {
                    RowMath.activationBack(config.activation(), h, aux, dh, dh, r0 * f, r1 * f);
                }
                // 3. dx = dh W1 (+ du Wg).
                linear1.backwardInput(dh, dxb, false, r0, r1);
                if (gate != null) {
                    gate.backwardInput(du, dxb, true, r0, r1);
                }
            });
            // 4. Parameters: dW = dy^T x, db = column sums of dy; each worker sums a share of the rows.
            GradientShares shares = new GradientShares(grads, parallel.threads());
            parallel.forRange(shares.parts(), (w0, w1) -> {
                for (int w = w0; w < w1; w++) {
                    linear2.backwardWeights(shares, dy, g, n, w);
                    linear1.backwardWeights(shares, dh, x, n, w);
                    if (gate != null) {
                        gate.backwardWeights(shares, du, x, n, w);
                    }
                }
            });
            shares.reduce(new java.util.ArrayList<>(grads.keySet()), parallel);
            shares.close();
            dh.close();
            if (du != null) {
                du.close();
            }
            return new InputGradients(dx, grads);
        }
    }

    private Buf buffer(long length) {
        return Buf.of(Nd4j.create(type, Math.max(1, length)));
    }
}
