package org.attn4j.engine;

import java.util.Map;
import org.attn4j.kernels.Parallel;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One caller's state of a {@link BlockEngine} block: the activations a forward keeps for its backward, and the
 * parameter gradients. Not for two threads at once; make one per thread with {@code BlockEngine.newState()}.
 */
public final class BlockState {
    private final BlockParts parts;
    private final BlockSchedule schedule;
    private final Parallel parallel;
    private final int dModel;
    BlockActivations a; // the last forward's (the engine sets it)
    private GradientBuffers grads; // made on first use: a state that only runs forward never needs them
    private BackwardScratch scratch; // this state's own (made on first use), or a model's blocks' (share)
    private boolean sharedScratch;

    BlockState(BlockParts parts, BlockSchedule schedule, Parallel parallel, int dModel) {
        this.parts = parts;
        this.schedule = schedule;
        this.parallel = parallel;
        this.dModel = dModel;
    }

    /** Frees this state's activations and gradients now (it must not be used after). */
    public void close() {
        if (a != null) {
            a.close();
            a = null;
        }
        if (grads != null) {
            grads.close();
            grads = null;
        }
        if (scratch != null && !sharedScratch) {
            scratch.close();
        }
        scratch = null;
    }

    /** Takes the backward's arrays from {@code shared}, which the caller owns: a model's blocks share one. */
    void share(BackwardScratch shared) {
        scratch = shared;
        sharedScratch = true;
    }

    BackwardScratch scratch() {
        if (scratch == null) {
            scratch = new BackwardScratch(parallel.threads());
        }
        return scratch;
    }

    /** Bytes of the last forward's arrays of {@code kind}. */
    long bytes(Arena.Kind kind) {
        return a == null ? 0 : a.bytes(kind);
    }

    /** Bytes of this state's own backward rows, or ({@code shares}) gradient shares; 0 when they are a model's. */
    long ownScratchBytes(boolean shares) {
        return scratch == null || sharedScratch ? 0 : shares ? scratch.shareBytes() : scratch.rowBytes();
    }

    /** Bytes of the gradient arrays. */
    long gradientBytes() {
        return grads == null ? 0 : grads.bytes();
    }

    /**
     * Frees the last forward's activations now and keeps the gradients: a model's activation checkpointing
     * ({@code ModelEngine}) holds one block's activations at a time. The next forward makes them again.
     */
    void releaseActivations() {
        if (a != null) {
            a.close();
            a = null;
        }
    }

    /** Gradients of this state's last backward by parameter name, same shapes as the parameters. */
    public Map<String, INDArray> gradients() {
        return buffers().gradients;
    }

    GradientBuffers buffers() {
        if (grads == null) {
            grads = new GradientBuffers(parts.parameters, parts.frozen, schedule.linearGradients(),
                    schedule.outputRowGradients(), scratch());
        }
        return grads;
    }

    /** The gradient with respect to the memory {@code [B, S, C]} of the last backward (decoder blocks). */
    public INDArray memoryGradient() {
        if (a == null || a.dMemory == null) {
            return null;
        }
        return a.memStarts != null ? Shapes.view(a.dMemory, a.m, dModel)
                : Shapes.view(a.dMemory, a.b, a.s, dModel);
    }

    /** Ends a backward pass on this state's own scratch (a model's shared scratch is the model's to end). */
    void endPass() {
        if (!sharedScratch) {
            scratch.endPass();
        }
    }
}
