package org.attn4j.samediff;

import java.util.Arrays;
import org.attn4j.config.AttentionMask;
import org.attn4j.config.AttentionOutput;
import org.attn4j.nn.ScaledDotProductAttention;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ops.impl.controlflow.compat.StopGradient;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@link ScaledDotProductAttention} in a SameDiff graph: softmax(Q K^T * scale + mask) V on
 * {@code Q [B, H, Tq, D]}, {@code K [B, H, Tk, D]}, {@code V [B, H, Tk, Dv]}, with the engine's rules (a query
 * that may attend to nothing gets zero weights, a zero output and zero gradients).
 */
public final class ScaledDotProductGraph {
    private static final double EXCLUDED = ScaledDotProductAttention.EXCLUDED;
    private static final double ADDITIVE_EXCLUDED = ScaledDotProductAttention.ADDITIVE_EXCLUDED;

    private ScaledDotProductGraph() {
    }

    /**
     * Adds attention with {@code config} (scale, dropout while SameDiff trains) to q's graph. {@code headDim} is D,
     * used for the default scale.
     *
     * @return output {@code [B, H, Tq, Dv]} and weights {@code [B, H, Tq, Tk]}
     */
    public static AttentionOutput<SDVariable> forward(ScaledDotProductAttention.Config config, SDVariable q,
            SDVariable k, SDVariable v, AttentionMask<SDVariable> mask, long headDim) {
        return forward(config, q, k, v, mask, headDim, null, null);
    }

    /**
     * {@link #forward(ScaledDotProductAttention.Config, SDVariable, SDVariable, SDVariable, AttentionMask, long)}
     * with a position bias added to the scaled scores ({@code positionBias}, broadcasting to {@code [B, H, Tq, Tk]}:
     * ALiBi) and a further 0/1 keep mask ({@code positionKeep}: a sliding window); either may be null.
     */
    public static AttentionOutput<SDVariable> forward(ScaledDotProductAttention.Config config, SDVariable q,
            SDVariable k, SDVariable v, AttentionMask<SDVariable> mask, long headDim, SDVariable positionBias,
            SDVariable positionKeep) {
        SameDiff sd = q.getSameDiff();
        DataType type = q.dataType();
        double scale = config.scale().orElse(1 / Math.sqrt(headDim));

        // 1. Scores: every query against every key.
        SDVariable scores = sd.mmul(q, k, false, true, false).mul(scale); // [B, H, Tq, Tk]
        if (positionBias != null) {
            scores = scores.add(positionBias);
        }

        // 2. Masks: an additive bias, and 0/1 "keep" masks turned into a large negative bias.
        SDVariable keep = null; // broadcasts to [B, H, Tq, Tk]
        if (mask.additive() != null) {
            SDVariable additive = toRank4(mask.additive(), "additive", type);
            SDVariable allowed = sd.gt(additive, ADDITIVE_EXCLUDED).castTo(type);
            // -inf * 0 is NaN: clip first so excluded entries become a finite 0 bias.
            SDVariable bias = sd.math.clipByValue(additive, ADDITIVE_EXCLUDED, -ADDITIVE_EXCLUDED).mul(allowed);
            scores = scores.add(bias);
            keep = allowed;
        }
        if (mask.padding() != null) {
            SDVariable padding = Graphs.as(mask.padding(), type);
            keep = times(keep, sd.expandDims(sd.expandDims(padding, 1), 1)); // [B, 1, 1, Tk]
        }
        if (mask.attention() != null) {
            keep = times(keep, toRank4(mask.attention(), "attention", type));
        }
        if (mask.causal()) {
            keep = times(keep, causalKeep(scores, type)); // [1, 1, Tq, Tk]
        }
        if (positionKeep != null) {
            keep = times(keep, positionKeep);
        }
        if (keep != null) {
            scores = scores.add(keep.sub(1.0).mul(-EXCLUDED)); // 0 where kept, -1e9 where not
        }

        // 3. Softmax over the keys. ND4J M2.1's float64 softmax gives NaN for a row whose scores
        //    all lie below about -745 (it does not subtract a negative maximum), so in float64 each
        //    row's maximum is moved to 0 first; softmax does not change under the shift. Its float32
        //    softmax subtracts the maximum itself, and the shift would cost a slow backward op
        //    (reduce_max_bp runs even behind a stop-gradient), so float32 goes straight in.
        //    Multiplying by keep zeroes a row that may see no key at all and changes nothing elsewhere.
        SDVariable shifted = type == DataType.DOUBLE
                ? scores.sub(new StopGradient(sd, sd.max(scores, true, 3)).outputVariable()) // [B, H, Tq, Tk]
                : scores;
        SDVariable weights = sd.nn.softmax(shifted, 3);
        if (keep != null) {
            weights = Graphs.mulExpanded(weights, keep);
        }
        SDVariable dropped = Dropout.apply(weights, config.dropout());

        // 4. Weighted sum of the values.
        SDVariable output = sd.mmul(dropped, v); // [B, H, Tq, Dv]
        return new AttentionOutput<>(output, weights);
    }

    private static SDVariable times(SDVariable a, SDVariable b) {
        return a == null ? b : a.mul(b);
    }

    /** 1 where key j is at or before query i's position, aligning the last query with the last key. */
    private static SDVariable causalKeep(SDVariable scores, DataType type) {
        SameDiff sd = scores.getSameDiff();
        SDVariable tq = Graphs.size(scores, 2), tk = Graphs.size(scores, 3);
        SDVariable zero = sd.constant(Nd4j.scalar(DataType.LONG, 0L));
        SDVariable one = sd.constant(Nd4j.scalar(DataType.LONG, 1L));
        SDVariable rows = sd.range(zero, tq, one, DataType.LONG).add(tk.sub(tq)); // last visible key
        SDVariable cols = sd.range(zero, tk, one, DataType.LONG);
        SDVariable keep = sd.lte(sd.expandDims(cols, 0), sd.expandDims(rows, 1)).castTo(type); // [Tq, Tk]
        return sd.expandDims(sd.expandDims(keep, 0), 0);
    }

    /** A [Tq, Tk], [B, Tq, Tk] or [B, H, Tq, Tk] mask as a rank-4 tensor that broadcasts. */
    private static SDVariable toRank4(SDVariable m, String what, DataType type) {
        long[] shape = m.getShape();
        if (shape == null) {
            throw new IllegalArgumentException("The " + what + " mask '" + m.name()
                    + "' has no known rank; give it a shape ([Tq, Tk], [B, Tq, Tk] or [B, H, Tq, Tk])");
        }
        SameDiff sd = m.getSameDiff();
        SDVariable x = Graphs.as(m, type);
        return switch (shape.length) {
            case 2 -> sd.expandDims(sd.expandDims(x, 0), 0);
            case 3 -> sd.expandDims(x, 1);
            case 4 -> x;
            default -> throw new IllegalArgumentException("The " + what + " mask must be [Tq, Tk], "
                    + "[B, Tq, Tk] or [B, H, Tq, Tk], got shape " + Arrays.toString(shape));
        };
    }

}
