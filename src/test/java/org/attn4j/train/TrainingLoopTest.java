package org.attn4j.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.attn4j.model.LanguageModel;
import org.attn4j.viz.LinePlot;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;

/** The loop around the trainer: evaluation, early stopping, checkpoints, divergence, history and its plot. */
class TrainingLoopTest {
    @Test
    void stopsWhenTheMetricStopsImprovingAndKeepsTheBest() {
        Trainer t = new Trainer(TrainerTest.model(1, DataType.FLOAT), TrainerTest.adam(1e-3));
        double[] metrics = {0.5, 0.7, 0.6, 0.65, 0.69, 0.9};
        int[] calls = {0};
        List<Integer> saved = new ArrayList<>();
        TrainingLoop.Outcome o = TrainingLoop.run(t, step -> TrainerTest.countingBatch(), m -> metrics[calls[0]++],
                TrainingLoop.Options.of(100, 2).withPatience(3), tr -> {
                    saved.add(tr.stepCount());
                    return "checkpoint@" + tr.stepCount();
                });
        assertTrue(o.stoppedEarly());
        assertEquals(0.7, o.bestMetric());
        assertEquals(3, o.bestStep(), "the second evaluation, after steps 0-3");
        assertEquals(10, o.steps(), "five evaluations, the last three without improvement");
        assertEquals(List.of(2, 4), saved, "a checkpoint each time the metric improved");
        assertEquals(10, o.history().rows().size());
        assertTrue(o.history().toCsv().startsWith("step,loss,learning_rate,grad_norm,tokens_per_second,seconds,metric\n"));
        assertEquals(0.7, o.history().rows().get(3).metric());
    }

    @Test
    void stopsAtTheTargetAndDrawsAProgressBar() {
        Trainer t = new Trainer(TrainerTest.model(2, DataType.FLOAT), TrainerTest.adam(1e-3));
        ByteArrayOutputStream terminal = new ByteArrayOutputStream();
        TrainingLoop.Outcome o = TrainingLoop.run(t, step -> TrainerTest.countingBatch(), m -> 1.0,
                TrainingLoop.Options.of(50, 5).withTarget(0.99)
                        .withProgress(new PrintStream(terminal, true)), null);
        assertEquals(5, o.steps());
        String bar = terminal.toString();
        assertTrue(bar.contains("5/50") && bar.contains("tok/s") && bar.contains("left"), bar);
    }

    @Test
    void divergenceNamesTheLastGoodCheckpoint() {
        LanguageModel m = TrainerTest.model(3, DataType.FLOAT);
        Trainer t = new Trainer(m, TrainerTest.adam(1e-3));
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class, () -> TrainingLoop.run(t, step -> {
            if (step == 5) {
                m.parameters().get("embedding.weight").putScalar(0, 0, Float.POSITIVE_INFINITY);
            }
            return TrainerTest.countingBatch();
        }, null, TrainingLoop.Options.of(20, 2), tr -> "ckpt-at-" + tr.stepCount()));
        assertTrue(e.getMessage().contains("step 5") && e.getMessage().contains("last good checkpoint is ckpt-at-4"),
                e.getMessage());
    }

    @Test
    void theHistoryPlotIsAPicture(@TempDir Path dir) throws Exception {
        Trainer t = new Trainer(TrainerTest.model(4, DataType.FLOAT), TrainerTest.adam(1e-3));
        TrainingLoop.Outcome o = TrainingLoop.run(t, step -> TrainerTest.countingBatch(), m -> 0.5,
                TrainingLoop.Options.of(6, 3), null);
        Path png = dir.resolve("history.png");
        LinePlot.write(png, "training", "step", o.history().series());
        BufferedImage img = ImageIO.read(png.toFile());
        assertEquals(900, img.getWidth());
        assertEquals(3 * 300, img.getHeight(), "loss, learning rate and metric panels");
        int colored = 0;
        for (int x = 0; x < img.getWidth(); x++) {
            for (int y = 0; y < 300; y++) {
                int rgb = img.getRGB(x, y) & 0xffffff;
                colored += rgb != 0xffffff && rgb != 0 ? 1 : 0;
            }
        }
        assertTrue(colored > 100, "the loss curve is drawn (" + colored + " colored pixels)");
    }
}
