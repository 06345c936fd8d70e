package org.attn4j.nn;

import org.attn4j.kernels.Parallel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What {@link LayerNorm} and {@link RMSNorm} share outside a graph: eager use and training on the engine
 * ({@link FastNorm}) over the last dimension {@code [..., C]}.
 */
public abstract sealed class NormLayer extends Module implements Norm permits LayerNorm, RMSNorm {
    private volatile FastNorm fast; // the engine of apply and train, made on first use (holds no call's state)

    NormLayer(String name, DataType dataType) {
        super(name, dataType);
    }

    /** The engine of this layer, on {@code parallel}'s workers. */
    abstract FastNorm newEngine(Parallel parallel);

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
        FastNorm.Pass pass = engine().forward(x, inputChecks()); // the engine scans x for NaN
        pass.close(); // no backward: what it would read goes now
        return pass.output();
    }

    /**
     * A training forward on the engine ({@link FastNorm}): the output {@code [..., C]} of {@link #apply} and a
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

    private FastNorm engine() {
        FastNorm f = fast;
        if (f == null) {
            synchronized (this) {
                if (fast == null) {
                    fast = newEngine(Parallel.shared());
                }
                f = fast;
            }
        }
        return f;
    }
}
