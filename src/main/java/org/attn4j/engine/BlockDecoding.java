package org.attn4j.engine;

import java.util.Arrays;
import org.attn4j.config.AttentionMask;
import org.attn4j.config.BlockConfig;
import org.attn4j.kernels.Blas;
import org.attn4j.kernels.Buf;
import org.attn4j.kernels.Parallel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A block's incremental decoding: the forward schedule on the new tokens' rows with a decoding's {@link CacheRows}
 * in place of the memory rows and of the self-attention's keys and values (its sublayers read the cache in
 * {@code in} and {@code attend}, the attention kernel's {@code forwardCached}).
 */
final class BlockDecoding {
    /** What a block's decoding runs on: its config, dtype, activations' layout, schedule, workers, attentions. */
    record Block(BlockConfig config, DataType type, BlockActivations.Layout layout, BlockSchedule schedule,
            Parallel parallel, AttentionSublayer self, AttentionSublayer cross) {
    }

    private final Block block;
    private final BlockConfig config;

    BlockDecoding(Block block) {
        this.block = block;
        this.config = block.config();
    }

    /** An empty cache for {@code batch} sequences of at most {@code capacity} positions. */
    CacheRows rows(int batch, int capacity) {
        if (batch < 1 || capacity < 1) {
            throw new IllegalArgumentException("cache: batch and capacity must be positive, given " + batch + " and "
                    + capacity);
        }
        return new CacheRows(batch, capacity, block.self().kvWidth(), config.window(), block.type());
    }

    /** An empty cache of a decoder block, with the memory's keys and values computed once. */
    CacheRows rows(int capacity, INDArray memory, INDArray memoryKeep) {
        Shapes.memory(memory, -1, config.dModel());
        if (memoryKeep != null) {
            Shapes.same("memory padding (1 = real key)", memoryKeep, new long[] {memory.size(0), memory.size(1)}, null);
        }
        CacheRows rows = rows((int) memory.size(0), capacity);
        rows.memory((int) memory.size(1), config.dModel());
        Buf m = Buf.of(memory, block.type());
        Shapes.finite("memory", m, memory.shape());
        block.parallel().forRange(rows.batch * rows.memoryLength, BlockSchedule.ROW_GRAIN,
                (r0, r1) -> block.cross().projectMemory(m, rows.memoryKeys, rows.memoryValues, r0, r1));
        rows.memoryKeep = memoryKeep == null ? null : Buf.of(memoryKeep.dup('c').castTo(block.type()));
        return rows;
    }

    /**
     * The new tokens {@code x [B, Tnew, C]} against the cache, their keys and values appended: returns the step's
     * activations ({@code acts} if they fit), whose {@code y} is the output.
     */
    BlockActivations step(INDArray x, CacheRows rows, BlockActivations acts) {
        Shapes.check(x, AttentionMask.none(), config, block.type());
        int b = (int) x.size(0), t = (int) x.size(1);
        if (b != rows.batch || rows.positions() + t > rows.limit) {
            throw new IllegalArgumentException("step: the cache holds " + rows.batch + " rows of " + rows.positions()
                    + " of " + rows.limit + " positions; given x " + Arrays.toString(x.shape()));
        }
        rows.ensure(rows.length + t);
        BlockActivations a = BlockActivations.fit(acts, block.layout(), b, t, rows.memoryLength, false);
        a.dropout = null; // inference drops nothing
        a.step = rows;
        a.rotaryTable(rows.positions());
        BlockActivations.copy(x, a.x, block.type(), block.parallel());
        Shapes.finite("x", a.x, x.shape());
        int total = rows.length + t;
        rows.ensureScores((long) b * config.heads() * t * total);
        Blas.singleThreaded();
        block.schedule().forward(a, block.parallel());
        rows.length = total;
        rows.evict();
        return a;
    }
}
