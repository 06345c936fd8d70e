package org.attn4j.model;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.attn4j.nn.KvCache;
import org.attn4j.samediff.DecoderGraph;
import org.attn4j.samediff.ModelGraph;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.controlflow.compat.StopGradient;

/**
 * A model's SameDiff graphs ({@link ModelGraph}), built from the same layers and weights, as the independent reference the
 * engine is checked against: logits, attention maps, and decoding (a full-prefix graph and a
 * one-token graph with a key/value cache) as a {@link StepDecoder}, so {@code Greedy} and
 * {@code BeamSearch} run on it too. Users never run these graphs; the engine is the only path.
 */
final class GraphReference {
    private GraphReference() {
    }

    /** The model's graph (one per model, with its decoding graphs), built on first use. */
    static ModelGraph graph(TransformerModel m) {
        return graphs(m).model();
    }

    /** The training graph's logits {@code [B, T, V]} (no dropout: the graph is built with the model's rates). */
    static INDArray predict(TransformerModel m, INDArray source, INDArray input) {
        ModelGraph g = graph(m);
        Map<String, INDArray> feeds = g.feeds(source, input, null);
        String logits = g.logits().name();
        return run(g, () -> g.sameDiff().output(feeds, logits).get(logits));
    }

    /** SameDiff runs of one graph one at a time (its sessions are not for concurrent use with lazily built ops). */
    private static <T> T run(ModelGraph g, java.util.function.Supplier<T> work) {
        synchronized (g) {
            return work.get();
        }
    }

    /** Every attention weight of the training graph's forward pass. */
    static AttentionMaps attention(TransformerModel m, INDArray source, INDArray input) {
        ModelGraph g = graph(m);
        List<SDVariable> encoderSelf = g.encoderSelfWeights(), self = g.decoderSelfWeights(), cross = g.crossWeights();
        List<String> names = new ArrayList<>();
        for (List<SDVariable> group : List.of(encoderSelf, self, cross)) {
            group.forEach(v -> names.add(v.name()));
        }
        Map<String, INDArray> feeds = g.feeds(source, input, null);
        Map<String, INDArray> r = run(g, () -> g.sameDiff().output(feeds, names));
        return new AttentionMaps(values(encoderSelf, r), values(self, r), values(cross, r));
    }

    /** A decoding on the graphs; {@code source [B, S]} for an encoder-decoder (encoded by the graph), else null. */
    static Session decoding(TransformerModel m, INDArray source) {
        Map<String, INDArray> context = new LinkedHashMap<>();
        ModelGraph g = graph(m);
        if (m instanceof Seq2SeqTransformer) {
            Map<String, SDVariable> outputs = g.encoderOutputs();
            Map<String, INDArray> r = run(g, () -> g.sameDiff().output(
                    Map.of(ModelGraph.SOURCE, source.castTo(DataType.INT)),
                    outputs.get("memory").name(), outputs.get("memoryKeep").name()));
            context.put("memory", r.get(outputs.get("memory").name()));
            context.put("memoryKeep", r.get(outputs.get("memoryKeep").name()));
        }
        return new Session(graphs(m), context);
    }

    /**
     * @param tokens  placeholder name of the ids {@code [B, T]}
     * @param context placeholder names of the memory feeds ("memory", "memoryKeep"), if any
     * @param past    per layer, placeholder names of the cached keys and values (empty for "full")
     * @param logProbs name of the log-probabilities {@code [B, V]} of the last position
     * @param caches  per layer, the names of the grown keys and values
     */
    private record DecodeGraph(String tokens, Map<String, String> context, List<KvCache<String>> past,
            String logProbs, List<KvCache<String>> caches) {
    }

    private record Graphs(ModelGraph model, DecodeGraph full, DecodeGraph step) {
    }

    private static final Map<TransformerModel, Graphs> BUILT = new java.util.WeakHashMap<>();

    private static synchronized Graphs graphs(TransformerModel m) {
        return BUILT.computeIfAbsent(m, k -> {
            ModelGraph g = new ModelGraph(m);
            return new Graphs(g, build(g, "full", false), build(g, "step", true));
        });
    }

    private static DecodeGraph build(ModelGraph g, String prefix, boolean cached) {
        TransformerModel m = g.model();
        SameDiff sd = g.sameDiff();
        ModelConfig config = m.config();
        SDVariable ids = sd.placeHolder(prefix + ".tokens", DataType.INT, -1, -1);
        Map<String, SDVariable> context = new LinkedHashMap<>();
        if (config.isSeq2Seq()) {
            context.put("memory", sd.placeHolder(prefix + ".memory", m.dataType(), -1, -1, config.dModel()));
            context.put("memoryKeep", sd.placeHolder(prefix + ".memory_keep", m.dataType(), -1, -1));
        }
        List<KvCache<SDVariable>> past = null;
        List<KvCache<String>> pastNames = new ArrayList<>();
        SDVariable offset = null;
        if (cached) {
            past = new ArrayList<>();
            int h = config.kvHeads(), d = config.dModel() / config.heads(); // the cache keeps the key/value heads
            for (int i = 0; i < g.decoder().layers(); i++) {
                KvCache<SDVariable> c = new KvCache<>(
                        sd.placeHolder(prefix + ".cache." + i + ".keys", m.dataType(), -1, h, -1, d),
                        sd.placeHolder(prefix + ".cache." + i + ".values", m.dataType(), -1, h, -1, d));
                past.add(c);
                pastNames.add(new KvCache<>(c.keys().name(), c.values().name()));
            }
            offset = sd.sizeAt(past.get(0).keys(), 2).castTo(DataType.LONG);
        }
        DecoderGraph.Output o = g.decoder().forward(g.embed(ids, offset), null, past,
                context.get("memory"), context.get("memoryKeep"));
        SDVariable all = g.project(o.output()); // [B, T, V]
        SDVariable last = sd.reshape(sd.gather(all, sd.sizeAt(all, 1).sub(1).castTo(DataType.INT).reshape(1), 1),
                -1, config.targetVocab()); // [B, V]
        SDVariable shifted = last.sub(new StopGradient(sd, sd.max(last, true, 1)).outputVariable());
        SDVariable logProbs = shifted.sub(sd.math.log(sd.math.exp(shifted).sum(true, 1)));
        Map<String, String> contextNames = new LinkedHashMap<>();
        context.forEach((k, v) -> contextNames.put(k, v.name()));
        List<KvCache<String>> cacheNames = o.caches().stream()
                .map(c -> new KvCache<>(c.keys().name(), c.values().name())).toList();
        return new DecodeGraph(ids.name(), contextNames, pastNames, logProbs.name(), cacheNames);
    }

    /** Token-by-token decoding on the graphs: the full-prefix graph first, then the cached one-token graph. */
    static final class Session implements StepDecoder {
        private final Graphs graphs;
        private final Map<String, INDArray> context;
        private List<KvCache<INDArray>> cache; // per layer [B, H, T, D]; null before the first step

        private Session(Graphs graphs, Map<String, INDArray> context) {
            this.graphs = graphs;
            this.context = context;
        }

        @Override
        public INDArray advance(INDArray tokens) {
            DecodeGraph g = cache == null ? graphs.full() : graphs.step();
            Map<String, INDArray> feeds = feeds(g, tokens);
            for (int i = 0; cache != null && i < cache.size(); i++) {
                feeds.put(g.past().get(i).keys(), cache.get(i).keys());
                feeds.put(g.past().get(i).values(), cache.get(i).values());
            }
            List<String> outputs = new ArrayList<>(List.of(g.logProbs()));
            g.caches().forEach(c -> outputs.addAll(List.of(c.keys(), c.values())));
            ModelGraph mg = graphs.model();
            Map<String, INDArray> r = run(mg, () -> mg.sameDiff().output(feeds, outputs));
            List<KvCache<INDArray>> grown = new ArrayList<>();
            g.caches().forEach(c -> grown.add(new KvCache<>(r.get(c.keys()), r.get(c.values()))));
            cache = grown;
            return r.get(g.logProbs());
        }

        @Override
        public INDArray restart(INDArray tokens) {
            cache = null;
            return advance(tokens);
        }

        @Override
        public int maxLength() {
            return graphs.model().model().config().maxLen();
        }

        @Override
        public INDArray recompute(INDArray prefix) {
            DecodeGraph g = graphs.full();
            Map<String, INDArray> feeds = feeds(g, prefix);
            ModelGraph mg = graphs.model();
            return run(mg, () -> mg.sameDiff().output(feeds, g.logProbs()).get(g.logProbs()));
        }

        @Override
        public void select(int[] rows) {
            context.replaceAll((k, v) -> DecodingSession.pick(v, rows));
            if (cache != null) {
                cache = cache.stream().map(c -> new KvCache<>(DecodingSession.pick(c.keys(), rows),
                        DecodingSession.pick(c.values(), rows))).toList();
            }
        }

        @Override
        public void close() {
            cache = null;
        }

        private Map<String, INDArray> feeds(DecodeGraph g, INDArray tokens) {
            Map<String, INDArray> feeds = new HashMap<>();
            feeds.put(g.tokens(), tokens.castTo(DataType.INT));
            g.context().forEach((k, name) -> feeds.put(name, context.get(k)));
            return feeds;
        }
    }

    private static List<INDArray> values(List<SDVariable> vars, Map<String, INDArray> computed) {
        return vars.stream().map(v -> computed.get(v.name())).toList();
    }
}
