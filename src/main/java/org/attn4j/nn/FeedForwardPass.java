package org.attn4j.nn;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One training forward of a {@link FeedForward} ({@link FeedForward#train}): its output and what {@link #backward}
 * needs, kept on the engine. The pass is the caller's; nothing in it is changed by {@link #backward}, which may run
 * any number of times, from any thread, until {@link #close}.
 */
public final class FeedForwardPass implements AutoCloseable {
    private final FastFeedForward.Pass pass;
    private final DataType type;
    private final int b, t, c;

    FeedForwardPass(FastFeedForward.Pass pass, DataType type, int b, int t, int c) {
        this.pass = pass;
        this.type = type;
        this.b = b;
        this.t = t;
        this.c = c;
    }

    /** The layer's output {@code [B, T, C]}. */
    public INDArray output() {
        return pass.output();
    }

    /**
     * Gradients of a loss with respect to x and every parameter (by the layer's parameter names:
     * {@code linear1.weight}, {@code linear1.bias}, {@code linear2.*}, SwiGLU's {@code gate.*}), given its gradient
     * {@code gradOutput [B, T, C]} with respect to the output. New arrays on every call.
     */
    public LayerGradients backward(INDArray gradOutput) {
        if (pass.closed()) {
            throw new IllegalStateException("backward on a closed pass: close() freed what the backward reads");
        }
        Checks.rank("gradOutput", gradOutput, 3, "[B, T, dModel]");
        Checks.shape("gradOutput [B=" + b + ", T=" + t + ", dModel=" + c + "]", gradOutput, b, t, c);
        Checks.gradientType(gradOutput, type);
        InputGradients g = pass.backward(gradOutput);
        return new LayerGradients(g.input(), g.parameters());
    }

    /**
     * Frees what only the backward needs (the input's copy, the hidden activations) now rather than when the
     * garbage collector finds it; {@link #output} stays valid, {@link #backward} may not be called after.
     */
    @Override
    public void close() {
        pass.close();
    }
}
