package org.attn4j.nn;

import org.attn4j.config.AttentionMask;
import org.attn4j.config.BlockConfig;
import org.attn4j.config.BlockOutput;
import org.attn4j.engine.BlockEngine;
import org.attn4j.engine.BlockState;
import org.attn4j.kernels.DropoutSeed;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One transformer block, as PyTorch's {@code TransformerEncoderLayer} and {@code TransformerDecoderLayer}.
 *
 * <pre>
 *   post-LN:  x = norm1(x + drop(selfAttn(x)));      x = norm2(x + drop(ff(x)))
 *   pre-LN:   x = x + drop(selfAttn(norm1(x)));      x = x + drop(ff(norm2(x)))
 *   with cross-attention, attention over a memory (the encoder's output) comes between the two, with norm2, and the
 *   feed-forward sublayer then uses norm3.
 * </pre>
 * Post-LN is the original paper's order; pre-LN (Xiong et al. 2020) trains more stably without warmup. The norms
 * are LayerNorm or RMSNorm; self-attention may be grouped-query, with ALiBi biases and a sliding window
 * ({@link BlockConfig#modern} combines the current choices).
 * Sub-layers are named {@code self_attn}, {@code cross_attn}, {@code ff}, {@code norm1..3}.
 */
public final class TransformerBlock extends Module {

    private final BlockConfig config;
    private BlockEngine fast; // the engine of apply, made on its first call
    private final MultiHeadAttention selfAttn, crossAttn;
    private final FeedForward ff;
    private final Norm norm1, norm2, norm3;

    public TransformerBlock(String name, BlockConfig config, DataType dataType) {
        super(name, dataType);
        this.config = config;
        this.selfAttn = child(new MultiHeadAttention(qualify("self_attn"), config.selfAttentionConfig(), dataType));
        this.crossAttn = config.crossAttention()
                ? child(new MultiHeadAttention(qualify("cross_attn"), config.crossAttentionConfig(), dataType)) : null;
        this.ff = child(new FeedForward(qualify("ff"), config.feedForwardConfig(), dataType));
        this.norm1 = norm("norm1");
        this.norm2 = norm("norm2");
        this.norm3 = crossAttn == null ? null : norm("norm3");
    }

    /** The self-attention sublayer (the engine, {@link BlockEngine}, and {@code org.attn4j.samediff} read its arrays). */
    public MultiHeadAttention selfAttention() {
        return selfAttn;
    }

    /** The cross-attention sublayer; null without cross-attention. */
    public MultiHeadAttention crossAttention() {
        return crossAttn;
    }

    /** The feed-forward sublayer. */
    public FeedForward feedForward() {
        return ff;
    }

    /** norm1 (self-attention), norm2 (cross-attention or feed-forward), norm3 (feed-forward after cross; else null). */
    public Norm norm(int i) {
        return i == 1 ? norm1 : i == 2 ? norm2 : norm3;
    }

    /** Its parameters by sublayer (what the engine reads). */
    public org.attn4j.config.BlockWeights weights() {
        boolean cross = crossAttn != null;
        return new org.attn4j.config.BlockWeights(selfAttn.weights(), norm1.weights(),
                cross ? crossAttn.weights() : null, cross ? norm2.weights() : null, ff.weights(),
                (cross ? norm3 : norm2).weights());
    }

    private Norm norm(String local) {
        Norm n = Norms.of(config.norm(), qualify(local), config.dModel(), config.eps(), dataType);
        child((Module) n);
        return n;
    }

    public TransformerBlock(String name, BlockConfig config) {
        this(name, config, DataType.FLOAT);
    }

    /** A stand-alone block (parameter names without a prefix: {@code self_attn.q.weight}, ...). */
    public static TransformerBlock create(BlockConfig config, DataType dataType) {
        return new TransformerBlock("", config, dataType);
    }

    public BlockConfig config() {
        return config;
    }

    /**
     * Eager block without cross-attention on {@code x [B, T, C]} under any mask, on the engine
     * ({@link BlockEngine}).
     */
    public BlockOutput<INDArray> apply(INDArray x, AttentionMask<INDArray> selfMask) {
        requireCrossAttention(false);
        checkInput(x, selfMask);
        return engine().apply(x, null, selfMask, null, inputChecks());
    }

    /**
     * Eager block with cross-attention on {@code x [B, T, C]} and {@code memory [B, Tm, C]} under any masks, on the
     * engine ({@link BlockEngine}).
     */
    public BlockOutput<INDArray> apply(INDArray x, INDArray memory, AttentionMask<INDArray> selfMask,
            AttentionMask<INDArray> memoryMask) {
        requireCrossAttention(true);
        checkInput(x, selfMask);
        checkMemory(x, memory, memoryMask);
        return engine().apply(x, memory, selfMask, memoryMask, inputChecks());
    }

    /**
     * A training forward of a block without cross-attention on the engine: the output {@code [B, T, C]} and
     * weights of {@link #apply(INDArray, AttentionMask)}, and a pass that keeps what its backward needs (in a
     * {@link BlockState} of its own). The pass is the caller's: any number of threads may train one block
     * at once, each with its own passes.
     *
     * <pre>{@code
     * try (BlockPass pass = block.train(x, mask)) {
     *     BlockGradients g = pass.backward(dLossByOutput);              // [B, T, C] in
     *     g.input(); g.parameters().get("ff.linear1.weight");           // dx [B, T, C], dW1 [F, C]
     * }
     * }</pre>
     * No dropout: {@link #train(INDArray, AttentionMask, DropoutSeed)} drops with a seed.
     */
    public BlockPass train(INDArray x, AttentionMask<INDArray> selfMask) {
        return train(x, selfMask, null);
    }

    /**
     * {@link #train(INDArray, AttentionMask)} with the config's dropout (attention weights, residual branches,
     * feed-forward hidden units; inverted) by the masks of {@code dropout} (null: none), those of block 0 of a
     * model trained with that seed; the backward uses the same masks.
     */
    public BlockPass train(INDArray x, AttentionMask<INDArray> selfMask, DropoutSeed dropout) {
        requireCrossAttention(false);
        checkInput(x, selfMask);
        return new BlockPass(engine(), dataType, x, null, selfMask, null, dropout, inputChecks());
    }

    /**
     * A training forward of a block with cross-attention on {@code x [B, T, C]} and {@code memory [B, Tm, C]}:
     * what {@link #apply(INDArray, INDArray, AttentionMask, AttentionMask)} returns, and a pass whose backward
     * also gives the memory's gradient ({@link BlockGradients#memory()}). No dropout.
     */
    public BlockPass train(INDArray x, INDArray memory, AttentionMask<INDArray> selfMask,
            AttentionMask<INDArray> memoryMask) {
        return train(x, memory, selfMask, memoryMask, null);
    }

    /** {@link #train(INDArray, INDArray, AttentionMask, AttentionMask)} with dropout as {@link #train(INDArray, AttentionMask, DropoutSeed)}. */
    public BlockPass train(INDArray x, INDArray memory, AttentionMask<INDArray> selfMask,
            AttentionMask<INDArray> memoryMask, DropoutSeed dropout) {
        requireCrossAttention(true);
        checkInput(x, selfMask);
        checkMemory(x, memory, memoryMask);
        return new BlockPass(engine(), dataType, x, memory, selfMask, memoryMask, dropout, inputChecks());
    }

    /**
     * The engine of {@link #apply} on this block's parameters, made on first use; concurrent calls use states
     * of their own (it keeps a few between calls, sized for the largest input seen).
     */
    private synchronized BlockEngine engine() {
        if (fast == null) {
            fast = BlockEngine.of(config, weights());
        }
        return fast;
    }

    /** Shapes and type; the engine scans for NaN itself, in its copy of the input. */
    private void checkInput(INDArray x, AttentionMask<INDArray> selfMask) {
        String layout = "[B, T, dModel=" + config.dModel() + "]";
        Checks.rank("x", x, 3, layout);
        Checks.shape("x " + layout, x, -1, -1, config.dModel());
        checkType("x", x);
        Checks.mask(selfMask, x.size(0), config.heads(), x.size(1), x.size(1));
    }

    private void checkMemory(INDArray x, INDArray memory, AttentionMask<INDArray> memoryMask) {
        Checks.rank("memory", memory, 3, "[B, Tm, dModel=" + config.dModel() + "]");
        Checks.shape("memory [B, Tm, dModel=" + config.dModel() + "]", memory, x.size(0), -1, config.dModel());
        checkType("memory", memory);
        Checks.mask(memoryMask, x.size(0), config.heads(), x.size(1), memory.size(1));
    }

    private void requireCrossAttention(boolean called) {
        if (config.crossAttention() != called) {
            throw new IllegalStateException("Block '" + name + "' " + (config.crossAttention()
                    ? "has cross-attention and needs a memory: call it with (x, memory, selfMask, memoryMask)"
                    : "has no cross-attention and takes no memory: call it with (x, selfMask)"));
        }
    }
}
