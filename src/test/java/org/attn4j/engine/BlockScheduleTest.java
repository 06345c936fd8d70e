package org.attn4j.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.attn4j.config.BlockConfig;
import org.attn4j.kernels.Parallel;
import org.attn4j.nn.TransformerBlock;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * The parallel regions {@link BlockEngine} derives from its sublayers are those its fast path was written with
 * (ENGINE-LAYOUT 5.3, by hand: three forward regions for a self-attention block, six for a decoder block, row work
 * merged up to each pairs step) and those its class comment prints. Whether they compute the right thing is the
 * parity and gradient tests' job; this one keeps the regions from multiplying unseen.
 */
class BlockScheduleTest {
    @Test
    void aSelfAttentionBlockRunsThreeForwardRegionsAndFourBackward() {
        BlockConfig config = BlockConfig.encoder(8, 2, 16);
        BlockEngine engine = BlockEngine.of(config, TransformerBlock.create(config, DataType.FLOAT).weights(),
                new Parallel(1));
        assertEquals("""
                forward:  rows[self.in]  pairs[self.attend]  rows[self.out, ff.in, ff.out]
                backward: rows[ff.outBack, ff.inBack, self.outBack]  pairs[self.attendBack]  rows[self.inBack]  \
                weightGrads[ff, self]""", engine.schedule());
    }

    @Test
    void aDecoderBlockAddsTheMemoryRowsAndOnePairsStepWithItsRows() {
        BlockConfig config = BlockConfig.decoder(8, 2, 16);
        BlockEngine engine = BlockEngine.of(config, TransformerBlock.create(config, DataType.FLOAT).weights(),
                new Parallel(1));
        assertEquals("""
                forward:  memoryRows[cross.kv]  rows[self.in]  pairs[self.attend]  rows[self.out, cross.in]  \
                pairs[cross.attend]  rows[cross.out, ff.in, ff.out]
                backward: rows[ff.outBack, ff.inBack, cross.outBack]  pairs[cross.attendBack]  \
                rows[cross.inBack, self.outBack]  pairs[self.attendBack]  rows[self.inBack]  memoryRows[cross.kvBack]  \
                weightGrads[ff, cross, self]""", engine.schedule());
    }
}
