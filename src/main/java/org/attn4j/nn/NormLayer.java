package org.attn4j.nn;

import org.attn4j.config.Normalization;
import org.attn4j.engine.NormEngine;
import org.attn4j.kernels.Parallel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * What {@link LayerNorm} and {@link RMSNorm} share outside a graph, all but their config: the gain (and
 * LayerNorm's bias), eager use and training on the engine ({@link NormEngine}) over the last dimension
 * {@code [..., C]}. The kind alone tells them apart, as it does in the engine's {@code NormKernel}.
 */
public abstract class NormLayer extends Module implements Norm {
    private final Normalization kind;
    private final double eps;
    private final INDArray weight; // [C]
    private final INDArray bias; // [C], or null (RMSNorm)
    private volatile NormEngine fast; // the engine of apply and train, made on first use (holds no call's state)

    /** A norm of {@code kind} over {@code width} features: gain {@code weight} 1, and a LayerNorm's {@code bias} 0. */
    NormLayer(String name, DataType dataType, Normalization kind, int width, double eps) {
        super(name, dataType);
        this.kind = kind;
        this.eps = eps;
        this.weight = parameter("weight", Nd4j.ones(dataType, width));
        this.bias = kind == Normalization.LAYER ? parameter("bias", Nd4j.zeros(dataType, width)) : null;
    }

    /** What either norm's config checks: {@code layer} names it in the message. */
    static void checkConfig(String layer, int width, double eps) {
        if (width <= 0) {
            throw new IllegalArgumentException(layer + " width must be positive, got " + width);
        }
        if (!(eps > 0 && Double.isFinite(eps))) {
            throw new IllegalArgumentException(layer + " eps must be a positive finite number, got " + eps);
        }
    }

    @Override
    public Normalization kind() {
        return kind;
    }

    @Override
    public INDArray weightArray() {
        return weight;
    }

    @Override
    public INDArray biasArray() {
        return bias;
    }

    @Override
    public int width() {
        return (int) weight.length();
    }

    @Override
    public double eps() {
        return eps;
    }

    /**
     * Eager, on the engine: {@code x [..., C] -> [..., C]} (an empty {@code x} gives an empty result). Safe for
     * any number of threads at once; {@code org.attn4j.samediff.NormGraph} is the same layer inside a SameDiff graph.
     */
    public INDArray apply(INDArray x) {
        check(x);
        checkType("x", x);
        if (x.length() == 0) {
            return x.dup();
        }
        NormEngine.Pass pass = engine().forward(x, inputChecks()); // the engine scans x for NaN
        pass.close(); // no backward: what it would read goes now
        return pass.output();
    }

    /**
     * A training forward on the engine ({@link NormEngine}): the output {@code [..., C]} of {@link #apply} and a
     * pass that keeps what its backward needs. The pass is the caller's: any number of threads may train one
     * layer at once, each with its own passes.
     *
     * <pre>{@code
     * NormPass pass = norm.train(x);                             // x [..., C]
     * LayerGradients g = pass.backward(dLossByOutput);           // [..., C] in
     * g.input(); g.parameters().get("weight");                   // dx [..., C], dweight [C]
     * }</pre>
     */
    public NormPass train(INDArray x) {
        check(x);
        if (x.length() == 0) {
            throw new IllegalArgumentException("x is empty (shape " + java.util.Arrays.toString(x.shape())
                    + "); expected [..., " + width() + "] with every size at least 1");
        }
        checkType("x", x);
        return new NormPass(engine().forward(x, inputChecks()), dataType, x.shape()); // the engine scans x for NaN
    }

    private void check(INDArray x) {
        Checks.notNull("x", x);
        if (x.rank() == 0 || x.size(-1) != width()) {
            throw new IllegalArgumentException(getClass().getSimpleName() + " '" + name + "' expects input [..., "
                    + width() + "], got shape " + java.util.Arrays.toString(x.shape()));
        }
    }

    private NormEngine engine() {
        NormEngine f = fast;
        if (f == null) {
            synchronized (this) {
                if (fast == null) {
                    fast = new NormEngine(weights(), Parallel.shared());
                }
                f = fast;
            }
        }
        return f;
    }
}
