package org.attn4j.nn;

import static org.attn4j.testing.Exact.assertDifferentBits;
import static org.attn4j.testing.Exact.assertSameBits;
import org.attn4j.config.BlockConfig;
import org.attn4j.samediff.Dropout;
import org.attn4j.samediff.Gradients;
import org.attn4j.samediff.TransformerBlockGraph;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.attn4j.config.AttentionMask;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.listeners.At;
import org.nd4j.autodiff.listeners.BaseListener;
import org.nd4j.autodiff.listeners.Operation;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.TrainingConfig;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.Sgd;

/** The layers train through SameDiff's fit, and dropout is on in fit and off everywhere else. */
class TrainingTest {
    private static final int B = 16, T = 5, C = 8;

    @BeforeEach
    void seed() {
        Nd4j.getRandom().setSeed(7);
    }

    /** A block regressing, at every position, the mean of the sequence: it must learn to attend. */
    private static SameDiff meanRegression(BlockConfig config, double learningRate) {
        SameDiff sd = SameDiff.create();
        SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, -1, C);
        SDVariable y = sd.placeHolder("y", DataType.FLOAT, -1, -1, C);
        TransformerBlock block = new TransformerBlock("block0", config);
        SDVariable diff = new TransformerBlockGraph(sd, block).forward(x, AttentionMask.none()).output().rename("prediction").sub(y);
        sd.setLossVariables(sd.mean("loss", diff.mul(diff)));
        sd.setTrainingConfig(TrainingConfig.builder().updater(learningRate == 0 ? new Sgd(0.0) : new Adam(learningRate))
                .dataSetFeatureMapping("x").dataSetLabelMapping("y").build());
        Gradients.build(sd);
        return sd;
    }

    private static DataSet data() {
        INDArray x = Nd4j.randn(DataType.FLOAT, B, T, C);
        INDArray y = x.mean(true, 1).repeat(1, T);
        return new DataSet(x, y);
    }

    /**
     * One training step; returns the block's output as fit computed it (with dropout, if any).
     * (fit in M2.1 never computes the loss value itself, only its gradient, so the loss is not observable.)
     */
    private static INDArray fitOnce(SameDiff sd, DataSet d) {
        INDArray[] seen = new INDArray[1];
        sd.fit(d, new BaseListener() {
            @Override
            public boolean isActive(Operation operation) {
                return true;
            }

            @Override
            public void activationAvailable(SameDiff s, At at, MultiDataSet batch, SameDiffOp op, String var,
                    INDArray value) {
                if (var.equals("prediction")) {
                    seen[0] = value.dup();
                }
            }
        });
        assertTrue(seen[0] != null, "fit computed the prediction");
        return seen[0];
    }

    private static INDArray predict(SameDiff sd, DataSet d) {
        return sd.output(Map.of("x", d.getFeatures()), "prediction").get("prediction");
    }

    private static double evalLoss(SameDiff sd, DataSet d) {
        return sd.output(Map.of("x", d.getFeatures(), "y", d.getLabels()), "loss").get("loss").getDouble(0);
    }

    @Test
    void aBlockLearnsToAverageTheSequence() {
        SameDiff sd = meanRegression(BlockConfig.encoder(C, 2, 16), 1e-2);
        DataSet d = data();
        double before = evalLoss(sd, d);
        for (int step = 0; step < 150; step++) {
            sd.fit(d);
        }
        double after = evalLoss(sd, d);
        assertTrue(after < 0.2 * before, "loss " + before + " -> " + after);
    }

    @Test
    void dropoutIsActiveInFitOnly() {
        DataSet d = data();
        // Learning rate 0: the weights stay put, so any difference between what fit computes and
        // what output() computes comes from dropout.
        SameDiff plain = meanRegression(BlockConfig.encoder(C, 2, 16), 0);
        assertSameBits("without dropout fit and output agree", predict(plain, d), fitOnce(plain, d));

        SameDiff dropped = meanRegression(BlockConfig.encoder(C, 2, 16).withDropout(0.5)
                .withAttnDropout(0.5), 0);
        INDArray eval1 = predict(dropped, d), eval2 = predict(dropped, d);
        assertSameBits("evaluation is deterministic", eval1, eval2);
        INDArray train1 = fitOnce(dropped, d), train2 = fitOnce(dropped, d);
        assertDifferentBits("fit sees dropout", eval1, train1);
        assertDifferentBits("each training step draws a new mask", train1, train2);
    }

    @Test
    void dropoutDropsTheRightFractionAndRescales() {
        SameDiff sd = SameDiff.create();
        SDVariable ones = sd.constant(Nd4j.ones(DataType.DOUBLE, 20_000));
        SDVariable out = Dropout.apply(ones, 0.3);
        INDArray train = sd.output(Map.of(Dropout.TRAINING_FLAG, Nd4j.scalar(true)), out.name()).get(out.name());
        double zeros = train.eq(0).castTo(DataType.DOUBLE).meanNumber().doubleValue();
        assertEquals(0.3, zeros, 0.02, "fraction dropped");
        assertEquals(1 / 0.7, train.maxNumber().doubleValue(), 1e-12, "kept values are scaled by 1/(1-p)");
        INDArray eval = sd.output(Map.of(), out.name()).get(out.name());
        assertSameBits("identity outside training", Nd4j.ones(DataType.DOUBLE, 20_000), eval);
    }
}
