package org.attn4j.examples.shakespeare;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Locale;
import org.attn4j.data.Batch;
import org.attn4j.io.Checkpoint;
import org.attn4j.model.TransformerModel;
import org.attn4j.train.Schedules;
import org.attn4j.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What storing the committed Shakespeare model's weights in bfloat16 costs: the relative error of each
 * weight, and the validation loss and next-character accuracy on the first 5 of the example's fixed batches
 * of 12 x 64 (3,840 characters; all 20 take the suite too long), before and after. Prints one line, {@code BF16 ...}; the figures are quoted in Checkpoint.Storage and the README.
 */
class ShakespeareBFloat16Test {
    @Test
    void bfloat16WeightsCostLittleLossOnTheCommittedModel(@TempDir Path dir) {
        TransformerModel full = Checkpoint.load(Path.of("models/shakespeare")).model();
        Checkpoint.save(dir, full, null, null, 0, null, Checkpoint.Storage.BFLOAT16);
        TransformerModel rounded = Checkpoint.load(dir).model();

        double maxError = 0, sumError = 0;
        long n = 0;
        for (String name : full.parameters().keySet()) {
            float[] a = full.parameters().get(name).dup('c').data().asFloat();
            float[] b = rounded.parameters().get(name).dup('c').data().asFloat();
            for (int i = 0; i < a.length; i++) {
                if (a[i] != 0) {
                    double e = Math.abs((double) b[i] - a[i]) / Math.abs(a[i]);
                    maxError = Math.max(maxError, e);
                    sumError += e;
                    n++;
                }
            }
        }
        CharText text = CharText.of(ShakespeareExample.readText("examples/data/tinyshakespeare.txt"));
        double[] before = evaluate(full, text), after = evaluate(rounded, text);
        System.out.printf(Locale.ROOT, "BF16 shakespeare weights=%d relative_error_max=%.5f relative_error_mean=%.6f "
                + "val_loss=%.5f->%.5f accuracy=%.5f->%.5f%n", n, maxError, sumError / n, before[0], after[0], before[1],
                after[1]);
        assertTrue(maxError <= 0x1p-8, "round to nearest moves a normal float by less than 2^-8 of itself: " + maxError);
        assertTrue(sumError / n > 1e-4, "the weights were rounded: mean relative error " + sumError / n);
        assertEquals(before[0], after[0], 0.01, "validation loss");
    }

    /** Mean loss and next-character accuracy over the example's fixed validation batches. */
    private static double[] evaluate(TransformerModel model, CharText text) {
        Trainer evaluator = new Trainer(model, Trainer.Config.adam(Schedules.constant(1e-3)));
        int batches = 5, batch = 12, context = model.config().maxLen();
        double loss = 0;
        long right = 0, total = 0;
        for (int i = 0; i < batches; i++) {
            Batch b = text.evaluationBatch(true, i, batch, context);
            loss += evaluator.evaluateLoss(b);
            INDArray guess = model.predict(null, b.input()).argMax(2); // [B, T]
            right += guess.castTo(b.target().dataType()).eq(b.target()).castTo(
                    org.nd4j.linalg.api.buffer.DataType.INT).sumNumber().longValue();
            total += b.target().length();
        }
        return new double[] {loss / batches, (double) right / total};
    }
}
