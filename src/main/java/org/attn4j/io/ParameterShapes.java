package org.attn4j.io;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiConsumer;
import org.attn4j.config.Activation;
import org.attn4j.model.ModelConfig;
import org.attn4j.config.Normalization;
import org.attn4j.nn.PositionalEncoding;

/**
 * The parameters a {@link ModelConfig} implies, name to shape, in the order the model creates them,
 * worked out without building the model: a checkpoint's weights are checked against this before
 * anything is allocated. {@code ParameterShapesTest} holds it equal to the parameters of built models.
 */
public final class ParameterShapes {
    private ParameterShapes() {
    }

    /** Name to shape of every parameter of the LanguageModel or Seq2SeqTransformer {@code config} describes. */
    public static Map<String, long[]> of(ModelConfig config) {
        Map<String, long[]> p = new LinkedHashMap<>();
        forEach(config, p::put);
        return p;
    }

    /**
     * Hands each parameter's name and shape to {@code p}, in creation order. A caller that checks a
     * file against a configuration claiming a billion layers can stop at the first one missing.
     */
    public static void forEach(ModelConfig config, BiConsumer<String, long[]> p) {
        long c = config.dModel();
        p.accept("embedding.weight", new long[] {config.targetVocab(), c});
        positions(p, "positions", config);
        stack(p, "decoder", config, config.decoderLayers(), config.isSeq2Seq());
        if (!config.tieEmbeddings()) {
            linear(p, "head", c, config.targetVocab(), config.bias());
        }
        if (config.isSeq2Seq()) {
            p.accept("source_embedding.weight", new long[] {config.sourceVocab(), c});
            positions(p, "source_positions", config);
            stack(p, "encoder", config, config.encoderLayers(), false);
        }
    }

    private static void positions(BiConsumer<String, long[]> p, String name, ModelConfig config) {
        if (config.positions() == PositionalEncoding.LEARNED) {
            p.accept(name + ".weight", new long[] {config.maxLen(), config.dModel()});
        }
    }

    /** Blocks {@code name.layers.i} and, for pre-LN, the final {@code name.norm}. */
    private static void stack(BiConsumer<String, long[]> p, String name, ModelConfig config, int layers, boolean cross) {
        long c = config.dModel(), f = config.ffDim();
        long kv = (long) config.kvHeads() * (c / config.heads()); // grouped-query: the self-attention's k and v width
        boolean bias = config.bias(), rms = config.norm() == Normalization.RMS;
        for (int i = 0; i < layers; i++) {
            String block = name + ".layers." + i;
            attention(p, block + ".self_attn", c, kv, bias);
            if (cross) {
                attention(p, block + ".cross_attn", c, c, bias);
            }
            linear(p, block + ".ff.linear1", c, f, bias);
            linear(p, block + ".ff.linear2", f, c, bias);
            if (config.activation() == Activation.SWIGLU) {
                linear(p, block + ".ff.gate", c, f, bias);
            }
            norm(p, block + ".norm1", c, rms);
            norm(p, block + ".norm2", c, rms);
            if (cross) {
                norm(p, block + ".norm3", c, rms);
            }
        }
        if (config.normFirst()) {
            norm(p, name + ".norm", c, rms);
        }
    }

    /** q and out {@code [C, C]}, k and v {@code [kv, C]} (kv = kvHeads D). */
    private static void attention(BiConsumer<String, long[]> p, String name, long c, long kv, boolean bias) {
        linear(p, name + ".q", c, c, bias);
        linear(p, name + ".k", c, kv, bias);
        linear(p, name + ".v", c, kv, bias);
        linear(p, name + ".out", c, c, bias);
    }

    /** PyTorch's layout: {@code weight [out, in]}, {@code bias [out]} (if any). */
    private static void linear(BiConsumer<String, long[]> p, String name, long in, long out, boolean bias) {
        p.accept(name + ".weight", new long[] {out, in});
        if (bias) {
            p.accept(name + ".bias", new long[] {out});
        }
    }

    /** LayerNorm {@code weight [C]} and {@code bias [C]}; RMSNorm only the weight. */
    private static void norm(BiConsumer<String, long[]> p, String name, long c, boolean rms) {
        p.accept(name + ".weight", new long[] {c});
        if (!rms) {
            p.accept(name + ".bias", new long[] {c});
        }
    }
}
