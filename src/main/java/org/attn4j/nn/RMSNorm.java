package org.attn4j.nn;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Root-mean-square normalization over the last dimension (Zhang and Sennrich 2019) with PyTorch's
 * {@code nn.RMSNorm} semantics: y = x / sqrt(mean(x^2) + eps) * weight, eps inside the root, a learnable
 * gain {@code weight [C]} (initially 1) and no bias. Cheaper than {@link LayerNorm}: no mean is subtracted.
 */
public final class RMSNorm extends Module implements Norm {
    /**
     * @param width C, the size of the normalized last dimension
     * @param eps   added to the mean square inside the square root
     */
    public record Config(int width, double eps) {
        public Config {
            if (width <= 0) {
                throw new IllegalArgumentException("RMSNorm width must be positive, got " + width);
            }
            if (!(eps > 0 && Double.isFinite(eps))) {
                throw new IllegalArgumentException("RMSNorm eps must be a positive finite number, got " + eps);
            }
        }
    }

    private final Config config;
    private volatile FastNorm fast; // the engine of train, made on first use (holds no call's state)
    private final SDVariable weight; // [C]

    public RMSNorm(SameDiff sd, String name, Config config, DataType dataType) {
        super(sd, name, dataType);
        this.config = config;
        this.weight = parameter("weight", Nd4j.ones(dataType, config.width()));
    }

    /** A stand-alone layer in a graph of its own, for eager use with {@link #apply}. */
    public static RMSNorm create(Config config, DataType dataType) {
        return new RMSNorm(SameDiff.create(), "", config, dataType);
    }

    public Config config() {
        return config;
    }

    @Override
    public Normalization kind() {
        return Normalization.RMS;
    }

    /** {@code [..., C] -> [..., C]}. */
    @Override
    public SDVariable forward(SDVariable x) {
        SDVariable flat = sd.reshape(x, -1, config.width()); // [N, C]
        return Graphs.reshapeLike(forwardRows(flat), x, 1, config.width()); // [..., C]
    }

    /** Rows {@code [N, C] -> [N, C]}: no reshapes. */
    SDVariable forwardRows(SDVariable rows) {
        SDVariable meanSquare = rows.mul(rows).mean(true, 1); // [N, 1]
        SDVariable normalized = Graphs.mulExpanded(rows, sd.math.rsqrt(meanSquare.add(config.eps())));
        return Graphs.mulExpanded(normalized, weight);
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
            throw new IllegalArgumentException("RMSNorm '" + name + "' expects input [..., " + config.width()
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
