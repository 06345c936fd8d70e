package org.attn4j.nn;

import java.util.LinkedHashMap;
import java.util.Map;
import org.attn4j.config.AttentionMask;
import org.attn4j.config.AttentionOutput;
import org.attn4j.engine.BlockEngine;
import org.attn4j.engine.BlockState;
import org.attn4j.kernels.Buf;
import org.attn4j.kernels.DropoutSeed;
import org.attn4j.kernels.RowMath;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One training forward of a {@link TransformerBlock} on the engine ({@link TransformerBlock#train}): its output and
 * attention weights, and a {@link BlockState} of its own holding what {@link #backward} needs. The pass is
 * the caller's: any number of threads may train one block at once, each with its own passes.
 *
 * <p>Every array it hands out is a copy of the caller's own, so {@link #close} (which frees the kept activations
 * now rather than when the garbage collector finds them) leaves them valid. {@link #backward} may run any number
 * of times until then; one pass serves one thread at a time.
 */
public final class BlockPass implements AutoCloseable {
    private final BlockEngine engine;
    private final BlockState state;
    private final DataType type;
    private final boolean finiteChecks;
    private final int b, t, c;
    private final INDArray output, selfWeights, crossWeights; // [B, T, C], [B, H, T, T], [B, H, T, Tm] or null
    private boolean closed;

    /** Runs the forward; {@code memory} and {@code memoryMask} are null for a block without cross-attention. */
    BlockPass(BlockEngine engine, DataType type, INDArray x, INDArray memory, AttentionMask<INDArray> selfMask,
            AttentionMask<INDArray> memoryMask, DropoutSeed dropout, boolean finiteChecks) {
        this.engine = engine;
        this.type = type;
        this.finiteChecks = finiteChecks;
        this.b = (int) x.size(0);
        this.t = (int) x.size(1);
        this.c = engine.config().dModel();
        this.state = engine.newState();
        // The lone block draws the dropout masks of block 0 of a model trained with the same seed.
        AttentionOutput<INDArray> out = engine.forward(state, x, selfMask, memory,
                memoryMask == null ? AttentionMask.none() : memoryMask, dropout, 0, finiteChecks);
        this.output = copy(out.output());
        this.selfWeights = copy(out.weights());
        INDArray cross = engine.crossWeights(state);
        this.crossWeights = cross == null ? null : copy(cross);
    }

    /** The block's output {@code [B, T, C]}. */
    public INDArray output() {
        return output;
    }

    /** Self-attention weights {@code [B, H, T, T]} (before dropout). */
    public INDArray selfWeights() {
        return selfWeights;
    }

    /** Cross-attention weights {@code [B, H, T, Tm]} over the memory (before dropout); null without cross-attention. */
    public INDArray crossWeights() {
        return crossWeights;
    }

    /**
     * Gradients of a loss with respect to x, the memory (blocks with cross-attention) and every parameter (by the
     * block's parameter names), given its gradient {@code gradOutput [B, T, C]} with respect to the output.
     * New arrays on every call.
     */
    public synchronized BlockGradients backward(INDArray gradOutput) {
        if (closed) {
            throw new IllegalStateException("backward on a closed pass: its activations are freed; run train again");
        }
        Checks.rank("gradOutput", gradOutput, 3, "[B, T, dModel]");
        Checks.shape("gradOutput [B=" + b + ", T=" + t + ", dModel=" + c + "]", gradOutput, b, t, c);
        if (gradOutput.dataType() != type) {
            throw new IllegalArgumentException("gradOutput is " + gradOutput.dataType()
                    + " but the block's parameters are " + type + "; cast it with castTo(" + type + ")");
        }
        INDArray dx = copy(engine.backward(state, gradOutput, finiteChecks));
        INDArray dMemory = state.memoryGradient();
        Map<String, INDArray> parameters = new LinkedHashMap<>();
        state.gradients().forEach((name, g) -> parameters.put(name, copy(g)));
        return new BlockGradients(dx, dMemory == null ? null : copy(dMemory), parameters);
    }

    /** Frees the activations kept for the backward now; the pass must not run backward after. */
    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            state.close();
        }
    }

    /** A c-order copy of a view of the state's arrays, by a Java copy (an ND4J op would wake OpenMP's threads). */
    private INDArray copy(INDArray view) {
        INDArray into = Nd4j.createUninitialized(type, view.shape());
        RowMath.copy(Buf.of(view), 0, Buf.of(into), 0, Math.toIntExact(view.length()));
        return into;
    }

}
