package org.attn4j.engine;

/**
 * A {@link BlockEngine}'s self-attention keys and values for incremental decoding (rows
 * {@code [B, capacity, kvHeads D]}, of which the first {@link #stored()} per batch row are filled; with a sliding
 * window, only the last positions are kept), a decoder block's memory keys and values, and the last step's
 * activations (or a previous block's: {@link #shareActivations}): one decoding's, made by {@link BlockEngine#newCache}
 * and advanced by {@link BlockEngine#step}.
 */
public final class BlockCache {
    final CacheRows rows;
    BlockActivations acts; // the last step's, this decoding's own

    BlockCache(CacheRows rows) {
        this.rows = rows;
    }

    /**
     * Steps in {@code previous}'s activations from now on when they are of this block's shape ({@code layout}: the
     * same config and type): the blocks of a decoding step run one after the other, so one set of rows serves them
     * all (for a 1,024-token prompt of GPT-2-small, ~70 MB a block). The next step's input, the previous
     * block's output, is copied into the rows' input first.
     */
    void shareActivations(BlockCache previous, BlockActivations.Layout layout) {
        BlockActivations p = previous.acts;
        if (p != null && p.layout.config().equals(layout.config()) && p.layout.type() == layout.type()) {
            acts = p;
        }
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
