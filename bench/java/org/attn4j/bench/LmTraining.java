package org.attn4j.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.attn4j.data.Batch;
import org.attn4j.model.LanguageModel;
import org.attn4j.model.ModelConfig;
import org.attn4j.train.Trainer;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.schedule.FixedSchedule;

/**
 * One training step of a character-level GPT through the public API only: {@link LanguageModel} from
 * {@code ModelConfig.languageModel} (pre-LN, exact GELU, learned positions, tied head, no dropout) and
 * {@link Trainer#step} with AdamW (lr 1e-3, betas 0.9/0.99, weight decay 0.1) and clipping at 1.0.
 * Whatever engine runs the step underneath, this is the work the benchmark row times.
 *
 * <p>Batches: 8 of {@code [B, T]}, drawn once from a seeded random stream of ids 1..V-1 (never the pad
 * id 0), target = input shifted by one; used in turn.
 */
final class LmTraining implements BlockStep {
    private final Trainer trainer;
    private final List<Batch> batches = new ArrayList<>();
    private int next;

    LmTraining(LmSize size) {
        LanguageModel model = new LanguageModel(ModelConfig.languageModel(size.vocab(), size.dModel(), size.heads(),
                size.ffDim(), size.layers(), size.length()));
        this.trainer = new Trainer(model, Trainer.Config.adam(new FixedSchedule(1e-3))
                .withOptimizer(Trainer.Optimizer.ADAMW).withBeta2(0.99).withWeightDecay(0.1).withSeed(1));
        Random random = new Random(2);
        int b = size.batch(), t = size.length();
        for (int n = 0; n < 8; n++) {
            int[][] input = new int[b][t], target = new int[b][t];
            for (int row = 0; row < b; row++) {
                int[] window = random.ints(t + 1, 1, size.vocab()).toArray();
                System.arraycopy(window, 0, input[row], 0, t);
                System.arraycopy(window, 1, target[row], 0, t);
            }
            batches.add(new Batch(null, Nd4j.createFromArray(input), Nd4j.createFromArray(target))); // INT [B, T]
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
