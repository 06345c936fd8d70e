package org.attn4j.reliability;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import org.attn4j.config.AttentionMask;
import org.attn4j.config.BlockConfig;
import org.attn4j.decode.Greedy;
import org.attn4j.model.ModelConfig;
import org.attn4j.model.Seq2SeqTransformer;
import org.attn4j.config.BlockOutput;
import org.attn4j.nn.TransformerBlock;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Length 1 and batch 1 work, for layers and whole models, in float32 and float64. */
class EdgeSizesTest {
    @Test
    void oneTokenAndOneSequence() {
        for (DataType type : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
            TransformerBlock block = TransformerBlock.create(BlockConfig.decoder(8, 2, 16), type);
            BlockOutput<INDArray> o = block.apply(Nd4j.randn(type, 1, 1, 8), Nd4j.randn(type, 1, 1, 8),
                    AttentionMask.causalOnly(), AttentionMask.none());
            assertArrayEquals(new long[] {1, 1, 8}, o.output().shape());
            assertEquals(1.0, o.selfWeights().getDouble(0, 0, 0, 0), 1e-6, "a lone token attends to itself");
            assertFalse(o.output().isNaN().any());

            Nd4j.getRandom().setSeed(3);
            Seq2SeqTransformer m = new Seq2SeqTransformer(ModelConfig.seq2seq(9, 8, 2, 16, 1, 4), type);
            INDArray one = Nd4j.createFromArray(new int[][] {{5}}).castTo(DataType.INT);
            assertArrayEquals(new long[] {1, 1, 9}, m.predict(one, one).shape());
            assertEquals(1, Greedy.decode(m, one, Nd4j.ones(DataType.INT, 1, 1), 2, 1, true).size());
        }
    }
}
