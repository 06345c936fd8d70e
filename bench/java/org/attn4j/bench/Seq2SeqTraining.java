package org.attn4j.bench;

import java.util.ArrayList;
import java.util.List;
import org.attn4j.data.Batch;
import org.attn4j.examples.sequence.SequenceTask;
import org.attn4j.model.ModelConfig;
import org.attn4j.model.Seq2SeqTransformer;
import org.attn4j.train.Trainer;
import org.nd4j.linalg.schedule.FixedSchedule;

/**
 * One training step of the sequence example's encoder-decoder through the public API only:
 * {@link Seq2SeqTransformer} with the example's configuration (pre-LN, exact GELU, learned positions,
 * untied head, sqrt(C) embedding scale, pad id 0, no dropout) and {@link Trainer#step} with Adam (lr 1e-3,
 * betas 0.9/0.98) and clipping at 1.0, as {@code Trainer.Config.adam}.
 *
 * <p>Batches: 8 copy-task batches ({@link SequenceTask#batch}: source = the digits, input = BOS + answer,
 * target = answer + EOS, each padded to its longest) of random sequences, drawn once from a fixed seed; used
 * in turn.
 */
final class Seq2SeqTraining implements BlockStep {
    private final Trainer trainer;
    private final List<Batch> batches = new ArrayList<>();
    private int next;

    Seq2SeqTraining(Seq2SeqSize size) {
        ModelConfig config = ModelConfig.seq2seq(size.vocab(), size.dModel(), size.heads(), size.ffDim(),
                size.decoderLayers(), size.maxLen()).withEncoderLayers(size.encoderLayers());
        this.trainer = new Trainer(new Seq2SeqTransformer(config), Trainer.Config.adam(new FixedSchedule(1e-3)));
        for (int n = 0; n < 8; n++) {
            batches.add(SequenceTask.COPY.batch(SequenceTask.Data.sequences(size.batch(), size.minLength(),
                    size.maxLength(), 2 + n)));
        }
    }

    @Override
    public void step() {
        trainer.step(batches.get(next++ % batches.size()));
    }

    @Override
    public double loss() {
        return trainer.evaluateLoss(batches.get(0));
    }
}
