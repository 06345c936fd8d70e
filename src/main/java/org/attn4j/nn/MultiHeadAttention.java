package org.attn4j.nn;

import org.attn4j.config.AttentionConfig;
import org.attn4j.config.AttentionMask;
import org.attn4j.config.AttentionOutput;
import org.attn4j.engine.AttentionEngine;
import org.attn4j.kernels.DropoutSeed;
import org.attn4j.kernels.Parallel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Multi-head attention with learnable query, key, value and output projections
 * (Vaswani et al. 2017, section 3.2.2), computing what PyTorch's {@code nn.MultiheadAttention} does.
 *
 * <p>Parameters: {@code q.weight [C, C]}, {@code k.weight [KV, kDim]}, {@code v.weight [KV, vDim]},
 * {@code out.weight [C, C]}, and with {@code bias} a {@code .bias} for each ([C], [KV], [KV], [C]), where
 * KV = kvHeads * D is C unless the layer is grouped-query (fewer key/value heads, each shared by
 * H / kvHeads query heads; a decoding cache holds only the kvHeads heads).
 */
public final class MultiHeadAttention extends Module {

    private final AttentionConfig config;
    private volatile AttentionEngine fast; // the engine of apply and train, made on first use (holds no call's state)
    private final Linear q, k, v, out;

    public MultiHeadAttention(String name, AttentionConfig config, DataType dataType) {
        super(name, dataType);
        this.config = config;
        int c = config.dModel();
        this.q = projection("q", c, c);
        this.k = projection("k", config.kDim(), config.kvWidth());
        this.v = projection("v", config.vDim(), config.kvWidth());
        this.out = child(new Linear(qualify("out"), new Linear.Config(c, c, config.bias()),
                Linear.Init.TORCH_DEFAULT, dataType));
    }

    public MultiHeadAttention(String name, AttentionConfig config) {
        this(name, config, DataType.FLOAT);
    }

    /** A stand-alone layer (parameter names without a prefix: {@code q.weight}, ...). */
    public static MultiHeadAttention create(AttentionConfig config, DataType dataType) {
        return new MultiHeadAttention("", config, dataType);
    }

    private Linear projection(String local, int in, int out) {
        return child(new Linear(qualify(local), new Linear.Config(in, out, config.bias() || config.qkvBias()),
                Linear.Init.XAVIER_UNIFORM, dataType));
    }

    /** The projections: query, key, value, output (the engine and {@code org.attn4j.samediff} read their arrays). */
    public Linear[] projections() {
        return new Linear[] {q, k, v, out};
    }

    public AttentionConfig config() {
        return config;
    }

    /** Its projections' arrays by role (what the engine reads). */
    public org.attn4j.config.AttentionWeights weights() {
        return new org.attn4j.config.AttentionWeights(q.weights(), k.weights(), v.weights(), out.weights());
    }

    /** Eager self-attention on {@code x [B, T, C]}. */
    public AttentionOutput<INDArray> apply(INDArray x, AttentionMask<INDArray> mask) {
        return apply(x, x, x, mask);
    }

    /**
     * Eager attention on {@code query [B, Tq, C]}, {@code key [B, Tk, kDim]}, {@code value [B, Tk, vDim]}
     * under any mask, on the engine ({@link AttentionEngine}); {@code org.attn4j.samediff.MultiHeadAttentionGraph} is
     * the same layer inside a SameDiff graph.
     * Safe for any number of threads at once.
     */
    public AttentionOutput<INDArray> apply(INDArray query, INDArray key, INDArray value,
            AttentionMask<INDArray> mask) {
        check(query, key, value, mask);
        AttentionEngine.Pass pass = engine().apply(query, key, value, mask, inputChecks()); // it scans its copy for NaN
        return new AttentionOutput<>(pass.output(), pass.weights());
    }

    /**
     * A training forward on the engine: the output {@code [B, Tq, C]} and weights {@code [B, H, Tq, Tk]} of
     * {@link #apply}, and a pass that keeps what its backward needs. The pass is the caller's: any number of
     * threads may train one layer at once, each with its own passes.
     *
     * <pre>{@code
     * AttentionPass pass = mha.train(x, x, x, mask);                    // self-attention
     * AttentionGradients g = pass.backward(dLossByOutput);              // [B, Tq, C] in
     * g.input(); g.parameters().get("q.weight");                        // dx [B, T, C], dWq [C, C]
     * }</pre>
     * No dropout: {@link #train(INDArray, INDArray, INDArray, AttentionMask, DropoutSeed)} drops with a seed.
     */
    public AttentionPass train(INDArray query, INDArray key, INDArray value, AttentionMask<INDArray> mask) {
        return train(query, key, value, mask, null);
    }

    /**
     * {@link #train(INDArray, INDArray, INDArray, AttentionMask)}, with the attention weights dropped (the
     * layer's dropout p, inverted) by the masks of {@code dropout} (null: none); the backward uses the same masks.
     */
    public AttentionPass train(INDArray query, INDArray key, INDArray value, AttentionMask<INDArray> mask,
            DropoutSeed dropout) {
        check(query, key, value, mask);
        return new AttentionPass(engine().forward(query, key, value, mask, dropout, inputChecks()), dataType,
                (int) query.size(0), (int) query.size(1), config.dModel());
    }

    private void check(INDArray query, INDArray key, INDArray value, AttentionMask<INDArray> mask) {
        Checks.rank("query", query, 3, "[B, Tq, dModel]");
        Checks.rank("key", key, 3, "[B, Tk, kDim]");
        Checks.rank("value", value, 3, "[B, Tk, vDim]");
        long b = query.size(0), tq = query.size(1), tk = key.size(1);
        Checks.shape("query [B, Tq, dModel=" + config.dModel() + "]", query, -1, -1, config.dModel());
        Checks.shape("key [B, Tk, kDim=" + config.kDim() + "]", key, b, -1, config.kDim());
        Checks.shape("value [B, Tk, vDim=" + config.vDim() + "]", value, b, tk, config.vDim());
        checkType("query", query);
        checkType("key", key);
        checkType("value", value);
        Checks.mask(mask, b, config.heads(), tq, tk);
    }

    private AttentionEngine engine() {
        AttentionEngine f = fast;
        if (f == null) {
            synchronized (this) {
                if (fast == null) {
                    fast = new AttentionEngine(config, weights(), Parallel.shared());
                }
                f = fast;
            }
        }
        return f;
    }
}
