package org.attn4j.engine;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.attn4j.engine.Sublayer.Piece;
import org.attn4j.kernels.GradientShares;
import org.attn4j.kernels.LinearKernel;
import org.attn4j.kernels.Parallel;

/**
 * A block's passes as a fixed list of parallel regions, derived once from its sublayers: each sublayer's row work
 * is merged with its neighbours' until the next (batch, head) pairs step, so a block of k sublayers runs one row
 * region more than it has attentions, not 2k. Forward: every memory-row piece first (they read the memory only),
 * then the sublayers in order; backward: the mirror pieces in reverse order, the memory rows, then one region of
 * every sublayer's weight gradients (each worker a share of every weight's rows and every norm's columns, added
 * up by {@link org.attn4j.kernels.GradientShares#reduce}). {@link #toString} prints it
 * ({@link BlockEngine#schedule()}):
 * <pre>
 *   self-attention block
 *     forward:   rows[self.in]  pairs[self.attend]  rows[self.out, ff.in, ff.out]
 *     backward:  rows[ff.outBack, ff.inBack, self.outBack]  pairs[self.attendBack]  rows[self.inBack]
 *                weightGrads[ff, self]
 *   decoder block (cross-attention)
 *     forward:   memoryRows[cross.kv]  rows[self.in]  pairs[self.attend]  rows[self.out, cross.in]
 *                pairs[cross.attend]  rows[cross.out, ff.in, ff.out]
 *     backward:  rows[ff.outBack, ff.inBack, cross.outBack]  pairs[cross.attendBack]  rows[cross.inBack,
 *                self.outBack]  pairs[self.attendBack]  rows[self.inBack]  memoryRows[cross.kvBack]
 *                weightGrads[ff, cross, self]
 * </pre>
 */
final class BlockSchedule {
    /** Least rows per worker for a row region. */
    static final int ROW_GRAIN = 4;

    /** One parallel region of a pass. */
    private interface Region {
        void run(BlockActivations a, GradientBuffers g, Parallel parallel);
    }

    /** A sublayer's piece of row work. */
    private record Step(Sublayer<?> u, Piece piece) {
        @Override
        public String toString() {
            return u.name + "." + piece.label();
        }
    }

    /** Row work over the N query rows, or over the M memory rows (skipped by a decoding step: its memory is cached). */
    private record Rows(List<Step> steps, boolean memory) implements Region {
        @Override
        public void run(BlockActivations a, GradientBuffers g, Parallel parallel) {
            if (memory && a.step != null) {
                return;
            }
            if (a.step != null && a.n <= LinearKernel.SPLIT_ROWS) {
                // A decoding step's few rows on this thread: their products split W's output rows over the threads
                // instead (split by rows, each thread would read every weight).
                for (Step s : steps) {
                    s.u().rows(s.piece(), a, 0, a.n);
                }
                return;
            }
            parallel.forRange(memory ? a.m : a.n, ROW_GRAIN, (r0, r1) -> {
                for (Step s : steps) {
                    s.u().rows(s.piece(), a, r0, r1);
                }
            });
        }

        @Override
        public String toString() {
            return (memory ? "memoryRows" : "rows") + steps;
        }
    }

    /** One attention's (batch, head) pairs, forward or back. */
    private record Pairs(Sublayer<?> u, boolean back) implements Region {
        @Override
        public void run(BlockActivations a, GradientBuffers g, Parallel parallel) {
            u.pairs(back, a, parallel);
        }

        @Override
        public String toString() {
            return "pairs[" + u.name + (back ? ".attendBack]" : ".attend]");
        }
    }

    /** Every sublayer's weight gradients, one share per worker, then the shares added up. */
    private record WeightGrads(List<Sublayer<?>> sublayers, List<String> names) implements Region {
        @Override
        public void run(BlockActivations a, GradientBuffers g, Parallel parallel) {
            parallel.forRange(parallel.threads(), (w0, w1) -> {
                for (int w = w0; w < w1; w++) {
                    for (Sublayer<?> u : sublayers) {
                        u.weightGrads(g, a, w);
                    }
                }
            });
            g.shares.reduce(names, parallel);
        }

        @Override
        public String toString() {
            return "weightGrads" + sublayers.stream().map(u -> u.name).toList();
        }
    }

    private final List<Region> forward = new ArrayList<>(), backward = new ArrayList<>();
    private final List<String> linearGradients;
    private final Set<String> outputRowGradients;

    BlockSchedule(List<Sublayer<?>> sublayers) {
        List<Step> rows = new ArrayList<>();
        for (Sublayer<?> u : sublayers) {
            if (u.readsMemory()) {
                forward.add(0, new Rows(List.of(new Step(u, Piece.KV)), true));
            }
            rows.add(new Step(u, Piece.IN));
            if (u.attends()) {
                rows = flush(forward, rows);
                forward.add(new Pairs(u, false));
            }
            rows.add(new Step(u, Piece.OUT));
        }
        flush(forward, rows);
        List<Sublayer<?>> reversed = new ArrayList<>(sublayers);
        java.util.Collections.reverse(reversed);
        List<Region> memoryBack = new ArrayList<>();
        rows = new ArrayList<>();
        for (Sublayer<?> u : reversed) {
            rows.add(new Step(u, Piece.OUT_BACK));
            if (u.attends()) {
                rows = flush(backward, rows);
                backward.add(new Pairs(u, true));
            }
            rows.add(new Step(u, Piece.IN_BACK));
            if (u.readsMemory()) {
                memoryBack.add(new Rows(List.of(new Step(u, Piece.KV_BACK)), true));
            }
        }
        flush(backward, rows);
        backward.addAll(memoryBack);
        List<String> names = new ArrayList<>();
        reversed.forEach(u -> u.linears().forEach(l -> names.addAll(l.gradientNames())));
        linearGradients = List.copyOf(new LinkedHashSet<>(names)); // a fused LoRA path's A: once
        Set<String> byRows = new LinkedHashSet<>();
        reversed.forEach(u -> u.linears().forEach(l -> {
            if (l.gradientByOutputRows()) {
                byRows.add(l.weightName());
            }
        }));
        outputRowGradients = Set.copyOf(byRows);
        backward.add(new WeightGrads(reversed, linearGradients));
    }

    /** Adds the row steps so far as one region (if any) and returns a fresh list for the next. */
    private static List<Step> flush(List<Region> regions, List<Step> rows) {
        if (!rows.isEmpty()) {
            regions.add(new Rows(List.copyOf(rows), false));
        }
        return new ArrayList<>();
    }

    /** The gradients the linear layers' row shares add up. */
    List<String> linearGradients() {
        return linearGradients;
    }

    /** The linear weights whose gradients the workers take by output rows ({@link GradientShares#OUTPUT_ROWS}). */
    Set<String> outputRowGradients() {
        return outputRowGradients;
    }

    /** Runs the forward regions (a decoding step's too). */
    void forward(BlockActivations a, Parallel parallel) {
        forward.forEach(r -> r.run(a, null, parallel));
    }

    /** Runs the backward regions, the weight gradients into {@code g}. */
    void backward(BlockActivations a, GradientBuffers g, Parallel parallel) {
        backward.forEach(r -> r.run(a, g, parallel));
    }

    /** The regions, one pass a line: {@code forward: rows[self.in] pairs[self.attend] ...}. */
    @Override
    public String toString() {
        return "forward:  " + forward.stream().map(Object::toString).collect(Collectors.joining("  ")) + "\nbackward: "
                + backward.stream().map(Object::toString).collect(Collectors.joining("  "));
    }
}
