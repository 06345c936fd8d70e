package org.attn4j.nn;

import java.util.LinkedHashMap;
import java.util.Map;
import org.attn4j.config.NormWeights;
import org.attn4j.kernels.Buf;
import org.attn4j.kernels.NormKernel;
import org.attn4j.kernels.Parallel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The engine of a lone {@link LayerNorm} or {@link RMSNorm}: the training pass of their {@code train}, on the
 * kernel of {@link NormKernel} (the one {@link FastBlock}'s norms run). Rows are N = the product of every
 * dimension but the last, C wide.
 *
 * <pre>
 *   forward:   LayerNorm: xhat = (x - mean) rstd,  rstd = 1 / sqrt(var + eps);   y = xhat gamma + beta
 *              RMSNorm:   xhat = x rstd,           rstd = 1 / sqrt(mean(x^2) + eps);  y = xhat gamma
 *   backward:  g = dy gamma;  dx = rstd (g - mean(g) - xhat mean(g xhat))   (RMSNorm: without mean(g))
 *              dgamma = colsum(dy xhat);  dbeta = colsum(dy)
 * </pre>
 *
 * <p>Weights and state are separate: this object holds only the layer's parameter arrays (its own, so an
 * update to the layer is seen here); a {@link Pass} keeps what its backward needs. Any number of threads may
 * use one instance at once.
 */
public final class FastNorm {
    private static final int ROW_GRAIN = 16; // a norm's row is O(C) work: more rows per worker than a GEMM phase's
    private final int width;
    private final DataType type;
    private final Parallel parallel;
    private final String weightName, biasName; // biasName null: RMSNorm
    private final NormKernel norm; // gamma [C], beta [C] (null: RMSNorm)

    /** The engine of a norm of {@code weights} (bias null: RMSNorm), on {@code parallel}'s workers. */
    public FastNorm(NormWeights weights, Parallel parallel) {
        this.width = (int) weights.weight().length();
        this.type = weights.weight().dataType();
        this.parallel = parallel;
        String prefix = weights.name().isEmpty() ? "" : weights.name() + "."; // the gradients' keys, as parameters() names them
        boolean bias = weights.bias() != null;
        weightName = prefix + "weight";
        biasName = bias ? prefix + "bias" : null;
        this.norm = new NormKernel(Buf.of(weights.weight()), bias ? Buf.of(weights.bias()) : null, weights.eps());
    }

    /** A training forward of {@code x [..., C]} (the layer's type, checked by the caller); {@code finiteChecks} scans x. */
    public Pass forward(INDArray x, boolean finiteChecks) {
        return new Pass(x, finiteChecks);
    }

    /**
     * One forward's output and what its backward needs (xhat and rstd). Nothing in it is changed by
     * {@link #backward}, which may run any number of times, from any thread.
     */
    public final class Pass {
        private final long[] shape; // x's
        private final int n; // rows
        private final Buf xhat, rstd; // [N, C], [N]
        private final INDArray output; // [..., C]
        private volatile boolean closed;

        private Pass(INDArray x, boolean finiteChecks) {
            shape = x.shape();
            n = Math.toIntExact(x.length() / width);
            Buf in = Buf.of(x, type); // read only here: no copy kept
            if (finiteChecks) {
                Shapes.finite("x", in, shape);
            }
            output = Nd4j.createUninitialized(type, shape);
            xhat = Buf.of(Nd4j.createUninitialized(type, n, width));
            rstd = Buf.of(Nd4j.createUninitialized(type, n));
            Buf y = Buf.of(output);
            parallel.forRange(n, ROW_GRAIN, (r0, r1) -> norm.forward(in, y, xhat, rstd, r0, r1, width));
        }

        /**
         * Frees what only the backward needs (xhat, rstd) now rather than when the garbage collector finds it;
         * {@link #output} stays valid, {@link #backward} may not be called after. {@code apply} closes its pass.
         */
        public synchronized void close() {
            if (!closed) {
                closed = true;
                xhat.close();
                rstd.close();
            }
        }

        /** Whether {@link #close} has run: {@link #backward} may not. */
        public boolean closed() {
            return closed;
        }

        /** The normalized input, {@code [..., C]} like x. */
        public INDArray output() {
            return output;
        }

        /**
         * Gradients of a loss with respect to x and the parameters ({@code weight}, a LayerNorm's {@code bias}, by
         * the layer's names), given its gradient {@code gradOutput} (x's shape) with respect to the output. New
         * arrays on every call.
         */
        public InputGradients backward(INDArray gradOutput) {
            if (closed) {
                throw new IllegalStateException("backward on a closed pass: close() freed what the backward reads");
            }
            Buf dy = Buf.of(gradOutput, type);
            INDArray dx = Nd4j.create(type, shape);
            Buf dxb = Buf.of(dx);
            Map<String, INDArray> grads = new LinkedHashMap<>();
            grads.put(weightName, Nd4j.create(type, width));
            if (biasName != null) {
                grads.put(biasName, Nd4j.create(type, width));
            }
            // dx, per row.
            parallel.forRange(n, ROW_GRAIN, (r0, r1) -> norm.backward(dy, xhat, rstd, dxb, null, r0, r1, width));
            // dgamma = colsum(dy xhat), dbeta = colsum(dy); each worker a share of the columns.
            Buf dGamma = Buf.of(grads.get(weightName)), dBeta = biasName == null ? null : Buf.of(grads.get(biasName));
            parallel.forRange(width, (c0, c1) -> norm.backwardParams(dy, xhat, dGamma, dBeta, n, width, c0, c1));
            return new InputGradients(dx, grads);
        }
    }
}
