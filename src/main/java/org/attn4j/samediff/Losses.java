package org.attn4j.samediff;

import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ops.impl.controlflow.compat.StopGradient;

/** Loss functions added to a model's graph. */
public final class Losses {
    private Losses() {
    }

    /**
     * Mean cross-entropy over the non-padding positions, with label smoothing as PyTorch's
     * {@code CrossEntropyLoss(ignore_index=pad, label_smoothing=s)}: each position's loss is
     * {@code (1 - s) * -log p(target) + s * mean over all V classes of -log p(class)}.
     *
     * @param logits    {@code [B, T, V]}
     * @param targets   {@code [B, T]} integer ids
     * @param padId     targets equal to it are ignored
     * @param smoothing s in [0, 1)
     * @return a scalar (0 when every target is padding)
     */
    public static SDVariable crossEntropy(String name, SDVariable logits, SDVariable targets, int padId,
            int vocabSize, double smoothing) {
        if (!(smoothing >= 0 && smoothing < 1)) {
            throw new IllegalArgumentException("label smoothing must be in [0, 1), got " + smoothing);
        }
        SameDiff sd = logits.getSameDiff();
        DataType type = logits.dataType();
        SDVariable flat = sd.reshape(logits, -1, vocabSize); // [N, V]
        SDVariable labels = sd.reshape(targets, -1).castTo(DataType.INT); // [N]
        // A stable log-softmax: the shift by the (constant) row maximum cancels out.
        SDVariable shifted = flat.sub(new StopGradient(sd, sd.max(flat, true, 1)).outputVariable());
        SDVariable logProbs = shifted.sub(sd.math.log(sd.math.exp(shifted).sum(true, 1))); // [N, V]
        SDVariable oneHot = sd.oneHot(labels, vocabSize).castTo(type); // [N, V]
        SDVariable nll = logProbs.mul(oneHot).sum(1).neg(); // [N]
        SDVariable perPosition = smoothing == 0 ? nll
                : nll.mul(1 - smoothing).add(logProbs.mean(1).neg().mul(smoothing));
        SDVariable keep = sd.neq(labels, padId).castTo(type); // [N]
        SDVariable count = sd.math.max(keep.sum(), sd.constant(org.nd4j.linalg.factory.Nd4j.scalar(type, 1.0)));
        return sd.math.div(perPosition.mul(keep).sum(), count).rename(name);
    }
}
