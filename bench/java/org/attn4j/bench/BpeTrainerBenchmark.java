package org.attn4j.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
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
        long start = System.nanoTime();
        Tokenizer tok = BpeTrainer.of(vocab).withProgress(System.out).trainFiles(List.of(corpus));
        double seconds = (System.nanoTime() - start) / 1e9;
        long peakHeap = heap.stream().mapToLong(p -> p.getPeakUsage().getUsed()).sum();
        tok.savePretrained(o.path("out"));
        System.out.printf(Locale.ROOT, "BpeTrainer: vocab %d on %.1f MB in %.1f s, peak heap %.0f MB (sum of the heap "
                + "pools' peaks), peak RSS %s MB (the whole JVM)%n", tok.vocabSize(), mb, seconds, peakHeap / 1e6,
                peakRssMb());
        System.out.printf(Locale.ROOT, "RESULT train_s=%.1f train_peak_heap_mb=%.0f train_peak_rss_mb=%s%n", seconds,
                peakHeap / 1e6, peakRssMb());
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
