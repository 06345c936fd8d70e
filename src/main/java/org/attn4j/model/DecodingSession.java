package org.attn4j.model;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiConsumer;
import org.attn4j.engine.DecodeEngine;
import org.attn4j.nn.WeightsLock;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Token-by-token decoding of one batch. The first {@link #advance} runs the whole prefix and keeps
 * every layer's keys and values; each later call feeds only the new token and reuses them, so a
 * step costs one token's work instead of the whole prefix's. {@link #recompute} is the slow path
 * without a cache, for checks and comparisons. Runs on the engine ({@link DecodeEngine}); the caches
 * belong to the session, so any number of sessions can decode with one model at once.
 */
public final class DecodingSession implements StepDecoder {
    private final DecodeEngine decoder;
    private final WeightsLock weightsLock;
    private final int maxLen;
    private final BiConsumer<String, INDArray> checkIds; // (what, ids [B, T]): the model's check of its input
    private final Map<String, INDArray> context; // "memory" [B, S, C], "memoryKeep" [B, S], or empty
    private int length;
    private DecodeEngine.Session engine; // the key/value caches, after the first step

    /**
     * A session on the model's {@code decoder}, reading its weights under {@code weightsLock}, over at most
     * {@code maxLen} positions; {@code checkIds} refuses tokens the model cannot take.
     */
    DecodingSession(DecodeEngine decoder, WeightsLock weightsLock, int maxLen, BiConsumer<String, INDArray> checkIds,
            Map<String, INDArray> context) {
        this.decoder = decoder;
        this.weightsLock = weightsLock;
        this.maxLen = maxLen;
        this.checkIds = checkIds;
        this.context = new LinkedHashMap<>(context);
    }

    /** Tokens fed so far. */
    public int length() {
        return length;
    }

    /**
     * Feeds {@code tokens [B, T]}: the prefix on the first call, then the new tokens. Returns the
     * log-probabilities {@code [B, V]} of the next token.
     */
    @Override
    public INDArray advance(INDArray tokens) {
        checkLength(tokens);
        if (engine == null) {
            checkIds.accept("tokens", tokens);
            engine = start((int) tokens.size(0));
        }
        INDArray logProbs = weightsLock.read(() -> engine.advance(tokens));
        length += (int) tokens.size(1);
        return logProbs;
    }

    @Override
    public INDArray restart(INDArray tokens) {
        if (engine != null) {
            engine.close();
            engine = null;
        }
        length = 0;
        return advance(tokens);
    }

    @Override
    public int maxLength() {
        return maxLen;
    }

    /** Log-probabilities {@code [B, V]} of the token after {@code prefix [B, T]}, recomputed from scratch. */
    @Override
    public INDArray recompute(INDArray prefix) {
        if (prefix.size(1) > maxLen) {
            throw new IllegalArgumentException("The prefix has " + prefix.size(1) + " tokens; the model's positions "
                    + "cover " + maxLen + " (maxLen)");
        }
        checkIds.accept("prefix", prefix);
        return weightsLock.read(() -> { // a fresh cache over the whole prefix
            try (DecodeEngine.Session once = start((int) prefix.size(0))) {
                return once.advance(prefix);
            }
        });
    }

    /** Frees the session's caches now; {@code Greedy} and {@code BeamSearch} close theirs. */
    @Override
    public void close() {
        if (engine != null) {
            engine.close();
            engine = null;
        }
        context.values().forEach(a -> { // the encoded source: made for this session
            if (a.closeable()) {
                a.close();
            }
        });
        context.clear();
    }

    /** A fresh engine decoding of {@code batch} rows: against the memory for an encoder-decoder. */
    private DecodeEngine.Session start(int batch) {
        if (context.isEmpty()) {
            return decoder.start(batch);
        }
        INDArray memory = context.get("memory");
        if (memory.size(0) != batch) {
            throw new IllegalArgumentException("tokens have batch size " + batch + " but the source has " + memory.size(0));
        }
        return decoder.start(memory, context.get("memoryKeep"));
    }

    /** Keeps batch rows {@code rows} (repeats allowed), in that order: beam search's reordering. */
    @Override
    public void select(int[] rows) {
        if (engine != null) {
            engine.select(rows);
        }
        context.replaceAll((k, v) -> {
            INDArray picked = pick(v, rows);
            if (v.closeable()) {
                v.close();
            }
            return picked;
        });
    }

    private void checkLength(INDArray tokens) {
        if (length + tokens.size(1) > maxLen) {
            throw new IllegalArgumentException("Decoding past the model's " + maxLen
                    + " positions (maxLen): " + length + " fed, " + tokens.size(1) + " more asked");
        }
    }

    /** Rows {@code rows} of {@code a} along its first axis, in that order, in a new array. */
    static INDArray pick(INDArray a, int[] rows) {
        long[] shape = a.shape().clone();
        shape[0] = rows.length;
        INDArray out = Nd4j.create(a.dataType(), shape);
        for (int i = 0; i < rows.length; i++) {
            out.slice(i).assign(a.slice(rows[i]));
        }
        return out;
    }
}
