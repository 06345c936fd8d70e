package org.attn4j.samediff;

import org.attn4j.nn.Norm;
import org.attn4j.config.Normalization;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * A {@link org.attn4j.nn.LayerNorm} or {@link org.attn4j.nn.RMSNorm} in a SameDiff graph, over the last
 * dimension {@code [..., C] -> [..., C]}.
 */
public final class NormGraph {
    private final SameDiff sd;
    private final Normalization kind;
    private final int width;
    private final double eps;
    private final SDVariable weight; // [C]
    private final SDVariable bias; // [C], or null (RMSNorm)

    public NormGraph(SameDiff sd, Norm norm) {
        this.sd = sd;
        this.kind = norm.kind();
        this.width = norm.width();
        this.eps = norm.eps();
        this.weight = Variables.of(sd, norm.parameters(), norm.weightArray());
        this.bias = Variables.of(sd, norm.parameters(), norm.biasArray());
    }

    /** {@code [..., C] -> [..., C]}. */
    public SDVariable forward(SDVariable x) {
        // Reduce over axis 1 of a [N, C] view: in M2.1, SameDiff's mean(keepDims, -1) on rank 3 is wrong.
        SDVariable flat = sd.reshape(x, -1, width); // [N, C]
        return Graphs.reshapeLike(forwardRows(flat), x, 1, width); // [..., C]
    }

    /** Rows {@code [N, C] -> [N, C]}: no reshapes. */
    SDVariable forwardRows(SDVariable rows) {
        if (kind == Normalization.RMS) {
            SDVariable meanSquare = rows.mul(rows).mean(true, 1); // [N, 1]
            SDVariable normalized = Graphs.mulExpanded(rows, sd.math.rsqrt(meanSquare.add(eps)));
            return Graphs.mulExpanded(normalized, weight);
        }
        SDVariable centered = rows.sub(rows.mean(true, 1)); // [N, C]
        SDVariable variance = centered.mul(centered).mean(true, 1); // [N, 1], biased
        SDVariable normalized = Graphs.mulExpanded(centered, sd.math.rsqrt(variance.add(eps)));
        return Graphs.mulExpanded(normalized, weight).add(bias);
    }
}
