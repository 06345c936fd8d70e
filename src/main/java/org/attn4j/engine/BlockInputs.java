package org.attn4j.engine;

import java.util.Arrays;
import org.attn4j.config.AttentionMask;
import org.attn4j.config.BlockConfig;
import org.attn4j.kernels.Parallel;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A {@link BlockEngine} call's inputs, checked and copied into its activations (fitted to their shape): padded rows
 * {@code x [B, T, C]} and {@code memory [B, S, C]}, or a model's packed rows {@code x [N, C]} and
 * {@code memory [M, C]} ({@link Packing}).
 */
final class BlockInputs {
    private BlockInputs() {
    }

    /**
     * Padded rows, with the masks' shapes checked against them; {@code finiteChecks} false for inputs the engine
     * computed itself (no scan for NaN and infinity).
     */
    static BlockActivations padded(BlockActivations current, BlockActivations.Layout layout, Parallel parallel,
            INDArray x, AttentionMask<INDArray> mask, INDArray memory, AttentionMask<INDArray> memoryMask,
            boolean finiteChecks) {
        BlockConfig config = layout.config();
        boolean cross = config.crossAttention();
        Shapes.check(x, mask, config, layout.type());
        int b = (int) x.size(0), t = (int) x.size(1), s = 0;
        if (cross) {
            Shapes.memory(memory, b, config.dModel());
            s = (int) memory.size(1);
            Shapes.mask(memoryMask, b, config.heads(), t, s);
        }
        BlockActivations a = BlockActivations.fit(current, layout, b, t, s);
        BlockActivations.copy(x, a.x, layout.type(), parallel);
        if (finiteChecks) {
            Shapes.finite("x", a.x, x.shape());
        }
        if (cross) {
            BlockActivations.copy(memory, a.memory, layout.type(), parallel);
            if (finiteChecks) {
                Shapes.finite("memory", a.memory, memory.shape());
            }
        }
        return a;
    }

    /** Packed rows: {@code packing}'s N rows of x and (a decoder block's) M rows of memory. */
    static BlockActivations packed(BlockActivations current, BlockActivations.Layout layout, Parallel parallel,
            INDArray x, INDArray memory, Packing packing) {
        BlockConfig config = layout.config();
        boolean cross = config.crossAttention();
        int b = packing.starts().length - 1;
        BlockActivations a = BlockActivations.fit(current, layout, b, packing.t(), cross ? packing.s() : 0);
        a.n = packing.starts()[b];
        a.starts = packing.starts();
        a.rowPos = packing.rowPos();
        if (x.length() != (long) a.n * config.dModel()) {
            throw new IllegalArgumentException("packed rows: expected " + a.n + " x " + config.dModel() + ", given "
                    + Arrays.toString(x.shape()));
        }
        BlockActivations.copy(x, a.x, layout.type(), parallel);
        if (cross) {
            a.memStarts = packing.memStarts();
            a.m = a.memStarts[b];
            if (memory == null || memory.length() != (long) a.m * config.dModel()) {
                throw new IllegalArgumentException("packed memory: expected " + a.m + " x " + config.dModel()
                        + ", given " + (memory == null ? "null" : Arrays.toString(memory.shape())));
            }
            BlockActivations.copy(memory, a.memory, layout.type(), parallel);
        }
        return a;
    }
}
