package org.attn4j.nn;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Layer normalization over the last dimension with PyTorch's semantics: biased variance, eps inside
 * the square root, learnable gain {@code weight [C]} (initially 1) and {@code bias [C]} (initially 0).
 * y = (x - mean) / sqrt(var + eps) * weight + bias.
 */
public final class LayerNorm extends Module implements Norm {
    /**
     * @param width C, the size of the normalized last dimension
     * @param eps   added to the variance inside the square root (PyTorch's default 1e-5)
     */
    public record Config(int width, double eps) {
        public Config {
            if (width <= 0) {
                throw new IllegalArgumentException("LayerNorm width must be positive, got " + width);
            }
            if (!(eps > 0 && Double.isFinite(eps))) {
                throw new IllegalArgumentException("LayerNorm eps must be a positive finite number, got " + eps);
            }
        }

        /** PyTorch's default eps 1e-5. */
        public static Config of(int width) {
            return new Config(width, 1e-5);
        }
    }

    private final Config config;
    private volatile FastNorm fast; // the engine of train, made on first use (holds no call's state)
    private final SDVariable weight; // [C]
    private final SDVariable bias; // [C]

    public LayerNorm(SameDiff sd, String name, Config config, DataType dataType) {
        super(sd, name, dataType);
        this.config = config;
        this.weight = parameter("weight", Nd4j.ones(dataType, config.width()));
        this.bias = parameter("bias", Nd4j.zeros(dataType, config.width()));
    }

    public LayerNorm(SameDiff sd, String name, Config config) {
        this(sd, name, config, DataType.FLOAT);
    }

    /** A stand-alone layer in a graph of its own, for eager use with {@link #apply}. */
    public static LayerNorm create(Config config, DataType dataType) {
        return new LayerNorm(SameDiff.create(), "", config, dataType);
    }

    public Config config() {
        return config;
    }

    @Override
    public Normalization kind() {
        return Normalization.LAYER;
    }

    /** {@code [..., C] -> [..., C]}. */
    @Override
    public SDVariable forward(SDVariable x) {
        // Reduce over axis 1 of a [N, C] view: in M2.1, SameDiff's mean(keepDims, -1) on rank 3 is wrong.
        SDVariable flat = sd.reshape(x, -1, config.width()); // [N, C]
        return Graphs.reshapeLike(forwardRows(flat), x, 1, config.width()); // [..., C]
    }

    /** Rows {@code [N, C] -> [N, C]}: no reshapes. */
    SDVariable forwardRows(SDVariable rows) {
        SDVariable centered = rows.sub(rows.mean(true, 1)); // [N, C]
        SDVariable variance = centered.mul(centered).mean(true, 1); // [N, 1], biased
        SDVariable normalized = Graphs.mulExpanded(centered, sd.math.rsqrt(variance.add(config.eps())));
        return Graphs.mulExpanded(normalized, weight).add(bias);
    }

    /**
     * Eager, on the engine: {@code x [..., C] -> [..., C]} (an empty {@code x} gives an empty result). Safe for any number
     * of threads at once; {@code forward(SDVariable)} is the same layer inside a SameDiff graph.
     */
    public INDArray apply(INDArray x) {
        check(x);
        checkDataType("x", x);
        return x.length() == 0 ? x.dup() : train(x).output();
    }

    /**
     * A training forward on the engine ({@link FastNorm}): the output {@code [..., C]} of {@link #apply} and a
     * pass that keeps what its backward needs. The pass is the caller's: any number of threads may train one
     * layer at once, each with its own passes.
     *
     * <pre>{@code
     * FastNorm.Pass pass = norm.train(x);                        // x [..., C]
     * LayerGradients g = pass.backward(dLossByOutput);           // [..., C] in
     * g.input(); g.parameters().get("weight");                   // dx [..., C], dweight [C]
     * }</pre>
     */
    public FastNorm.Pass train(INDArray x) {
        check(x);
        if (x.length() == 0) {
            throw new IllegalArgumentException("x is empty (shape " + java.util.Arrays.toString(x.shape())
                    + "); expected [..., " + config.width() + "] with every size at least 1");
        }
        checkType("x", x);
        return engine().forward(x, inputChecks()); // the engine scans x for NaN
    }

    private void check(INDArray x) {
        Checks.notNull("x", x);
        if (x.rank() == 0 || x.size(-1) != config.width()) {
            throw new IllegalArgumentException("LayerNorm '" + name + "' expects input [..., " + config.width()
                    + "], got shape " + java.util.Arrays.toString(x.shape()));
        }
    }

    private FastNorm engine() {
        FastNorm f = fast;
        if (f == null) {
            synchronized (this) {
                if (fast == null) {
                    fast = FastNorm.of(this, org.attn4j.kernels.Parallel.shared());
                }
                f = fast;
            }
        }
        return f;
    }
}
