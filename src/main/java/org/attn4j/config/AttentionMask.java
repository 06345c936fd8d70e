package org.attn4j.config;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Which keys each query may attend to. One polarity everywhere: 1 = may attend, 0 = may not.
 * The parts combine: a key is attended only if every part allows it.
 *
 * <ul>
 *   <li>{@code padding} {@code [B, Tk]}: 1 for real tokens, 0 for padding;</li>
 *   <li>{@code attention} {@code [Tq, Tk]} or {@code [B, Tq, Tk]}: 1 where query i may see key j;</li>
 *   <li>{@code additive} {@code [Tq, Tk]}, {@code [B, Tq, Tk]} or {@code [B, H, Tq, Tk]}: a float
 *       bias added to the scores; {@code -inf} (or anything at or below {@code -1e30}) excludes the
 *       key like a 0 in the other masks;</li>
 *   <li>{@code causal}: query i sees keys up to i (aligned to the last key when Tq &lt; Tk, as
 *       when decoding one new token against a longer cache).</li>
 * </ul>
 *
 * <p>A query that may attend to nothing gets all-zero weights and a zero output, never NaN.
 * The type parameter is {@code INDArray} for eager use and {@code SDVariable} inside a graph.
 *
 * @param <T> INDArray or SDVariable
 */
public record AttentionMask<T>(T padding, T attention, T additive, boolean causal) {

    /** Names of the parts in {@link #parts(String)}. */
    static final String PADDING = "padding", ATTENTION = "attention", ADDITIVE = "additive";

    /** No mask: every query sees every key. */
    public static <T> AttentionMask<T> none() {
        return new AttentionMask<>(null, null, null, false);
    }

    /** Only a causal mask. */
    public static <T> AttentionMask<T> causalOnly() {
        return new AttentionMask<>(null, null, null, true);
    }

    /**
     * A ready-made causal attention mask {@code [Tq, Tk]}: 1 where key j is at or before query i,
     * aligning the last query with the last key. Same effect as {@link #withCausal()}.
     */
    public static INDArray causalArray(long tq, long tk, DataType type) {
        INDArray keep = Nd4j.zeros(type, tq, tk);
        for (long i = 0; i < tq; i++) {
            for (long j = 0; j <= Math.min(tk - 1, i + tk - tq); j++) {
                keep.putScalar(i, j, 1);
            }
        }
        return keep;
    }

    /** Only a key padding mask {@code [B, Tk]}, 1 = real token. */
    public static <T> AttentionMask<T> ofPadding(T keyKeep) {
        return AttentionMask.<T>none().withPadding(keyKeep);
    }

    public AttentionMask<T> withPadding(T keyKeep) {
        requireUnset(padding, PADDING);
        return new AttentionMask<>(keyKeep, attention, additive, causal);
    }

    public AttentionMask<T> withAttention(T keep) {
        requireUnset(attention, ATTENTION);
        return new AttentionMask<>(padding, keep, additive, causal);
    }

    public AttentionMask<T> withAdditive(T bias) {
        requireUnset(additive, ADDITIVE);
        return new AttentionMask<>(padding, attention, bias, causal);
    }

    public AttentionMask<T> withCausal() {
        return new AttentionMask<>(padding, attention, additive, true);
    }

    /** True when nothing is masked. */
    public boolean isEmpty() {
        return padding == null && attention == null && additive == null && !causal;
    }

    /** The same mask with each present part converted. */
    public <R> AttentionMask<R> map(Function<T, R> f) {
        return new AttentionMask<>(padding == null ? null : f.apply(padding),
                attention == null ? null : f.apply(attention),
                additive == null ? null : f.apply(additive), causal);
    }

    /** The present parts by name (prefixed), for feeding an eager graph. */
    public Map<String, T> parts(String prefix) {
        Map<String, T> parts = new LinkedHashMap<>();
        parts.put(prefix + PADDING, padding);
        parts.put(prefix + ATTENTION, attention);
        parts.put(prefix + ADDITIVE, additive);
        return parts;
    }

    /** Rebuilds a mask from {@link #parts(String)}-named values (absent names are null). */
    public static <R> AttentionMask<R> fromParts(Map<String, R> parts, String prefix, boolean causal) {
        return new AttentionMask<>(parts.get(prefix + PADDING), parts.get(prefix + ATTENTION),
                parts.get(prefix + ADDITIVE), causal);
    }

    private static void requireUnset(Object part, String what) {
        if (part != null) {
            throw new IllegalStateException("The " + what + " mask is already set; combine the two "
                    + "yourself (multiply 0/1 masks, add additive ones) and set it once");
        }
    }
}
