package org.attn4j.engine;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.attn4j.kernels.Buf;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The arrays a block's backward needs only while it runs, shared by every block of a model (and by one state's
 * calls): its gradient rows ({@code dy, dx}, each sublayer's {@code dfin, dq, dp, dg, ...}) and the workers' row
 * shares of its weight gradients ({@link org.attn4j.kernels.GradientShares}). Block i's backward reads nothing
 * another block's left in them: what it passes on ({@code dx}, a decoder block's {@code dMemory}) is read before
 * the next block's backward starts, and the weight gradients' shares are added up at its end. So a model holds one
 * block's backward arrays instead of one set per block, and one block's shares (and the head's) instead of every
 * block's.
 *
 * <p>Each block call takes its arrays in the same order ({@link BlockActivations#takeBackward}): its k-th take
 * of a length gets the k-th array of that length, so blocks of one shape get the same arrays, and blocks of
 * another shape (an encoder's) get their own only where the lengths differ.
 */
final class BackwardScratch {
    private record Key(DataType type, long length) {
    }

    private final Map<Key, List<Buf>> arrays = new HashMap<>();
    private final Map<Key, Integer> taken = new HashMap<>(); // by this block call
    private final Map<Key, Integer> used = new HashMap<>(); // the most one call of this pass took
    private final int parts;
    private final Map<Key, List<INDArray>> shares = new HashMap<>(); // k-th array of a length: parts - 1 in a row

    /** Scratch for the row shares of {@code parts} workers (none for part 0, which sums into the gradients). */
    BackwardScratch(int parts) {
        this.parts = parts;
    }

    /**
     * The scratch of workers 1 .. parts - 1 for the row shares of {@code gradients} (made once per state:
     * {@link org.attn4j.kernels.GradientShares}): the k-th gradient of a length gets that length's k-th arrays, so
     * blocks of one shape share theirs. None for the weights in {@code byOutputRows}, which need none.
     */
    List<Map<String, INDArray>> shares(Map<String, INDArray> gradients, java.util.Set<String> byOutputRows) {
        List<Map<String, INDArray>> all = new ArrayList<>();
        for (int p = 1; p < parts; p++) {
            all.add(new HashMap<>());
        }
        Map<Key, Integer> ordinal = new HashMap<>();
        gradients.forEach((name, g) -> {
            if (byOutputRows.contains(name)) {
                return;
            }
            Key key = new Key(g.dataType(), g.length());
            int k = ordinal.merge(key, 1, Integer::sum) - 1;
            List<INDArray> list = shares.computeIfAbsent(key, x -> new ArrayList<>());
            for (int p = 1; p < parts; p++) {
                int i = k * (parts - 1) + p - 1;
                if (i == list.size()) {
                    list.add(Nd4j.create(g.dataType(), g.length()));
                }
                all.get(p - 1).put(name, list.get(i));
            }
        });
        return all;
    }

    /** Starts a block call's takes: its k-th take of a length gets that length's k-th array. */
    void nextCall() {
        taken.forEach((key, n) -> used.merge(key, n, Math::max));
        taken.clear();
    }

    /** The next array of {@code length} elements of this block call (made on first need). */
    Buf take(DataType type, long length) {
        Key key = new Key(type, length);
        int k = taken.merge(key, 1, Integer::sum) - 1;
        List<Buf> list = arrays.computeIfAbsent(key, x -> new ArrayList<>());
        if (k == list.size()) {
            list.add(Buf.of(Nd4j.create(type, length)));
        }
        return list.get(k);
    }

    /**
     * Ends a pass (a model's backward, or one call of a block's own state): frees the arrays no call of it took,
     * those of a shape that was outgrown. Every block call takes its arrays again, so none still points at them.
     */
    void endPass() {
        nextCall();
        arrays.forEach((key, list) -> {
            int keep = used.getOrDefault(key, 0);
            while (list.size() > keep) {
                list.remove(list.size() - 1).close();
            }
        });
        arrays.values().removeIf(List::isEmpty);
        used.clear();
    }

    /** Bytes of the gradient rows held. */
    long rowBytes() {
        return arrays.entrySet().stream().mapToLong(e -> e.getKey().length() * e.getKey().type().width()
                * e.getValue().size()).sum();
    }

    /** Bytes of the shares. */
    long shareBytes() {
        return shares.values().stream().flatMap(List::stream).mapToLong(a -> a.length() * a.dataType().width()).sum();
    }

    /** Frees every array now. */
    void close() {
        arrays.values().forEach(list -> list.forEach(Buf::close));
        arrays.clear();
        shares.values().forEach(list -> list.forEach(a -> {
            if (a.closeable()) {
                a.close();
            }
        }));
        shares.clear();
    }
}
