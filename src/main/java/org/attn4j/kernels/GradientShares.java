package org.attn4j.kernels;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Parameter gradients summed over rows by several workers: part p of {@code parts} sums its share of the rows
 * into a place of its own (part 0 into the gradient itself, the others into scratch kept here), and
 * {@link #reduce} adds the parts up. A linear layer's {@code dW = dy^T x} this way keeps OpenBLAS's product whole
 * in M and N, which measured faster than splitting W's rows (BENCHMARKS.md). Weights named as taken {@link
 * #OUTPUT_ROWS by output rows} instead have no scratch: part p writes rows [o0, o1) of dW over all the rows into
 * the gradient itself, and there is nothing to add up (their biases keep their row shares).
 */
public final class GradientShares {
    /**
     * Weights of at least this many elements may take their gradient by ranges of output rows over the workers
     * (no per-worker copy of dW: 9.4 MB for one of GPT-2's feed-forward weights, 154 MB for its head); smaller ones
     * keep their row shares (and their products whole).
     */
    public static final long OUTPUT_ROWS = 1L << 20;
    private final Map<String, INDArray> gradients;
    private final Set<String> byOutputRows;
    private final Map<String, Buf> own = new HashMap<>();
    private final List<Map<String, Buf>> scratch = new ArrayList<>(); // parts 1 .. parts - 1
    private final List<INDArray> made = new ArrayList<>();

    /** Shares of {@code gradients} (by parameter name) for up to {@code parts} parts; scratch made here, zeros. */
    public GradientShares(Map<String, INDArray> gradients, int parts) {
        this(gradients, scratch(gradients, parts), Set.of(), true);
    }

    /**
     * Shares of {@code gradients} whose parts 1 .. {@code scratch.size()} sum into the caller's arrays: part p's
     * {@code scratch.get(p - 1)} has an array for every gradient's name, of its type and number of elements (any
     * shape). Shares that never run at once (a model's blocks, one backward after the other) can use the same.
     */
    public GradientShares(Map<String, INDArray> gradients, List<Map<String, INDArray>> scratch) {
        this(gradients, scratch, Set.of(), false);
    }

    /**
     * As above, with the linear weights in {@code byOutputRows} taken by output rows: they need no scratch (and
     * {@link #linear} is their only writer).
     */
    public GradientShares(Map<String, INDArray> gradients, List<Map<String, INDArray>> scratch, Set<String> byOutputRows) {
        this(gradients, scratch, byOutputRows, false);
    }

    private GradientShares(Map<String, INDArray> gradients, List<Map<String, INDArray>> parts, Set<String> byOutputRows,
            boolean own) {
        this.gradients = gradients;
        this.byOutputRows = Set.copyOf(byOutputRows);
        gradients.forEach((name, g) -> this.own.put(name, Buf.of(g)));
        for (Map<String, INDArray> given : parts) {
            Map<String, Buf> part = new HashMap<>();
            gradients.forEach((name, g) -> {
                if (this.byOutputRows.contains(name)) {
                    return;
                }
                INDArray s = given.get(name);
                if (s == null || s.length() != g.length() || s.dataType() != g.dataType()) {
                    throw new IllegalArgumentException("share scratch of '" + name + "': expected " + g.length() + " "
                            + g.dataType() + " elements, given " + (s == null ? "none" : s.length() + " "
                            + s.dataType()));
                }
                part.put(name, Buf.of(s));
                if (own) {
                    made.add(s);
                }
            });
            scratch.add(part);
        }
    }

    /** Zero arrays for parts 1 .. parts - 1 of {@code gradients}. */
    private static List<Map<String, INDArray>> scratch(Map<String, INDArray> gradients, int parts) {
        List<Map<String, INDArray>> all = new ArrayList<>();
        for (int p = 1; p < parts; p++) {
            Map<String, INDArray> part = new HashMap<>();
            gradients.forEach((name, g) -> part.put(name, Nd4j.zeros(g.dataType(), g.shape())));
            all.add(part);
        }
        return all;
    }

    /** Where part {@code part} writes {@code name}'s sum: the gradient for part 0, else its scratch. */
    public Buf of(int part, String name) {
        return part == 0 ? own.get(name) : scratch.get(part - 1).get(name);
    }

    /** The parts in use. */
    public int parts() {
        return scratch.size() + 1;
    }

    /**
     * Part {@code part} of a linear layer's gradients over rows [0, n): {@code weight [out, in]} gets the sum over
     * its share of the rows of {@code dy[r]^T x[r]} (taken by output rows: its share of the output rows, over all
     * the rows, written into the gradient), {@code bias [out]} (null: none) of {@code dy[r]}.
     */
    public void linear(String weight, String bias, Buf dy, Buf x, int n, int in, int out, int part) {
        int r0 = Parallel.split(n, parts(), part), r1 = Parallel.split(n, parts(), part + 1);
        if (byOutputRows.contains(weight)) {
            int o0 = Parallel.split(out, parts(), part), o1 = Parallel.split(out, parts(), part + 1);
            Blas.gemm(true, false, o1 - o0, in, n, 1, new Strided(dy, o0, out), new Strided(x, 0, in), 0,
                    new Strided(own.get(weight), (long) o0 * in, in));
        } else {
            Blas.gemm(true, false, out, in, r1 - r0, 1, new Strided(dy, (long) r0 * out, out),
                    new Strided(x, (long) r0 * in, in), 0, new Strided(of(part, weight), 0, in));
        }
        if (bias != null) {
            RowMath.columnSums(dy, null, of(part, bias), r0, r1, out, 0, out);
        }
    }

    /** Adds parts 1 .. of {@code names} to the gradients, the names shared out among the workers. */
    public void reduce(List<String> names, Parallel parallel) {
        if (scratch.isEmpty()) {
            return;
        }
        parallel.forRange(names.size(), (i0, i1) -> {
            for (int i = i0; i < i1; i++) {
                if (byOutputRows.contains(names.get(i))) {
                    continue; // written whole by linear
                }
                Buf g = own.get(names.get(i));
                for (Map<String, Buf> part : scratch) {
                    RowMath.add(g, part.get(names.get(i)), g, 0, 1, g.length);
                }
            }
        });
    }

    /** Frees the scratch now. */
    public void close() {
        made.forEach(a -> {
            if (a.closeable()) {
                a.close();
            }
        });
        made.clear();
        scratch.clear();
    }

    /** The gradients these shares add up into. */
    public Map<String, INDArray> gradients() {
        return gradients;
    }
}
