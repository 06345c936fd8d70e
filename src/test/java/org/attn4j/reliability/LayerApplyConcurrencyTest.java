package org.attn4j.reliability;


import java.util.ArrayList;
import java.util.List;
import org.attn4j.testing.ConcurrentCalls;
import org.attn4j.config.AttentionConfig;
import org.attn4j.config.AttentionMask;
import org.attn4j.config.BlockConfig;
import org.attn4j.config.AttentionOutput;
import org.attn4j.config.BlockOutput;
import org.attn4j.nn.MultiHeadAttention;
import org.attn4j.nn.TransformerBlock;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * One encoder block, one decoder block (attending to a memory) and one attention layer (self and cross) used
 * eagerly from 4 threads (256 calls released together) give the bits sequential use gives:
 * {@code apply} reuses engine states and buffers between calls (a call's own while it runs), so results of
 * calls running at once must not see each other's, what a call returns must not change when the next call
 * reuses what it ran in, and no call may depend on what an earlier one left in them. Inputs and memories of
 * several shapes, so states are outgrown and buffers of different sizes come and go.
 */
class LayerApplyConcurrencyTest {
    @Test
    void fourThreadsApplyingBlocksAndAnAttentionAgreeWithSequentialUse() throws Exception {
        Nd4j.getRandom().setSeed(21);
        TransformerBlock block = TransformerBlock.create(BlockConfig.encoder(32, 4, 64), DataType.FLOAT);
        TransformerBlock decoder = TransformerBlock.create(BlockConfig.decoder(32, 4, 64), DataType.FLOAT);
        MultiHeadAttention attention = MultiHeadAttention.create(AttentionConfig.of(32, 4), DataType.FLOAT);
        List<INDArray> inputs = new ArrayList<>(), memories = new ArrayList<>();
        for (int i = 0; i < 16; i++) {
            inputs.add(Nd4j.randn(DataType.FLOAT, 1 + i % 3, 5 + i % 4, 32));
            memories.add(Nd4j.randn(DataType.FLOAT, 1 + i % 3, 3 + (i * 5) % 7, 32));
        }
        List<Integer> indices = java.util.stream.IntStream.range(0, inputs.size()).boxed().toList();
        ConcurrentCalls.assertSameAsSequential("blocks and attention applied", 4, 16, indices,
                i -> List.of(call(block, decoder, attention, inputs.get(i), memories.get(i))));
    }

    /** Every result of one round of calls, as the calls returned them (no copies). */
    private static INDArray[] call(TransformerBlock block, TransformerBlock decoder, MultiHeadAttention attention,
            INDArray x, INDArray memory) {
        BlockOutput<INDArray> b = block.apply(x, AttentionMask.none());
        BlockOutput<INDArray> d = decoder.apply(x, memory, AttentionMask.causalOnly(), AttentionMask.none());
        AttentionOutput<INDArray> a = attention.apply(x, x, x, AttentionMask.none());
        AttentionOutput<INDArray> c = attention.apply(x, memory, memory, AttentionMask.none());
        return new INDArray[] {b.output(), b.selfWeights(), d.output(), d.selfWeights(), d.crossWeights(), a.output(),
            a.weights(), c.output(), c.weights()};
    }
}
