package org.attn4j.nn;

import java.util.Arrays;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One training forward of a {@link LayerNorm} or {@link RMSNorm} ({@link NormLayer#train}): its output and what
 * {@link #backward} needs (xhat and rstd), kept on the engine. The pass is the caller's; nothing in it is changed by
 * {@link #backward}, which may run any number of times, from any thread, until {@link #close}.
 */
public final class NormPass implements AutoCloseable {
    private final FastNorm.Pass pass;
    private final DataType type;
    private final long[] shape; // x's

    NormPass(FastNorm.Pass pass, DataType type, long[] shape) {
        this.pass = pass;
        this.type = type;
        this.shape = shape;
    }

    /** The normalized input, {@code [..., C]} like x. */
    public INDArray output() {
        return pass.output();
    }

    /**
     * Gradients of a loss with respect to x and the parameters ({@code weight}, a LayerNorm's {@code bias}, by the
     * layer's names), given its gradient {@code gradOutput} (x's shape) with respect to the output. New arrays on
     * every call.
     */
    public LayerGradients backward(INDArray gradOutput) {
        if (pass.closed()) {
            throw new IllegalStateException("backward on a closed pass: close() freed what the backward reads");
        }
        Checks.notNull("gradOutput", gradOutput);
        if (!Arrays.equals(gradOutput.shape(), shape)) {
            throw new IllegalArgumentException("gradOutput has shape " + Arrays.toString(gradOutput.shape())
                    + ", expected the output's " + Arrays.toString(shape));
        }
        Checks.gradientType(gradOutput, type);
        InputGradients g = pass.backward(gradOutput);
        return new LayerGradients(g.input(), g.parameters());
    }

    /**
     * Frees what only the backward needs (xhat, rstd) now rather than when the garbage collector finds it;
     * {@link #output} stays valid, {@link #backward} may not be called after.
     */
    @Override
    public void close() {
        pass.close();
    }
}
