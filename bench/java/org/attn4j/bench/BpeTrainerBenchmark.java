package org.attn4j.bench;

import java.io.IOException;
import com.sun.management.GarbageCollectionNotificationInfo;
import com.sun.management.GcInfo;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import javax.management.ListenerNotFoundException;
import javax.management.Notification;
import javax.management.NotificationEmitter;
import javax.management.NotificationListener;
import javax.management.openmbean.CompositeData;
import org.attn4j.examples.Cli;
import org.attn4j.examples.Flags;
import org.attn4j.text.BpeTrainer;
import org.attn4j.text.Tokenizer;

/**
 * BpeTrainer's time and peak memory learning a byte-level BPE vocabulary from a text file, beside HF's BpeTrainer
 * on the same file ({@code bench/tokenizers_hf.py --train FILE}). Make a ~10 MB corpus with
 * {@code python bench/tokenizers_hf.py --make-corpus target/bench/bpe-corpus.txt --mb 10}.
 *
 * <p>Arguments ({@code key=value}): {@code corpus=target/bench/bpe-corpus.txt}, {@code vocab=32000},
 * {@code out=target/bench/bpe-trained} (where the tokenizer is saved). Run:
 * {@code mvn -q test-compile exec:java@bpe-train-bench}. Last line: {@code RESULT ...}.
 */
public final class BpeTrainerBenchmark {
    public static void main(String[] args) throws Exception {
        Cli.main("bpe-train-bench", args, BpeTrainerBenchmark::run);
    }

    public static void run(String[] args) throws IOException {
        Flags o = Flags.parse(args, Map.of("corpus", "target/bench/bpe-corpus.txt", "vocab", "32000",
                "out", "target/bench/bpe-trained"));
        Path corpus = o.path("corpus");
        int vocab = o.integer("vocab", 257);
        double mb = Files.size(corpus) / 1e6;
        List<MemoryPoolMXBean> heap = ManagementFactory.getMemoryPoolMXBeans().stream()
                .filter(p -> p.getType() == MemoryType.HEAP).toList();
        System.gc();
        heap.forEach(MemoryPoolMXBean::resetPeakUsage);
        // what the JVM holds before training (Maven's own data, under exec:java)
        long heldBefore = heap.stream().mapToLong(p -> p.getUsage().getUsed()).sum();
        LiveHeap live = LiveHeap.watch();
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        long allocatedBefore = threads.getCurrentThreadAllocatedBytes();
        long start = System.nanoTime();
        Tokenizer tok = BpeTrainer.of(vocab).withProgress(System.out).trainFiles(List.of(corpus));
        double seconds = (System.nanoTime() - start) / 1e9;
        long allocated = threads.getCurrentThreadAllocatedBytes() - allocatedBefore;
        long peakHeap = heap.stream().mapToLong(p -> p.getPeakUsage().getUsed()).sum();
        long liveHeap = Math.max(0, live.stop() - heldBefore);
        tok.savePretrained(o.path("out"));
        System.out.printf(Locale.ROOT, "BpeTrainer: vocab %d on %.1f MB in %.1f s, peak heap %.0f MB (sum of the heap "
                + "pools' peaks, garbage not yet collected included), heap after collections at most %.0f MB above the "
                + "start, %.0f MB allocated, peak RSS %s MB (the whole JVM)%n", tok.vocabSize(), mb, seconds,
                peakHeap / 1e6, liveHeap / 1e6, allocated / 1e6, peakRssMb());
        System.out.printf(Locale.ROOT, "RESULT train_s=%.1f train_peak_heap_mb=%.0f train_live_heap_mb=%.0f "
                + "train_allocated_mb=%.0f train_peak_rss_mb=%s%n", seconds, peakHeap / 1e6, liveHeap / 1e6,
                allocated / 1e6, peakRssMb());
    }

    /**
     * The most heap in use just after a collection, from the collectors' notifications: what the trainer holds plus
     * old garbage that only a mixed or full collection frees, without the young garbage that makes up most of the
     * pools' peak. Sampled at collections only.
     */
    private static final class LiveHeap implements NotificationListener {
        private final List<NotificationEmitter> emitters = new ArrayList<>();
        private final AtomicLong max = new AtomicLong();

        static LiveHeap watch() {
            LiveHeap live = new LiveHeap();
            for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
                if (gc instanceof NotificationEmitter emitter) {
                    emitter.addNotificationListener(live, null, null);
                    live.emitters.add(emitter);
                }
            }
            return live;
        }

        @Override
        public void handleNotification(Notification n, Object handback) {
            if (n.getType().equals(GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION)) {
                GcInfo info = GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData()).getGcInfo();
                long used = info.getMemoryUsageAfterGc().values().stream().mapToLong(MemoryUsage::getUsed).sum();
                max.accumulateAndGet(used, Math::max);
            }
        }

        long stop() {
            for (NotificationEmitter e : emitters) {
                try {
                    e.removeNotificationListener(this);
                } catch (ListenerNotFoundException ignored) {
                    // added above, so present
                }
            }
            return max.get();
        }
    }

    /** VmHWM from /proc (Linux), or "n/a". */
    private static String peakRssMb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    return String.valueOf(Long.parseLong(line.replaceAll("\\D", "")) / 1024);
                }
            }
        } catch (IOException | NumberFormatException e) {
            return "n/a";
        }
        return "n/a";
    }
}
