package org.attn4j.samediff;

import org.attn4j.config.AttentionMask;
import org.attn4j.config.BlockConfig;
import org.attn4j.config.AttentionOutput;
import org.attn4j.config.BlockOutput;
import org.attn4j.nn.KvCache;
import org.attn4j.nn.TransformerBlock;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * A {@link TransformerBlock} in a SameDiff graph, from the block's config and weights (its parameters become
 * variables of the graph holding the block's arrays, named as the parameters): what the engine's
 * {@code apply} computes, for users who compose blocks in their own graphs, and as an independent reference in
 * tests. Dropout acts only while SameDiff trains ({@link Dropout}).
 *
 * <pre>{@code
 * TransformerBlock block = new TransformerBlock("block0", BlockConfig.encoder(64, 4, 256), DataType.FLOAT);
 * SameDiff sd = SameDiff.create();
 * SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, -1, 64);                  // [B, T, C]
 * BlockOutput<SDVariable> o = new TransformerBlockGraph(sd, block).forward(x, AttentionMask.none());
 * }</pre>
 */
public final class TransformerBlockGraph {
    private final BlockConfig config;
    private final String name;
    private final MultiHeadAttentionGraph selfAttn, crossAttn;
    private final FeedForwardGraph ff;
    private final NormGraph norm1, norm2, norm3;

    public TransformerBlockGraph(SameDiff sd, TransformerBlock block) {
        this.config = block.config();
        this.name = block.name();
        this.selfAttn = new MultiHeadAttentionGraph(sd, block.selfAttention());
        this.crossAttn = block.crossAttention() == null ? null
                : new MultiHeadAttentionGraph(sd, block.crossAttention());
        this.ff = new FeedForwardGraph(sd, block.feedForward());
        this.norm1 = new NormGraph(sd, block.norm(1));
        this.norm2 = new NormGraph(sd, block.norm(2));
        this.norm3 = block.norm(3) == null ? null : new NormGraph(sd, block.norm(3));
    }

    /** A block without cross-attention: {@code x [B, T, C] -> [B, T, C]}. */
    public BlockOutput<SDVariable> forward(SDVariable x, AttentionMask<SDVariable> selfMask) {
        requireCrossAttention(false);
        return run(x, selfMask, null, null);
    }

    /** A block with cross-attention: {@code x [B, T, C]} attending to itself and to {@code memory [B, Tm, C]}. */
    public BlockOutput<SDVariable> forward(SDVariable x, SDVariable memory, AttentionMask<SDVariable> selfMask,
            AttentionMask<SDVariable> memoryMask) {
        requireCrossAttention(true);
        java.util.Objects.requireNonNull(memory, "memory");
        return run(x, selfMask, memory, memoryMask);
    }

    /** A block's output and its grown self-attention cache, for incremental decoding. */
    public record Step(BlockOutput<SDVariable> output, KvCache<SDVariable> cache) {
    }

    /**
     * Incremental forward of new tokens {@code x [B, Tnew, C]} after the cached self-attention keys
     * and values {@code past} (null for the first step, which returns the cache of the whole input);
     * {@code memory} and its mask are null for a block without cross-attention.
     */
    public Step step(SDVariable x, KvCache<SDVariable> past, SDVariable memory, AttentionMask<SDVariable> memoryMask) {
        requireCrossAttention(memory != null);
        return run(x, AttentionMask.none(), memory, memoryMask, past);
    }

    private BlockOutput<SDVariable> run(SDVariable x, AttentionMask<SDVariable> selfMask, SDVariable memory,
            AttentionMask<SDVariable> memoryMask) {
        return run(x, selfMask, memory, memoryMask, null).output();
    }

    private Step run(SDVariable x, AttentionMask<SDVariable> selfMask, SDVariable memory,
            AttentionMask<SDVariable> memoryMask, KvCache<SDVariable> past) {
        boolean pre = config.normFirst();
        int c = config.dModel();
        // The block works on rows [B*T, C]: every sub-layer but attention is position-wise, and
        // reshaping once here saves SameDiff several shape ops per linear layer and norm.
        SequenceShape xs = SequenceShape.of(x);
        SDVariable rows = SequenceShape.rows(x, c); // [B*T, C]
        // 1. Self-attention sub-layer (over the cache and the new tokens when decoding).
        SDVariable in = pre ? norm1.forwardRows(rows) : rows;
        MultiHeadAttentionGraph.CachedAttention self = selfAttn.attendRows(in, xs, in, in, xs, selfMask, past);
        rows = residual(rows, self.attention().output(), pre ? null : norm1);
        // 2. Cross-attention over the memory (blocks with cross-attention only).
        SDVariable crossWeights = null;
        if (crossAttn != null) {
            SequenceShape ms = SequenceShape.of(memory);
            SDVariable memoryRows = SequenceShape.rows(memory, c); // [B*Tm, C]
            in = pre ? norm2.forwardRows(rows) : rows;
            AttentionOutput<SDVariable> cross = crossAttn.attendRows(in, xs, memoryRows, memoryRows, ms, memoryMask,
                    null).attention();
            rows = residual(rows, cross.output(), pre ? null : norm2);
            crossWeights = cross.weights();
        }
        // 3. Feed-forward sub-layer.
        NormGraph last = crossAttn == null ? norm2 : norm3;
        in = pre ? last.forwardRows(rows) : rows;
        rows = residual(rows, ff.forwardRows(in), pre ? null : last);
        return new Step(new BlockOutput<>(xs.unflatten(rows, c), self.attention().weights(), crossWeights), self.cache());
    }

    /** x + dropout(sublayer output), normalized afterwards in post-LN; all rows [B*T, C]. */
    private SDVariable residual(SDVariable x, SDVariable sublayer, NormGraph postNorm) {
        SDVariable sum = x.add(Dropout.apply(sublayer, config.dropout()));
        return postNorm == null ? sum : postNorm.forwardRows(sum);
    }

    private void requireCrossAttention(boolean called) {
        if (config.crossAttention() != called) {
            throw new IllegalStateException("Block '" + name + "' " + (config.crossAttention()
                    ? "has cross-attention and needs a memory: call it with (x, memory, selfMask, memoryMask)"
                    : "has no cross-attention and takes no memory: call it with (x, selfMask)"));
        }
    }
}
