package org.attn4j.samediff;

import java.util.ArrayList;
import java.util.List;
import org.attn4j.config.AttentionMask;
import org.attn4j.model.Decoder;
import org.attn4j.nn.KvCache;
import org.attn4j.nn.TransformerBlock;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;

/** A {@link Decoder} in a SameDiff graph: its causal blocks (with or without cross-attention), then the final norm. */
public final class DecoderGraph {
    /**
     * @param output       {@code [B, T, C]}
     * @param selfWeights  per layer {@code [B, H, T, Tpast + T]}
     * @param crossWeights per layer {@code [B, H, T, S]} (empty without cross-attention)
     * @param caches       per layer, the self-attention keys and values including the new tokens
     */
    public record Output(SDVariable output, List<SDVariable> selfWeights, List<SDVariable> crossWeights,
            List<KvCache<SDVariable>> caches) {
    }

    private final List<TransformerBlockGraph> layers = new ArrayList<>();
    private final NormGraph norm;
    private final boolean cross;

    public DecoderGraph(SameDiff sd, Decoder decoder) {
        for (TransformerBlock block : decoder.blocks()) {
            layers.add(new TransformerBlockGraph(sd, block));
        }
        this.norm = decoder.norm() == null ? null : new NormGraph(sd, decoder.norm());
        this.cross = decoder.crossAttention();
    }

    /** The number of blocks. */
    public int layers() {
        return layers.size();
    }

    /**
     * {@code x [B, T, C]} after the cached tokens ({@code past} null for none), attending to
     * {@code memory [B, S, C]} with {@code memoryKeep [B, S]} when there is cross-attention;
     * {@code selfKeep [B, T]} (or null) masks padded target positions.
     */
    public Output forward(SDVariable x, SDVariable selfKeep, List<KvCache<SDVariable>> past, SDVariable memory,
            SDVariable memoryKeep) {
        List<SDVariable> self = new ArrayList<>(), crossWeights = new ArrayList<>();
        List<KvCache<SDVariable>> caches = new ArrayList<>();
        for (int i = 0; i < layers.size(); i++) {
            TransformerBlockGraph.Step s;
            if (past == null && selfKeep != null) {
                AttentionMask<SDVariable> selfMask = AttentionMask.ofPadding(selfKeep);
                var o = cross ? layers.get(i).forward(x, memory, selfMask, AttentionMask.ofPadding(memoryKeep))
                        : layers.get(i).forward(x, selfMask);
                s = new TransformerBlockGraph.Step(o, null);
            } else {
                s = layers.get(i).step(x, past == null ? null : past.get(i), cross ? memory : null,
                        cross ? AttentionMask.ofPadding(memoryKeep) : null);
            }
            x = s.output().output();
            self.add(s.output().selfWeights());
            if (cross) {
                crossWeights.add(s.output().crossWeights());
            }
            caches.add(s.cache());
        }
        return new Output(norm == null ? x : norm.forward(x), self, crossWeights, caches);
    }
}
