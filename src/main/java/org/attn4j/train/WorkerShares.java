package org.attn4j.train;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.ToLongFunction;
import org.attn4j.kernels.Parallel;

/**
 * Work shared out over a {@link Parallel}'s workers: {@code n} lists of about equal total size, packed largest
 * item first, each into the list with the least so far. Every share runs its ND4J ops on one OpenMP thread
 * (with more, OpenMP keeps spinning after each op on the cores the engine's next pass needs).
 */
final class WorkerShares<T> {
    private final Parallel parallel;
    private final List<List<T>> lists;

    private WorkerShares(Parallel parallel, List<List<T>> lists) {
        this.parallel = parallel;
        this.lists = lists;
    }

    /** {@code items} packed into {@code n} lists by {@code size} (ties keep the items' order). */
    static <T> WorkerShares<T> pack(List<T> items, ToLongFunction<T> size, int n, Parallel parallel) {
        List<List<T>> lists = new ArrayList<>();
        long[] sizes = new long[n];
        for (int i = 0; i < n; i++) {
            lists.add(new ArrayList<>());
        }
        items.stream().sorted((a, b) -> Long.compare(size.applyAsLong(b), size.applyAsLong(a))).forEach(item -> {
            int least = 0;
            for (int i = 1; i < n; i++) {
                least = sizes[i] < sizes[least] ? i : least;
            }
            lists.get(least).add(item);
            sizes[least] += size.applyAsLong(item);
        });
        return new WorkerShares<>(parallel, lists);
    }

    /** The same shares with each list turned into another (for example a share's parameters into its chunks). */
    <R> WorkerShares<R> map(Function<List<T>, List<R>> f) {
        return new WorkerShares<>(parallel, lists.stream().map(f).toList());
    }

    /** Every item of every share, share by share. */
    List<T> items() {
        return lists.stream().flatMap(List::stream).toList();
    }

    /** Runs {@code body} on every item, each share's items on one worker; a failure reaches the caller. */
    void forEach(Consumer<T> body) {
        parallel.forRange(lists.size(), (w0, w1) -> Parallel.singleThreadedNd4j(() -> {
            for (int w = w0; w < w1; w++) {
                lists.get(w).forEach(body);
            }
        }));
    }
}
