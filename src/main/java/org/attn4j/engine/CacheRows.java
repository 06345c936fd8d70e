package org.attn4j.engine;

import java.util.stream.IntStream;
import org.attn4j.kernels.Buf;
import org.attn4j.kernels.MaskRows;
import org.attn4j.kernels.RowMath;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The arrays of one block's decoding: the self-attention's keys and values {@code [B, capacity, KV]} (KV = kvHeads D;
 * key/value head j in columns [j D, (j + 1) D)), of which the first {@link #length} per batch row are filled (with a
 * sliding window, only the last positions are kept); a decoder block's memory keys and values {@code [B, S, C]},
 * computed once; the step's scores {@code [B, H, Tnew, length + Tnew]}, grown on demand (one decoding's blocks may
 * share one array: {@link #shareScores}).
 */
final class CacheRows {
    final int batch, limit, kvWidth, window;
    private final DataType type;
    int capacity, length; // length: positions held per row (after a window's eviction, the last ones)
    int evicted; // positions per row dropped from the front (sliding window)
    Buf keys, values;
    private Scores scores = new Scores(); // this block's own, or one another block's cache shares (shareScores)
    private boolean sharedScores;
    int memoryLength, memoryWidth; // S (0 for a self-attention block) and C of a decoder block's memory
    Buf memoryKeys, memoryValues, memoryKeep; // keep [B, S] or null

    CacheRows(int batch, int limit, int kvWidth, int window, DataType type) {
        this.batch = batch;
        this.limit = limit;
        this.kvWidth = kvWidth;
        this.window = window;
        this.type = type;
        allocate(Math.min(limit, 64), IntStream.range(0, batch).toArray());
    }

    /** Positions decoded per batch row (the next token stands at this position). */
    int positions() {
        return evicted + length;
    }

    /** The memory's key padding for {@code t} new queries of {@code heads} heads. */
    MaskRows memoryMask(int t, int heads) {
        return MaskRows.padding(memoryKeep, t, memoryLength, heads, false);
    }

    /** Room for the memory's keys and values, [B, S, width] each. */
    void memory(int s, int width) {
        memoryLength = s;
        memoryWidth = width;
        memoryKeys = Buf.of(Nd4j.create(type, (long) batch * s, width));
        memoryValues = Buf.of(Nd4j.create(type, (long) batch * s, width));
    }

    /** New arrays of {@code newCapacity} positions per row, holding row {@code rows[i]}'s cache as row i. */
    private void allocate(int newCapacity, int[] rows) {
        Buf k = Buf.of(Nd4j.create(type, (long) rows.length * newCapacity, kvWidth));
        Buf v = Buf.of(Nd4j.create(type, (long) rows.length * newCapacity, kvWidth));
        int c = kvWidth;
        for (int i = 0; i < rows.length && length > 0; i++) {
            RowMath.copy(keys, rows[i] * capacity * c, k, i * newCapacity * c, length * c);
            RowMath.copy(values, rows[i] * capacity * c, v, i * newCapacity * c, length * c);
        }
        if (keys != null) {
            keys.close();
            values.close();
        }
        keys = k;
        values = v;
        capacity = newCapacity;
    }

    /** Room for {@code total} positions per row, doubling the arrays when needed. */
    void ensure(int total) {
        if (total > capacity) {
            allocate((int) Math.min(limit, Arena.grow(total, capacity)), IntStream.range(0, batch).toArray());
        }
    }

    /** Room for {@code need} scores. */
    void ensureScores(long need) {
        scores.ensure(need, type);
    }

    /** The step's scores {@code [B, H, Tnew, length + Tnew]} (room made by {@link #ensureScores}). */
    Buf scores() {
        return scores.rows;
    }

    /**
     * Uses {@code owner}'s scores from now on instead of its own: the blocks of one decoding step run one after the other,
     * so one array serves them all (twelve of GPT-2-small's 50 MB for a 1,024-token prompt otherwise). The owner
     * frees it.
     */
    void shareScores(CacheRows owner) {
        scores.close();
        scores = owner.scores;
        sharedScores = true;
    }

    /** A scores array grown on demand. */
    private static final class Scores {
        Buf rows;

        void ensure(long need, DataType type) {
            if (rows == null || rows.length < need) {
                Buf old = rows;
                rows = Buf.of(Nd4j.create(type, Arena.grow(need, old == null ? 0 : old.length)));
                if (old != null) {
                    old.close();
                }
            }
        }

        void close() {
            if (rows != null) {
                rows.close();
                rows = null;
            }
        }
    }

    /**
     * Keeps only the last window - 1 positions of each row, all the next query can see (itself is the
     * window's last): a sliding-window decoding holds at most window keys whatever its length.
     */
    void evict() {
        int keep = window - 1;
        if (window == 0 || length <= keep) {
            return;
        }
        int c = kvWidth, drop = length - keep;
        for (int bi = 0; bi < batch; bi++) {
            int row = bi * capacity * c;
            for (int i = 0; i < keep * c; i++) { // ascending: the source lies after the target
                keys.put(row + i, keys.get(row + (drop * c) + i));
                values.put(row + i, values.get(row + (drop * c) + i));
            }
        }
        evicted += drop;
        length = keep;
    }

    /** Keeps batch rows {@code rows} (repeats allowed), in that order: beam search's reordering. */
    void select(int[] rows) {
        allocate(capacity, rows);
        if (memoryKeys != null) {
            memoryKeys = pick(memoryKeys, rows, memoryLength * memoryWidth);
            memoryValues = pick(memoryValues, rows, memoryLength * memoryWidth);
            memoryKeep = memoryKeep == null ? null : pick(memoryKeep, rows, memoryLength);
        }
    }

    /** Rows {@code rows} of {@code from} in a new array; {@code from} is freed. */
    private Buf pick(Buf from, int[] rows, int rowLength) {
        Buf to = Buf.of(Nd4j.create(type, (long) rows.length * rowLength));
        for (int i = 0; i < rows.length; i++) {
            RowMath.copy(from, rows[i] * rowLength, to, i * rowLength, rowLength);
        }
        from.close();
        return to;
    }

    /** Elements of the key and value arrays: 2 batch capacity kvHeads D. */
    long elements() {
        return 2L * batch * capacity * kvWidth;
    }

    /** Frees the arrays. */
    void close() {
        for (Buf b : new Buf[] {keys, values, memoryKeys, memoryValues, memoryKeep}) {
            if (b != null) {
                b.close();
            }
        }
        if (!sharedScores) {
            scores.close();
        }
    }
}
