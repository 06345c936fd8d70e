package org.attn4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Random;
import org.attn4j.data.Batch;
import org.attn4j.io.Checkpoint;
import org.attn4j.model.ModelConfig;
import org.attn4j.model.Seq2SeqTransformer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * An encoder-decoder with every dropout on, trained on batches of uneven lengths (so its training pass packs
 * rows and draws its masks by packed position) with the update in two chunks: a run saved after 3 steps and
 * resumed gives the losses of a run that never stopped, to the bit.
 */
class PackedResumeTest {
    static final int V = 11;

    /** Batch {@code i}: 6 sequences of random lengths 1-7, each padded to the longest (id 0). */
    static Batch batch(int i) {
        Random r = new Random(100 + i);
        int rows = 6, longest = 8;
        int[][] src = new int[rows][longest], in = new int[rows][longest], out = new int[rows][longest];
        for (int b = 0; b < rows; b++) {
            int len = 1 + r.nextInt(longest - 1);
            for (int t = 0; t < len; t++) {
                src[b][t] = 3 + r.nextInt(V - 3);
                out[b][t] = src[b][len - 1 - t]; // reverse
                in[b][t + 1] = out[b][t];
            }
            in[b][0] = 1;
            out[b][len] = 2;
        }
        return new Batch(Nd4j.createFromArray(src), Nd4j.createFromArray(in), Nd4j.createFromArray(out));
    }

    static Seq2SeqTransformer model() {
        Nd4j.getRandom().setSeed(21);
        return new Seq2SeqTransformer(ModelConfig.seq2seq(V, 16, 2, 32, 1, 10).withDropout(0.2).withAttnDropout(0.1),
                DataType.FLOAT);
    }

    @Test
    void aResumedRunWithDropoutOnPackedRowsRepeatsTheLosses(@TempDir Path dir) {
        assertTrue(batch(0).input().eq(0).any(), "the batches have padding to leave out");
        Trainer.Config config = Trainer.Config.adam(Schedules.constant(3e-3)).withSeed(5);
        Trainer straight = new Trainer(model(), config, 2, 64);
        double[] expected = new double[6];
        for (int i = 0; i < 6; i++) {
            expected[i] = straight.step(batch(i)).loss();
        }
        Trainer first = new Trainer(model(), config, 2, 64);
        for (int i = 0; i < 3; i++) {
            assertEquals(expected[i], first.step(batch(i)).loss(), 0.0, "step " + i + " of the same run again");
        }
        Checkpoint.save(dir, first.model(), null, null, first.stepCount(), first.optimizerState());
        Checkpoint.Loaded loaded = Checkpoint.load(dir);
        Trainer resumed = new Trainer(loaded.model(), config, 2, 64);
        resumed.restore(loaded.step(), loaded.optimizerState());
        for (int i = 3; i < 6; i++) {
            assertEquals(expected[i], resumed.step(batch(i)).loss(), 0.0, "step " + i + " after the resume");
        }
    }
}
