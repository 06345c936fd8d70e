package org.attn4j.engine;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.attn4j.kernels.Buf;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The flat arrays of one block call's activations, with room for {@code rowCap} query rows, {@code pairCap} self
 * scores ([B, H, T, T]), {@code memCap} memory rows and {@code crossCap} cross scores ([B, H, T, S]); it frees
 * them all at once. A backward arena ({@link #backward}) takes its arrays from a {@link BackwardScratch} that the
 * blocks of a model share instead: it owns none.
 */
final class Arena {
    /** What an array holds, for {@link #bytes}. */
    enum Kind {
        /** Rows [N, C] (and a norm's rstd [N, 1]) of the residual stream, the norms, q, k, v and o. */
        ROWS,
        /** A feed-forward's hidden rows [N, F]. */
        HIDDEN,
        /** Attention probabilities [B, H, T, T or S]. */
        SCORES
    }

    private final List<Buf> owned = new ArrayList<>();
    private final Map<Kind, Long> bytes = new EnumMap<>(Kind.class);
    private final DataType type;
    private final BackwardScratch shared; // null: the arrays are made here and owned
    final int rowCap, memCap;
    final long pairCap, crossCap;

    Arena(DataType type, int rowCap, long pairCap, int memCap, long crossCap) {
        this(type, rowCap, pairCap, memCap, crossCap, null);
    }

    private Arena(DataType type, int rowCap, long pairCap, int memCap, long crossCap, BackwardScratch shared) {
        this.type = type;
        this.rowCap = rowCap;
        this.pairCap = pairCap;
        this.memCap = memCap;
        this.crossCap = crossCap;
        this.shared = shared;
    }

    /** An arena of this one's room whose arrays are {@code scratch}'s (the backward pass's of one block call). */
    Arena backward(BackwardScratch scratch) {
        return new Arena(type, rowCap, pairCap, memCap, crossCap, scratch);
    }

    /** Query rows [N, width]. */
    Buf rows(int width) {
        return flat((long) rowCap * width, Kind.ROWS);
    }

    /** A feed-forward's hidden rows [N, width]. */
    Buf hidden(int width) {
        return flat((long) rowCap * width, Kind.HIDDEN);
    }

    /** Attention probabilities: [B, H, T, T] for self-attention, [B, H, T, S] over the memory. */
    Buf scores(boolean memory) {
        return flat(memory ? crossCap : pairCap, Kind.SCORES);
    }

    /** Memory rows [M, width]. */
    Buf memoryRows(int width) {
        return flat((long) memCap * width, Kind.ROWS);
    }

    private Buf flat(long length, Kind kind) {
        long n = Math.max(1, length);
        if (shared != null) {
            return shared.take(type, n);
        }
        Buf b = Buf.of(Nd4j.create(type, n));
        owned.add(b);
        bytes.merge(kind, n * type.width(), Long::sum);
        return b;
    }

    /** Bytes of the arrays of {@code kind} made here (none for a backward arena: its arrays are the scratch's). */
    long bytes(Kind kind) {
        return bytes.getOrDefault(kind, 0L);
    }

    /** Frees every array made here. */
    void close() {
        owned.forEach(Buf::close);
        owned.clear();
        bytes.clear();
    }

    /** Room for {@code need}: {@code have} if it is enough, else twice {@code have} but at least need, at most 2 need. */
    static long grow(long need, long have) {
        return need <= have ? have : Math.min(2 * need, Math.max(need, 2 * have));
    }
}
