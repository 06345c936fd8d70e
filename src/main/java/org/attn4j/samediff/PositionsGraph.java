package org.attn4j.samediff;

import org.attn4j.nn.PositionalEncoding;
import org.attn4j.nn.Positions;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * {@link Positions} in a SameDiff graph: adds the sinusoidal table (a constant) or the learned one (a variable
 * holding the layer's array) to embeddings {@code [B, T, C]}; adds nothing for rotary, ALiBi and none.
 */
public final class PositionsGraph {
    private final SameDiff sd;
    private final int maxLen;
    private final SDVariable table; // [maxLen, C], or null

    public PositionsGraph(SameDiff sd, Positions layer) {
        this.sd = sd;
        this.maxLen = layer.maxLen();
        if (layer.kind() == PositionalEncoding.LEARNED) {
            this.table = Variables.of(sd, layer.parameters(), layer.learnedTable());
        } else if (layer.kind() == PositionalEncoding.SINUSOIDAL) {
            String name = (layer.name().isEmpty() ? "" : layer.name() + ".") + "sinusoidal";
            this.table = sd.hasVariable(name) ? sd.getVariable(name) : sd.constant(name, layer.table());
        } else {
            this.table = null;
        }
    }

    /** {@code x [B, T, C]} whose first token stands at {@code offset} (LONG scalar, or null for 0). */
    public SDVariable forward(SDVariable x, SDVariable offset) {
        if (table == null) {
            return x;
        }
        SDVariable start = offset == null ? sd.constant(Nd4j.scalar(DataType.LONG, 0L)) : offset;
        SDVariable one = sd.constant(Nd4j.scalar(DataType.LONG, 1L));
        SDVariable positions = sd.range(start, start.add(Graphs.size(x, 1)), one, DataType.LONG).castTo(DataType.INT);
        return x.add(EmbeddingGraph.lookup(positions, table, maxLen)); // [B, T, C] + [T, C]
    }
}
