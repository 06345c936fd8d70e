package org.attn4j.model;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.attn4j.nn.KvCache;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Token-by-token decoding of one batch. The first {@link #advance} runs the whole prefix and keeps
 * every layer's keys and values; each later call feeds only the new token and reuses them, so a
 * step costs one token's work instead of the whole prefix's. {@link #recompute} is the slow path
 * without a cache, for checks and comparisons.
 */
public final class DecodingSession implements AutoCloseable {
    private final TransformerModel model;
    private final SameDiff sd;
    private Map<String, INDArray> context; // "memory" [B, S, C], "memoryKeep" [B, S], or empty
    private List<KvCache<INDArray>> cache; // per layer [B, H, T, D]; null before the first step
    private int length;
    private final org.attn4j.nn.FastDecoder fastDecoder; // null: the SameDiff graphs
    private org.attn4j.nn.FastDecoder.Session fast; // the fast path's caches, after the first step

    DecodingSession(TransformerModel model, Map<String, INDArray> context) {
        this.model = model;
        this.sd = model.sameDiff();
        this.context = new LinkedHashMap<>(context);
        this.fastDecoder = model.fastDecoder();
    }

    /** Tokens fed so far. */
    public int length() {
        return length;
    }

    /**
     * Feeds {@code tokens [B, T]}: the prefix on the first call, then the new tokens. Returns the
     * log-probabilities {@code [B, V]} of the next token.
     */
    public INDArray advance(INDArray tokens) {
        if (fastDecoder != null) {
            checkLength(tokens);
            if (fast == null) {
                model.checkIds("tokens", tokens, model.config().targetVocab()); // the graph path's checks and messages
                fast = start((int) tokens.size(0));
            }
            INDArray logProbs = model.graphLock().read(() -> fast.advance(tokens));
            length += (int) tokens.size(1);
            return logProbs;
        }
        TransformerModel.DecodeGraph g = cache == null ? model.fullGraph() : model.stepGraph();
        checkLength(tokens);
        Map<String, INDArray> feeds = feeds(g, tokens);
        for (int i = 0; cache != null && i < cache.size(); i++) {
            feeds.put(g.past().get(i).keys(), cache.get(i).keys());
            feeds.put(g.past().get(i).values(), cache.get(i).values());
        }
        List<String> outputs = new ArrayList<>(List.of(g.logProbs()));
        g.caches().forEach(c -> outputs.addAll(List.of(c.keys(), c.values())));
        Map<String, INDArray> r = model.graphLock().read(() -> sd.output(feeds, outputs));
        List<KvCache<INDArray>> grown = new ArrayList<>();
        g.caches().forEach(c -> grown.add(new KvCache<>(r.get(c.keys()), r.get(c.values()))));
        cache = grown;
        length += (int) tokens.size(1);
        return r.get(g.logProbs());
    }

    /** Log-probabilities {@code [B, V]} of the token after {@code prefix [B, T]}, recomputed from scratch. */
    public INDArray recompute(INDArray prefix) {
        if (prefix.size(1) > model.positions.maxLen()) {
            throw new IllegalArgumentException("The prefix has " + prefix.size(1) + " tokens; the model's positions "
                    + "cover " + model.positions.maxLen() + " (maxLen)");
        }
        if (fastDecoder != null) { // a fresh cache over the whole prefix
            model.checkIds("prefix", prefix, model.config().targetVocab());
            return model.graphLock().read(() -> {
                try (org.attn4j.nn.FastDecoder.Session once = start((int) prefix.size(0))) {
                    return once.advance(prefix);
                }
            });
        }
        TransformerModel.DecodeGraph g = model.fullGraph();
        Map<String, INDArray> feeds = feeds(g, prefix);
        return model.graphLock().read(() -> sd.output(feeds, g.logProbs()).get(g.logProbs()));
    }

    /** Frees the session's caches now; {@code Greedy} and {@code BeamSearch} close theirs. */
    @Override
    public void close() {
        if (fast != null) {
            fast.close();
            fast = null;
        }
        context.values().forEach(a -> { // the encoded source: made for this session
            if (a.closeable()) {
                a.close();
            }
        });
        context.clear();
    }

    /** A fresh engine decoding of {@code batch} rows: against the memory for an encoder-decoder. */
    private org.attn4j.nn.FastDecoder.Session start(int batch) {
        if (context.isEmpty()) {
            return fastDecoder.start(batch);
        }
        INDArray memory = context.get("memory");
        if (memory.size(0) != batch) {
            throw new IllegalArgumentException("tokens have batch size " + batch + " but the source has " + memory.size(0));
        }
        return fastDecoder.start(memory, context.get("memoryKeep"));
    }

    /** Keeps batch rows {@code rows} (repeats allowed), in that order: beam search's reordering. */
    public void select(int[] rows) {
        if (fast != null) {
            fast.select(rows);
        }
        context.replaceAll((k, v) -> {
            INDArray picked = pick(v, rows);
            if (v.closeable()) {
                v.close();
            }
            return picked;
        });
        if (cache != null) {
            cache = cache.stream().map(c -> new KvCache<>(pick(c.keys(), rows), pick(c.values(), rows))).toList();
        }
    }

    private Map<String, INDArray> feeds(TransformerModel.DecodeGraph g, INDArray tokens) {
        Map<String, INDArray> feeds = new HashMap<>();
        feeds.put(g.tokens(), tokens.castTo(DataType.INT));
        g.context().forEach((k, name) -> feeds.put(name, context.get(k)));
        return feeds;
    }

    private void checkLength(INDArray tokens) {
        if (length + tokens.size(1) > model.positions.maxLen()) {
            throw new IllegalArgumentException("Decoding past the model's " + model.positions.maxLen()
                    + " positions (maxLen): " + length + " fed, " + tokens.size(1) + " more asked");
        }
    }

    private static INDArray pick(INDArray a, int[] rows) {
        long[] shape = a.shape().clone();
        shape[0] = rows.length;
        INDArray out = Nd4j.create(a.dataType(), shape);
        for (int i = 0; i < rows.length; i++) {
            out.slice(i).assign(a.slice(rows[i]));
        }
        return out;
    }
}
