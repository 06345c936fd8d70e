package org.attn4j.samediff;

import org.attn4j.nn.Linear;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/** A {@link Linear} in a SameDiff graph: {@code y = x W^T + b}, {@code [..., in] -> [..., out]}. */
public final class LinearGraph {
    private final SameDiff sd;
    private final Linear.Config config;
    private final SDVariable weight; // [out, in]
    private final SDVariable bias; // [out], or null

    /** The layer's weight and bias become variables of {@code sd} (named as the parameters, holding their arrays). */
    public LinearGraph(SameDiff sd, Linear layer) {
        this.sd = sd;
        this.config = layer.config();
        this.weight = Variables.of(sd, layer.parameters(), layer.weightArray());
        this.bias = Variables.of(sd, layer.parameters(), layer.biasArray());
    }

    /** {@code [..., in] -> [..., out]}. */
    public SDVariable forward(SDVariable x) {
        SDVariable flat = sd.reshape(x, -1, config.in()); // (N, in)
        return Graphs.reshapeLike(forwardRows(flat), x, 1, config.out()); // [..., out]
    }

    /** Rows {@code [N, in] -> [N, out]}: no reshapes. */
    SDVariable forwardRows(SDVariable rows) {
        SDVariable y = sd.mmul(rows, weight, false, true, false); // (N, out)
        return bias == null ? y : y.add(bias);
    }
}
