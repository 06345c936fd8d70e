package org.attn4j.bench;

import org.attn4j.samediff.TransformerBlockGraph;
import org.attn4j.config.AttentionMask;
import org.attn4j.samediff.Gradients;
import org.attn4j.config.BlockConfig;
import org.attn4j.nn.TransformerBlock;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.TrainingConfig;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

/**
 * A lone pre-LN GELU encoder block trained on a fixed random batch: loss = mean((block(x) - y)^2),
 * one SameDiff {@code fit} call (forward, backward, Adam update) per step. This is the README's way of
 * training a block; attn4j's {@code Trainer} needs a whole {@code TransformerModel}.
 */
final class BlockTraining implements BlockStep {
    private final SameDiff sd = SameDiff.create();
    private final DataSet data;

    BlockTraining(BenchSize size) {
        int c = size.dModel();
        SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, -1, c); // [B, T, C]
        SDVariable y = sd.placeHolder("y", DataType.FLOAT, -1, -1, c); // [B, T, C]
        TransformerBlock block = new TransformerBlock("block", BlockConfig.encoder(c, size.heads(),
                size.ffDim()));
        SDVariable diff = new TransformerBlockGraph(sd, block).forward(x, AttentionMask.none()).output().sub(y);
        sd.setLossVariables(sd.mean("loss", diff.mul(diff)));
        sd.setTrainingConfig(TrainingConfig.builder().updater(new Adam(1e-3))
                .dataSetFeatureMapping("x").dataSetLabelMapping("y").build());
        Gradients.build(sd);
        data = new DataSet(Nd4j.randn(DataType.FLOAT, size.batch(), size.length(), c),
                Nd4j.randn(DataType.FLOAT, size.batch(), size.length(), c));
    }

    @Override
    public void step() {
        sd.fit(data);
    }

    /** The graph (for profiling). */
    SameDiff sameDiff() {
        return sd;
    }

    @Override
    public double loss() {
        return sd.output(data, "loss").get("loss").getDouble(0);
    }
}
