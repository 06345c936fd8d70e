package org.attn4j.bench;

import org.attn4j.config.AttentionMask;
import org.attn4j.config.BlockConfig;
import org.attn4j.engine.BlockEngine;
import org.attn4j.kernels.Parallel;
import org.attn4j.nn.TransformerBlock;
import org.attn4j.train.ParameterUpdater;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

/**
 * {@link BlockTraining}'s step on attn4j's fast path: the same pre-LN GELU encoder block, loss
 * mean((block(x) - y)^2) on a fixed random batch, {@link BlockEngine} forward and backward and an ND4J
 * Adam update through {@link ParameterUpdater}.
 */
final class BlockEngineTraining implements BlockStep {
    private final BlockEngine fast;
    private final ParameterUpdater training;
    private final INDArray x, y, grad;

    BlockEngineTraining(BenchSize size) {
        int c = size.dModel();
        TransformerBlock block = TransformerBlock.create(BlockConfig.encoder(c, size.heads(), size.ffDim()),
                DataType.FLOAT);
        fast = BlockEngine.of(block.config(), block.weights());
        training = new ParameterUpdater(fast.parameters(), fast.gradients(), new Adam(1e-3), Parallel.shared());
        x = Nd4j.randn(DataType.FLOAT, size.batch(), size.length(), c); // [B, T, C]
        y = Nd4j.randn(DataType.FLOAT, size.batch(), size.length(), c); // [B, T, C]
        grad = x.ulike();
    }

    @Override
    public void step() {
        INDArray out = fast.forward(x, AttentionMask.none()).output();
        // d mean(diff^2) / d out = 2 diff / n, on one OpenMP thread (see Parallel.singleThreadedNd4j)
        Parallel.singleThreadedNd4j(() -> grad.assign(out).subi(y).muli(2.0 / grad.length()));
        fast.backward(grad);
        training.update();
    }

    @Override
    public double loss() {
        INDArray diff = fast.forward(x, AttentionMask.none()).output().sub(y);
        return diff.mul(diff).meanNumber().doubleValue();
    }
}
