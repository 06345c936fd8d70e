package org.attn4j.model;

import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Every attention weight of one forward pass, per layer, each {@code [B, H, Tq, Tk]}.
 *
 * @param encoderSelf encoder self-attention, one per encoder layer (empty for a language model)
 * @param decoderSelf decoder (or language model) self-attention, one per layer
 * @param cross       decoder cross-attention over the source, one per layer (empty for a language model)
 */
public record AttentionMaps(List<INDArray> encoderSelf, List<INDArray> decoderSelf, List<INDArray> cross) {
}
