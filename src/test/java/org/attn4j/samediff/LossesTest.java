package org.attn4j.samediff;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.attn4j.io.Npz;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Label-smoothed cross-entropy against PyTorch's CrossEntropyLoss (src/test/python/gen_loss_fixtures.py). */
class LossesTest {

    @Test
    void matchesPyTorchWithLabelSmoothingAndIgnoredPadding() {
        Map<String, INDArray> f = Npz.read(Path.of("src/test/resources/loss/cross_entropy.npz"));
        int cases = 0;
        for (int k = 0; f.containsKey("case" + k + "/logits"); k++) {
            String p = "case" + k + "/";
            INDArray logits = f.get(p + "logits"), targets = f.get(p + "targets");
            double smoothing = f.get(p + "smoothing").getDouble(0);
            SameDiff sd = SameDiff.create();
            SDVariable l = sd.var("logits", logits.dup());
            SDVariable loss = Losses.crossEntropy("loss", l, sd.constant(targets), 0, (int) logits.size(2), smoothing);
            sd.setLossVariables(loss);
            double value = sd.output(Map.of(), "loss").get("loss").getDouble(0);
            assertEquals(f.get(p + "loss").getDouble(0), value, 1e-12, "case " + k + " loss");
            INDArray grad = Gradients.of(sd, Map.of(), "logits").get("logits");
            assertTrue(grad.equalsWithEps(f.get(p + "grad"), 1e-12), "case " + k + " gradient");
            assertEquals(0.0, grad.get(org.nd4j.linalg.indexing.NDArrayIndex.point(0),
                    org.nd4j.linalg.indexing.NDArrayIndex.point(logits.size(1) - 1)).amaxNumber().doubleValue(),
                    "a padded position contributes no gradient");
            cases++;
        }
        assertEquals(4, cases);
    }

    @Test
    void allPaddingGivesZeroNotNaN() {
        SameDiff sd = SameDiff.create();
        SDVariable loss = Losses.crossEntropy("loss", sd.var("logits", Nd4j.randn(DataType.DOUBLE, 1, 2, 3)),
                sd.constant(Nd4j.zeros(DataType.INT, 1, 2)), 0, 3, 0.1);
        assertEquals(0.0, loss.eval().getDouble(0));
    }
}
