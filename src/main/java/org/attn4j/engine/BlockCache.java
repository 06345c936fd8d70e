package org.attn4j.engine;

/**
 * A {@link BlockEngine}'s self-attention keys and values for incremental decoding (rows
 * {@code [B, capacity, kvHeads D]}, of which the first {@link #stored()} per batch row are filled; with a sliding
 * window, only the last positions are kept), a decoder block's memory keys and values, and the last step's
 * activations: one decoding's, made by {@link BlockEngine#newCache} and advanced by {@link BlockEngine#step}.
 */
public final class BlockCache {
    final CacheRows rows;
    BlockActivations acts; // the last step's, this decoding's own

    BlockCache(CacheRows rows) {
        this.rows = rows;
    }

    /** Frees this cache's arrays now: the decoding is over. */
    public void close() {
        rows.close();
        if (acts != null) {
            acts.close();
        }
    }

    /** Positions decoded per batch row (the next token stands at this position). */
    public int length() {
        return rows.positions();
    }

    /** Keys (and values) held per batch row: length() unless a sliding window dropped the oldest. */
    public int stored() {
        return rows.length;
    }

    /** Elements of the key and value arrays: 2 batch capacity kvHeads D (grouped-query: H / kvHeads times less). */
    public long elements() {
        return rows.elements();
    }

    /** Keeps batch rows {@code rows} (repeats allowed), in that order: beam search's reordering. */
    void select(int[] batchRows) {
        rows.select(batchRows);
    }
}
