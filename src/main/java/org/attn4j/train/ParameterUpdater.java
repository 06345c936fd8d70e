package org.attn4j.train;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import org.attn4j.kernels.AdamKernel;
import org.attn4j.kernels.AdamStep;
import org.attn4j.kernels.Buf;
import org.attn4j.kernels.Parallel;
import org.attn4j.kernels.RowMath;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.learning.GradientUpdater;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.regularization.WeightDecay;

/**
 * Updates parameters in place from their gradients with an ND4J updater (the same {@link GradientUpdater}s
 * SameDiff's {@code fit} uses): the {@link Trainer}'s update, and a caller's that trains a block on the engine:
 *
 * <pre>
 *   ParameterUpdater updater = new ParameterUpdater(fast.parameters(), fast.gradients(), new Adam(1e-3), parallel);
 *   fast.forward(x, mask);  fast.backward(dLoss/dOutput);  updater.update();
 * </pre>
 *
 * <p>The update runs in chunks, one ND4J updater each, shared out over the workers: a parameter of
 * {@code BIG} elements or more is a chunk of its own, updated in place; the smaller ones of each worker's share
 * are copied side by side into a flat row and updated as one chunk. ND4J runs each op at a fixed cost of tens of
 * microseconds here, so an op per small parameter costs more than copying it; copying a large parameter costs
 * more than its ops. Adam, Nesterov and SGD act element by element, so the result is the per-parameter updaters'
 * to the bit. As in llm.c, the flat rows and the optimizer state are each one arena: chunk c, of n_c elements
 * starting at element s_c of all parameters, holds its k state arrays (ND4J's layout) at [k s_c, k (s_c + n_c)).
 *
 * <p>With ND4J's {@link Adam} on float32 or float64 parameters, a chunk's update (the clipping factor, Adam, the
 * decoupled weight decay, the subtraction: three or four ND4J ops) is one pass of {@link AdamKernel} instead, the
 * same operations in the same order on the same state, checked against ND4J's ops in {@code ParameterUpdaterTest}.
 */
public final class ParameterUpdater {
    static final int BIG = 8192;

    /**
     * A parameter in its chunk: its elements at [row, row + n) of the flat rows (-1 in place), at {@code offset}
     * within the chunk; {@code rowParam}, {@code rowGrad} are those places as [1, n] views.
     */
    private record Slot(String name, INDArray array, int row, int offset, INDArray rowParam, INDArray rowGrad,
            boolean decayed) {
    }

    /**
     * The parameters one ND4J updater updates: one large parameter in place ({@code params} is the parameter),
     * or small ones in a flat row ({@code params}, {@code grads}: [1, n] views of the rows). In place,
     * {@code grads} is where the step's gradient is copied to be left as it was, or null to work on it directly.
     */
    private record Chunk(List<Slot> slots, boolean inPlace, INDArray params, INDArray grads, INDArray state,
            int stateAt, GradientUpdater<?> updater) {
        int length() {
            return slots.stream().mapToInt(s -> (int) s.array().length()).sum();
        }

        Slot slot(String name) {
            return slots.stream().filter(s -> s.name().equals(name)).findFirst().orElseThrow();
        }
    }

    private final Map<String, INDArray> gradients; // the gradients update() reads; null for the trainer
    private final Adam adam; // ND4J's Adam, whose chunks AdamKernel updates; null for other updaters
    private final WeightDecay decay;
    private final DataType type;
    private final INDArray rowParams, rowGrads, state; // flat rows [1, R] twice; state [1, k T] or null
    private final Buf rowParamsBuf, rowGradsBuf, stateBuf; // stateBuf: null without state
    private final int stateArrays;
    private final WorkerShares<Chunk> chunks;
    private final List<String> names; // in the parameters' order
    private final Map<String, Chunk> chunkOf = new HashMap<>();
    private int iteration;

    /**
     * An updater of {@code parameters} (updated in place) from {@code gradients} (one array per parameter, its
     * shape), both read at every {@link #update()}; the work is shared out over {@code parallel}'s workers.
     */
    public ParameterUpdater(Map<String, INDArray> parameters, Map<String, INDArray> gradients, IUpdater updater,
            Parallel parallel) {
        this(check(parameters, gradients, updater), gradients, updater, parallel, parallel.threads(), BIG, null,
                a -> false);
    }

    /**
     * The same with the work in {@code pieces} shares (tests take more than the workers), in place from
     * {@code big} elements, and AdamW's decoupled {@code decay} (null: none) on the parameters {@code decays}
     * accepts. Without {@code gradients}, {@link #apply} is given each step's.
     */
    ParameterUpdater(Map<String, INDArray> parameters, Map<String, INDArray> gradients, IUpdater updater,
            Parallel parallel, int pieces, int big, WeightDecay decay, Predicate<INDArray> decays) {
        this.gradients = gradients;
        this.decay = decay;
        this.type = parameters.values().stream().findFirst().map(INDArray::dataType).orElse(DataType.FLOAT);
        this.adam = updater.getClass() == Adam.class && (type == DataType.FLOAT || type == DataType.DOUBLE)
                && parameters.values().stream().allMatch(a -> a.dataType() == type) ? (Adam) updater : null;
        this.names = List.copyOf(parameters.keySet());
        WorkerShares<List<String>> groups = WorkerShares.pack(names, p -> parameters.get(p).length(),
                Math.max(1, Math.min(pieces, names.size())), parallel).map(share -> groups(share, parameters, big));
        long total = 0, rows = 0;
        for (List<String> g : groups.items()) {
            long n = g.stream().mapToLong(p -> parameters.get(p).length()).sum();
            total += n;
            rows += inPlace(g, parameters, big) ? 0 : n;
        }
        rowParams = Nd4j.zeros(type, 1, Math.max(1, rows));
        rowGrads = Nd4j.zeros(type, 1, Math.max(1, rows));
        rowParamsBuf = Buf.of(rowParams);
        rowGradsBuf = Buf.of(rowGrads);
        long size = updater.stateSize(total);
        stateArrays = total == 0 ? 0 : Math.toIntExact(size / total);
        state = size == 0 ? null : Nd4j.zeros(type, 1, size);
        stateBuf = state == null || adam == null ? null : Buf.of(state);
        int[] next = {0, 0}; // the next chunk's first element of all parameters, and of the flat rows
        chunks = groups.map(share -> share.stream().map(g -> {
            boolean inPlace = inPlace(g, parameters, big);
            Chunk c = chunk(g, parameters, updater, decays, next[0], inPlace ? -1 : next[1]);
            next[0] += c.length();
            next[1] += inPlace ? 0 : c.length();
            c.slots().forEach(s -> chunkOf.put(s.name(), c));
            return c;
        }).toList());
    }

    private static Map<String, INDArray> check(Map<String, INDArray> parameters, Map<String, INDArray> gradients,
            IUpdater updater) {
        if (updater == null || gradients == null) {
            throw new IllegalArgumentException((updater == null ? "updater" : "gradients") + " is null; give "
                    + (updater == null ? "an ND4J IUpdater such as new Adam(1e-3)" : "one gradient per parameter"));
        }
        parameters.forEach((p, a) -> {
            INDArray g = gradients.get(p);
            if (g == null || !Arrays.equals(g.shape(), a.shape()) || g.dataType() != a.dataType()) {
                throw new IllegalArgumentException("Gradient of '" + p + "': expected " + a.dataType() + " "
                        + Arrays.toString(a.shape()) + ", given "
                        + (g == null ? "none" : g.dataType() + " " + Arrays.toString(g.shape())));
            }
        });
        return parameters;
    }

    /** A share's chunks: each large parameter alone, then the small ones together. */
    private static List<List<String>> groups(List<String> share, Map<String, INDArray> parameters, int big) {
        List<List<String>> groups = new ArrayList<>();
        List<String> small = new ArrayList<>();
        for (String p : share) {
            if (parameters.get(p).length() >= big) {
                groups.add(List.of(p));
            } else {
                small.add(p);
            }
        }
        if (!small.isEmpty()) {
            groups.add(small);
        }
        return groups;
    }

    private static boolean inPlace(List<String> group, Map<String, INDArray> parameters, int big) {
        return group.size() == 1 && parameters.get(group.get(0)).length() >= big;
    }

    /** The chunk of {@code group}, its elements from {@code start} of all parameters and {@code row} of the rows. */
    private Chunk chunk(List<String> group, Map<String, INDArray> parameters, IUpdater updater,
            Predicate<INDArray> decays, int start, int row) {
        boolean inPlace = row < 0;
        List<Slot> slots = new ArrayList<>();
        int offset = 0;
        for (String p : group) {
            INDArray a = parameters.get(p);
            int n = Math.toIntExact(a.length());
            slots.add(new Slot(p, a, inPlace ? -1 : row + offset, offset, inPlace ? null : view(rowParams, row + offset, n),
                    inPlace ? null : view(rowGrads, row + offset, n), decay != null && decays.test(a)));
            offset += n;
        }
        INDArray own = state == null ? null : view(state, (long) stateArrays * start, (long) stateArrays * offset);
        INDArray first = slots.get(0).array();
        INDArray params = inPlace ? first : view(rowParams, row, offset);
        INDArray grads = !inPlace ? view(rowGrads, row, offset) // Adam's pass only reads a plain in-place gradient
                : gradients == null || adam != null && plain(first) ? null : Nd4j.create(first.dataType(), first.shape());
        return new Chunk(slots, inPlace, params, grads, own, stateArrays * start, updater.instantiate(own, true));
    }

    private static INDArray view(INDArray row, long offset, long n) {
        return row.get(NDArrayIndex.point(0), NDArrayIndex.interval(offset, offset + n)).reshape(1, n);
    }

    /** Bytes of the updater's state (Adam's m and v; nothing for SGD). */
    long stateBytes() {
        return state == null ? 0 : state.length() * state.dataType().width();
    }

    /**
     * Bytes of the flat rows the small parameters and their gradients are copied into, and of the in-place chunks'
     * gradient copies (with gradients given at construction).
     */
    long rowBytes() {
        long copies = chunks.items().stream().filter(c -> c.inPlace() && c.grads() != null)
                .mapToLong(c -> c.grads().length() * c.grads().dataType().width()).sum();
        return (rowParams.length() + rowGrads.length()) * type.width() + copies;
    }

    /** Steps taken by {@link #update()} so far (the updater's iteration count). */
    public int iteration() {
        return iteration;
    }

    /** One update from the gradients given at construction; they are left as they were. */
    public void update() {
        apply(gradients, 1, iteration++, 0);
    }

    /**
     * One update from {@code grads} scaled by {@code scale}, as step {@code iteration} with learning rate
     * {@code lr} (for the weight decay). With ND4J's ops (updaters other than Adam), gradients updated in place
     * (large ones, without gradients given at construction) are changed; Adam's pass only reads them.
     */
    void apply(Map<String, INDArray> grads, double scale, int iteration, double lr) {
        if (adam != null) {
            applyAdam(grads, scale, iteration, lr);
            return;
        }
        chunks.forEach(c -> applyNd4j(c, grads, scale, iteration, lr));
    }

    /** One chunk's update by ND4J's ops: the clipping factor, the updater, the weight decay, the subtraction. */
    private void applyNd4j(Chunk c, Map<String, INDArray> grads, double scale, int iteration, double lr) {
        if (!c.inPlace()) {
            for (Slot s : c.slots()) { // into the flat rows
                into(s.array(), rowParamsBuf, s);
                into(grads.get(s.name()), rowGradsBuf, s);
            }
        }
        INDArray cg = c.inPlace() ? stepGradient(c, grads.get(c.slots().get(0).name())) : c.grads();
        if (scale < 1) {
            cg.muli(scale);
        }
        c.updater().applyUpdater(cg, iteration, 0);
        for (Slot s : c.slots()) {
            if (s.decayed()) {
                decay.apply(c.inPlace() ? c.params() : s.rowParam(), c.inPlace() ? cg : s.rowGrad(), lr, iteration, 0);
            }
        }
        c.params().subi(cg);
        if (!c.inPlace()) {
            c.slots().forEach(this::back);
        }
    }

    /** {@link #apply} with ND4J's Adam: each chunk in one {@link AdamKernel} pass per parameter; gradients only read. */
    private void applyAdam(Map<String, INDArray> grads, double scale, int iteration, double lr) {
        double alpha = AdamKernel.alpha(adam.getLearningRate(iteration, 0), adam.getBeta1(), adam.getBeta2(),
                adam.getEpsilon(), iteration, type == DataType.FLOAT);
        double decayBy = decay == null ? 0 : decay.getCoeff().valueAt(iteration, 0) * (decay.isApplyLR() ? lr : 1);
        AdamStep undecayed = new AdamStep(scale, adam.getBeta1(), adam.getBeta2(), alpha,
                adam.getEpsilon(), 0);
        AdamStep decayed = new AdamStep(scale, adam.getBeta1(), adam.getBeta2(), alpha,
                adam.getEpsilon(), decayBy);
        chunks.forEach(c -> {
            int length = c.length(), m = c.stateAt(), v = m + length; // the chunk's m, then its v
            if (c.inPlace() && !plain(c.params())) { // a parameter in another layout: ND4J's ops walk it
                applyNd4j(c, grads, scale, iteration, lr);
                return;
            }
            if (c.inPlace()) {
                Slot s = c.slots().get(0);
                INDArray g = grads.get(s.name());
                AdamKernel.update(Buf.of(s.array()), Buf.of(plain(g) ? g : g.dup('c')), stateBuf, m, stateBuf, v, 0,
                        length, s.decayed() ? decayed : undecayed);
                return;
            }
            for (Slot s : c.slots()) { // into the flat rows, updated there, and back
                into(s.array(), rowParamsBuf, s);
                into(grads.get(s.name()), rowGradsBuf, s);
                int n = (int) s.array().length();
                AdamKernel.update(rowParamsBuf, rowGradsBuf, stateBuf, m + s.offset(), stateBuf, v + s.offset(), s.row(),
                        n, s.decayed() ? decayed : undecayed);
                back(s);
            }
        });
    }

    /**
     * An in-place chunk's gradient to update: ND4J's updater walks it in memory order against its row-major
     * state, so one in another layout is copied row-major first.
     */
    private INDArray stepGradient(Chunk c, INDArray g) {
        return c.grads() != null ? c.grads().assign(g) : plain(g) ? g : g.dup('c');
    }

    /** Copies {@code a} (the slot's parameter's shape) into the slot's place in a flat row. */
    private void into(INDArray a, Buf flat, Slot s) {
        if (plain(a)) {
            RowMath.copy(Buf.of(a), 0, flat, s.row(), (int) a.length());
        } else {
            (flat == rowParamsBuf ? s.rowParam() : s.rowGrad()).assign(a.reshape(1, a.length()));
        }
    }

    /** Copies the slot's updated place in the flat rows back into the parameter. */
    private void back(Slot s) {
        INDArray param = s.array();
        if (plain(param)) {
            RowMath.copy(rowParamsBuf, s.row(), Buf.of(param), 0, (int) param.length());
        } else {
            param.assign(s.rowParam().reshape(param.shape()));
        }
    }

    /** A plain c-order array of the flat rows' type, copied element by element in Java. */
    private boolean plain(INDArray a) {
        return a.ordering() == 'c' && a.elementWiseStride() == 1 && a.dataType() == type
                && a.data().length() >= a.offset() + a.length();
    }

    /** State array {@code j} of parameter {@code p} (a [1, n] view): chunk c holds its k arrays one after the other. */
    private INDArray state(String p, int j) {
        Chunk c = chunkOf.get(p);
        Slot s = c.slot(p);
        return view(c.state(), (long) j * c.length() + s.offset(), s.array().length());
    }

    /**
     * The updater's state by parameter name, each in the layout of ND4J's updater for that parameter alone
     * ({@code [1, k N]}: Adam's m then v, Nesterov's v; none for SGD), in new arrays.
     */
    Map<String, INDArray> state() {
        Map<String, INDArray> out = new LinkedHashMap<>();
        for (String p : state == null ? List.<String>of() : names) {
            long n = chunkOf.get(p).slot(p).array().length();
            INDArray own = Nd4j.create(type, 1, stateArrays * n);
            for (int j = 0; j < stateArrays; j++) {
                view(own, j * n, n).assign(state(p, j));
            }
            out.put(p, own);
        }
        return out;
    }

    /** Takes back a {@link #state()}; every parameter's is checked before any is taken. */
    void restore(Map<String, INDArray> saved) {
        for (String p : state == null ? List.<String>of() : names) {
            INDArray s = saved.get(p);
            long expected = stateArrays * chunkOf.get(p).slot(p).array().length();
            if (s == null || s.length() != expected) {
                throw new IllegalArgumentException("Optimizer state for '" + p + "' is "
                        + (s == null ? "missing" : "of length " + s.length() + ", expected " + expected));
            }
        }
        for (String p : state == null ? List.<String>of() : names) {
            INDArray s = saved.get(p).reshape(1, saved.get(p).length());
            long n = chunkOf.get(p).slot(p).array().length();
            for (int j = 0; j < stateArrays; j++) {
                state(p, j).assign(view(s, j * n, n));
            }
        }
    }
}
