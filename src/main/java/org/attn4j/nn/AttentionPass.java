package org.attn4j.nn;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One training forward of a {@link MultiHeadAttention} ({@link MultiHeadAttention#train}): its output and weights,
 * and what {@link #backward} needs, kept on the engine. The pass is the caller's; nothing in it is changed by
 * {@link #backward}, which may run any number of times, from any thread, until {@link #close}.
 */
public final class AttentionPass implements AutoCloseable {
    private final FastAttention.Pass pass;
    private final DataType type;
    private final int b, tq, c;

    AttentionPass(FastAttention.Pass pass, DataType type, int b, int tq, int c) {
        this.pass = pass;
        this.type = type;
        this.b = b;
        this.tq = tq;
        this.c = c;
    }

    /** The attention's output {@code [B, Tq, C]}. */
    public INDArray output() {
        return pass.output();
    }

    /** Per-head weights {@code [B, H, Tq, Tk]} (before dropout). The backward reads them: do not change them. */
    public INDArray weights() {
        return pass.weights();
    }

    /**
     * Gradients of a loss with respect to the query, key and value inputs and every parameter (by the layer's
     * parameter names), given its gradient {@code gradOutput [B, Tq, C]} with respect to the output. New arrays on
     * every call.
     */
    public AttentionGradients backward(INDArray gradOutput) {
        if (pass.closed()) {
            throw new IllegalStateException("backward on a closed pass: close() freed what the backward reads");
        }
        Checks.rank("gradOutput", gradOutput, 3, "[B, Tq, dModel]");
        Checks.shape("gradOutput [B=" + b + ", Tq=" + tq + ", dModel=" + c + "]", gradOutput, b, tq, c);
        Checks.gradientType(gradOutput, type);
        FastAttention.Gradients g = pass.backward(gradOutput);
        return new AttentionGradients(g.query(), g.key(), g.value(), g.parameters());
    }

    /**
     * Gives what only the backward needs (the inputs' copies, projections, heads) back to the layer now, for its
     * next forwards, rather than leaving it for the garbage collector; {@link #output} and {@link #weights} stay
     * valid, {@link #backward} may not be called after (nor while it runs).
     */
    @Override
    public void close() {
        pass.close();
    }
}
