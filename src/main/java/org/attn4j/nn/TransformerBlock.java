package org.attn4j.nn;

import java.util.Map;
import org.attn4j.config.Activation;
import org.attn4j.config.AttentionMask;
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
 * ({@link Config#modern} combines the current choices).
 * Sub-layers are named {@code self_attn}, {@code cross_attn}, {@code ff}, {@code norm1..3}.
 */
public final class TransformerBlock extends Module {
    /**
     * @param crossAttention whether the block attends to a memory between self-attention and feed-forward (the
     *                    decoder block of an encoder-decoder); without it a block is self-attention and
     *                    feed-forward only (an encoder's block, or a decoder-only model's with causal set)
     * @param dModel      width C
     * @param heads       attention heads H
     * @param ffDim       feed-forward inner width F
     * @param activation  feed-forward nonlinearity
     * @param normFirst   pre-LN when true, post-LN (the original) when false
     * @param causal      whether self-attention is causal (a decoder's usually is)
     * @param dropout     residual and feed-forward dropout, active only while training
     * @param attnDropout dropout on the attention weights, active only while training
     * @param eps         LayerNorm eps
     * @param bias        whether linear layers have biases
     * @param rotary      whether self-attention uses rotary position embeddings (RoPE)
     * @param norm        LayerNorm or RMSNorm (no bias) for norm1..3
     * @param kvHeads     self-attention's key/value heads (H: multi-head; a divisor of H: grouped-query; 1:
     *                    multi-query); cross-attention keeps H
     * @param alibi       whether self-attention adds ALiBi's linear position biases
     * @param window      self-attention's sliding window (query i sees keys j with |i - j| &lt; window); 0: none
     * @param qkvBias     whether self-attention's query, key and value projections have biases even when
     *                    {@code bias} is false (Qwen2)
     * @param rope        rotary frequencies (null: {@link Rope#DEFAULT}); used only with {@code rotary}
     */
    public record Config(boolean crossAttention, int dModel, int heads, int ffDim, Activation activation,
            boolean normFirst, boolean causal, double dropout, double attnDropout, double eps, boolean bias,
            boolean rotary, Normalization norm, int kvHeads, boolean alibi, int window, boolean qkvBias, Rope rope) {
        /** A block as before biases on q, k, v alone and the rotary base could be set. */
        public Config(boolean crossAttention, int dModel, int heads, int ffDim, Activation activation,
                boolean normFirst, boolean causal, double dropout, double attnDropout, double eps, boolean bias,
                boolean rotary, Normalization norm, int kvHeads, boolean alibi, int window) {
            this(crossAttention, dModel, heads, ffDim, activation, normFirst, causal, dropout, attnDropout, eps, bias,
                    rotary, norm, kvHeads, alibi, window, false, Rope.DEFAULT);
        }

        public Config {
            rope = rope == null ? Rope.DEFAULT : rope;
            Checks.notNull("norm", norm);
            // The sub-layer configs check the rest; build them once here so errors surface early.
            new MultiHeadAttention.Config(dModel, heads, dModel, dModel, bias, causal, attnDropout, rotary, kvHeads,
                    alibi, window, qkvBias, rope);
            new FeedForward.Config(dModel, ffDim, activation, bias, dropout);
            new LayerNorm.Config(dModel, eps);
        }

        /**
         * Pre-LN block without cross-attention (as PyTorch's {@code TransformerEncoderLayer} with
         * {@code norm_first}): GELU, LayerNorm, biases, not causal, no dropout.
         */
        public static Config encoder(int dModel, int heads, int ffDim) {
            return new Config(false, dModel, heads, ffDim, Activation.GELU, true, false, 0, 0, 1e-5, true, false,
                    Normalization.LAYER, heads, false, 0, false, Rope.DEFAULT);
        }

        /**
         * Pre-LN block with causal self-attention and cross-attention (as PyTorch's {@code TransformerDecoderLayer}
         * with {@code norm_first} and a causal target mask): GELU, LayerNorm, biases, no dropout.
         */
        public static Config decoder(int dModel, int heads, int ffDim) {
            return encoder(dModel, heads, ffDim).withCrossAttention(true).withCausal(true);
        }

        /**
         * A current-style (LLaMA-like) causal self-attention block: pre-norm with RMSNorm, SwiGLU feed-forward,
         * rotary positions, grouped-query attention with {@code kvHeads} key/value heads, no biases, no dropout.
         */
        public static Config modern(int dModel, int heads, int kvHeads, int ffDim) {
            return encoder(dModel, heads, ffDim).withCausal(true).withActivation(Activation.SWIGLU).withBias(false)
                    .withRotary(true).withNorm(Normalization.RMS).withKvHeads(kvHeads);
        }

        /** The same with crossAttention {@code v}: whether the block attends to a memory. */
        public Config withCrossAttention(boolean v) {
            return new Config(v, dModel, heads, ffDim, activation, normFirst, causal, dropout, attnDropout, eps, bias,
                    rotary, norm, kvHeads, alibi, window, qkvBias, rope);
        }

        /** The same with dModel {@code v}: width C. */
        public Config withDModel(int v) {
            return new Config(crossAttention, v, heads, ffDim, activation, normFirst, causal, dropout, attnDropout, eps,
                    bias, rotary, norm, kvHeads, alibi, window, qkvBias, rope);
        }

        /**
         * The same with {@code v} attention heads; multi-head self-attention stays multi-head (kvHeads follows), a
         * grouped-query one keeps its kvHeads.
         */
        public Config withHeads(int v) {
            return new Config(crossAttention, dModel, v, ffDim, activation, normFirst, causal, dropout, attnDropout,
                    eps, bias, rotary, norm, kvHeads == heads ? v : kvHeads, alibi, window, qkvBias, rope);
        }

        /** The same with ffDim {@code v}: feed-forward inner width F. */
        public Config withFfDim(int v) {
            return new Config(crossAttention, dModel, heads, v, activation, normFirst, causal, dropout, attnDropout,
                    eps, bias, rotary, norm, kvHeads, alibi, window, qkvBias, rope);
        }

        /** The same with activation {@code v}: feed-forward nonlinearity. */
        public Config withActivation(Activation v) {
            return new Config(crossAttention, dModel, heads, ffDim, v, normFirst, causal, dropout, attnDropout, eps,
                    bias, rotary, norm, kvHeads, alibi, window, qkvBias, rope);
        }

        /** The same with normFirst {@code v}: pre-LN ({@code true}) or post-LN. */
        public Config withNormFirst(boolean v) {
            return new Config(crossAttention, dModel, heads, ffDim, activation, v, causal, dropout, attnDropout, eps,
                    bias, rotary, norm, kvHeads, alibi, window, qkvBias, rope);
        }

        /** The same with causal {@code v}: whether self-attention is causal. */
        public Config withCausal(boolean v) {
            return new Config(crossAttention, dModel, heads, ffDim, activation, normFirst, v, dropout, attnDropout, eps,
                    bias, rotary, norm, kvHeads, alibi, window, qkvBias, rope);
        }

        /** The same with dropout {@code v}: residual and feed-forward dropout while training. */
        public Config withDropout(double v) {
            return new Config(crossAttention, dModel, heads, ffDim, activation, normFirst, causal, v, attnDropout, eps,
                    bias, rotary, norm, kvHeads, alibi, window, qkvBias, rope);
        }

        /** The same with attnDropout {@code v}: attention-weight dropout while training. */
        public Config withAttnDropout(double v) {
            return new Config(crossAttention, dModel, heads, ffDim, activation, normFirst, causal, dropout, v, eps,
                    bias, rotary, norm, kvHeads, alibi, window, qkvBias, rope);
        }

        /** The same with eps {@code v}: norm eps. */
        public Config withEps(double v) {
            return new Config(crossAttention, dModel, heads, ffDim, activation, normFirst, causal, dropout, attnDropout,
                    v, bias, rotary, norm, kvHeads, alibi, window, qkvBias, rope);
        }

        /** The same with bias {@code v}: whether linear layers have biases. */
        public Config withBias(boolean v) {
            return new Config(crossAttention, dModel, heads, ffDim, activation, normFirst, causal, dropout, attnDropout,
                    eps, v, rotary, norm, kvHeads, alibi, window, qkvBias, rope);
        }

        /** The same with rotary {@code v}: whether self-attention uses rotary position embeddings. */
        public Config withRotary(boolean v) {
            return new Config(crossAttention, dModel, heads, ffDim, activation, normFirst, causal, dropout, attnDropout,
                    eps, bias, v, norm, kvHeads, alibi, window, qkvBias, rope);
        }

        /** The same with norm {@code v}: LayerNorm or RMSNorm for norm1..3. */
        public Config withNorm(Normalization v) {
            return new Config(crossAttention, dModel, heads, ffDim, activation, normFirst, causal, dropout, attnDropout,
                    eps, bias, rotary, v, kvHeads, alibi, window, qkvBias, rope);
        }

        /** The same with kvHeads {@code v}: self-attention's key/value heads (1: multi-query). */
        public Config withKvHeads(int v) {
            return new Config(crossAttention, dModel, heads, ffDim, activation, normFirst, causal, dropout, attnDropout,
                    eps, bias, rotary, norm, v, alibi, window, qkvBias, rope);
        }

        /** The same with alibi {@code v}: whether self-attention adds ALiBi's position biases. */
        public Config withAlibi(boolean v) {
            return new Config(crossAttention, dModel, heads, ffDim, activation, normFirst, causal, dropout, attnDropout,
                    eps, bias, rotary, norm, kvHeads, v, window, qkvBias, rope);
        }

        /** The same with qkvBias {@code v}: biases on self-attention's q, k and v even without {@code bias}. */
        public Config withQkvBias(boolean v) {
            return new Config(crossAttention, dModel, heads, ffDim, activation, normFirst, causal, dropout, attnDropout,
                    eps, bias, rotary, norm, kvHeads, alibi, window, v, rope);
        }

        /** The same with rope {@code v}: rotary frequencies. */
        public Config withRope(Rope v) {
            return new Config(crossAttention, dModel, heads, ffDim, activation, normFirst, causal, dropout, attnDropout,
                    eps, bias, rotary, norm, kvHeads, alibi, window, qkvBias, v);
        }

        /** The same with window {@code v}: self-attention's sliding window (0: none). */
        public Config withWindow(int v) {
            return new Config(crossAttention, dModel, heads, ffDim, activation, normFirst, causal, dropout, attnDropout,
                    eps, bias, rotary, norm, kvHeads, alibi, v, qkvBias, rope);
        }
    }

    private final Config config;
    private org.attn4j.nn.FastBlock fast; // the engine of apply, made on its first call
    private final MultiHeadAttention selfAttn, crossAttn;
    private final FeedForward ff;
    private final Norm norm1, norm2, norm3;

    public TransformerBlock(String name, Config config, DataType dataType) {
        super(name, dataType);
        this.config = config;
        int c = config.dModel();
        MultiHeadAttention.Config attn = MultiHeadAttention.Config.of(c, config.heads()).withBias(config.bias())
                .withDropout(config.attnDropout());
        this.selfAttn = child(new MultiHeadAttention(qualify("self_attn"), attn.withCausal(config.causal())
                .withRotary(config.rotary()).withKvHeads(config.kvHeads()).withAlibi(config.alibi())
                .withWindow(config.window()).withQkvBias(config.qkvBias()).withRope(config.rope()), dataType));
        this.crossAttn = config.crossAttention()
                ? child(new MultiHeadAttention(qualify("cross_attn"), attn, dataType)) : null;
        this.ff = child(new FeedForward(qualify("ff"), new FeedForward.Config(c, config.ffDim(),
                config.activation(), config.bias(), config.dropout()), dataType));
        this.norm1 = norm("norm1");
        this.norm2 = norm("norm2");
        this.norm3 = crossAttn == null ? null : norm("norm3");
    }

    /** The self-attention sublayer (the engine, {@link FastBlock}, and {@code org.attn4j.samediff} read its arrays). */
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
        Norm n = Norm.of(config.norm(), qualify(local), config.dModel(), config.eps(), dataType);
        child((Module) n);
        return n;
    }

    public TransformerBlock(String name, Config config) {
        this(name, config, DataType.FLOAT);
    }

    /** A stand-alone block (parameter names without a prefix: {@code self_attn.q.weight}, ...). */
    public static TransformerBlock create(Config config, DataType dataType) {
        return new TransformerBlock("", config, dataType);
    }

    public Config config() {
        return config;
    }

    /**
     * Eager block without cross-attention on {@code x [B, T, C]} under any mask, on the engine
     * ({@link org.attn4j.nn.FastBlock}).
     */
    public BlockOutput<INDArray> apply(INDArray x, AttentionMask<INDArray> selfMask) {
        requireCrossAttention(false);
        checkInput(x, selfMask);
        return engine().apply(x, null, selfMask, null, inputChecks());
    }

    /**
     * Eager block with cross-attention on {@code x [B, T, C]} and {@code memory [B, Tm, C]} under any masks, on the
     * engine ({@link org.attn4j.nn.FastBlock}).
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
     * {@link FastBlock.State} of its own). The pass is the caller's: any number of threads may train one block
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
    private synchronized org.attn4j.nn.FastBlock engine() {
        if (fast == null) {
            fast = FastBlock.of(config, weights());
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
