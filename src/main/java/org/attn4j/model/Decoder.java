package org.attn4j.model;

import java.util.ArrayList;
import java.util.List;
import org.attn4j.config.AttentionMask;
import org.attn4j.nn.KvCache;
import org.attn4j.nn.Module;
import org.attn4j.nn.Norm;
import org.attn4j.nn.TransformerBlock;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * N causal blocks ({@code layers.0} ...) and, for pre-LN, a final LayerNorm or RMSNorm ({@code norm}). With
 * cross-attention they are decoder blocks attending to an encoder's memory; without, they form a
 * decoder-only language model.
 */
public final class Decoder extends Module {
    /**
     * @param output       {@code [B, T, C]}
     * @param selfWeights  per layer {@code [B, H, T, Tpast + T]}
     * @param crossWeights per layer {@code [B, H, T, S]} (empty without cross-attention)
     * @param caches       per layer, the self-attention keys and values including the new tokens
     */
    public record Output(SDVariable output, List<SDVariable> selfWeights, List<SDVariable> crossWeights,
            List<KvCache<SDVariable>> caches) {
    }

    private final List<TransformerBlock> layers = new ArrayList<>();
    private final Norm norm;
    private final boolean cross;

    public Decoder(SameDiff sd, String name, ModelConfig config, boolean crossAttention, DataType dataType) {
        super(sd, name, dataType);
        this.cross = crossAttention;
        TransformerBlock.Config block = config.block(crossAttention).withCausal(true);
        for (int i = 0; i < config.decoderLayers(); i++) {
            layers.add(child(new TransformerBlock(sd, qualify("layers." + i), block, dataType)));
        }
        this.norm = config.normFirst()
                ? (Norm) child((Module) Norm.of(config.norm(), sd, qualify("norm"), config.dModel(), config.eps(), dataType))
                : null;
    }

    public int layers() {
        return layers.size();
    }

    /** The blocks, first to last. */
    public List<TransformerBlock> blocks() {
        return List.copyOf(layers);
    }

    /** The final norm (pre-LN), or null. */
    public Norm norm() {
        return norm;
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
            TransformerBlock.Step s;
            if (past == null && selfKeep != null) {
                AttentionMask<SDVariable> selfMask = AttentionMask.ofPadding(selfKeep);
                var o = cross ? layers.get(i).forward(x, memory, selfMask, AttentionMask.ofPadding(memoryKeep))
                        : layers.get(i).forward(x, selfMask);
                s = new TransformerBlock.Step(o, null);
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
