package org.attn4j.bench;

import java.util.Locale;
import java.util.Map;
import org.attn4j.config.WeightFormat;
import org.attn4j.examples.Cli;
import org.attn4j.examples.Flags;
import org.attn4j.kernels.Blas;
import org.attn4j.kernels.Buf;
import org.attn4j.kernels.Strided;
import org.attn4j.kernels.CompactMatrices;
import org.attn4j.kernels.CompactMatrix;
import org.attn4j.kernels.Parallel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Each weight format's product {@code y [n, out] = x [n, in] W^T} alone, on GPT-2-small's four matrix shapes (the
 * attention's q/k/v [2304, 768], the feed-forward's [3072, 768] and [768, 3072], the head [50257, 768]), for n = 1
 * and 8 rows: float32 through OpenBLAS with the output rows split over the threads (what the engine's decoding step
 * runs today), bfloat16 and int8 through {@link CompactMatrix}. Each row prints the time, the weights' bytes read per
 * second, and that as a fraction of the machine's read bandwidth measured in the same run ({@link MachineLimits}).
 *
 * <p>Each product runs over copies of its matrix that together hold {@code --rotate 256} MB, one after the other, so
 * that its weights come from memory, not from a cache, as in a decoding step (which reads each matrix once).
 * Flags: {@code --repeats 10} (passes over the copies; the best is reported), {@code --mb 512} (the bandwidth
 * array), {@code --rotate 256}.
 * Run: {@code mvn -q test-compile exec:java@compact-kernels}. Last line:
 * {@code RESULT read_gbps=... <format>_<out>x<in>_n<n>_bw=...} (fractions of the bandwidth).
 */
public final class CompactKernels {
    private static final int[][] SHAPES = {{2304, 768}, {3072, 768}, {768, 3072}, {50257, 768}};

    private CompactKernels() {
    }

    public static void main(String[] args) throws Exception {
        Cli.main("compact-kernels", args, CompactKernels::run);
    }

    static void run(String[] args) {
        Flags o = Flags.parse(args, Map.of("repeats", "10", "mb", "512", "rotate", "256"));
        int repeats = o.integer("repeats", 1);
        double bandwidth = MachineLimits.readGbPerSecond(o.integer("mb", 16), 10);
        System.out.printf(Locale.ROOT, "threads %d, read bandwidth %.1f GB/s%n", Parallel.shared().threads(), bandwidth);
        System.out.printf(Locale.ROOT, "%-9s %-12s %3s %10s %9s %9s%n", "format", "[out, in]", "n", "ms", "GB/s",
                "of bw");
        StringBuilder result = new StringBuilder(String.format(Locale.ROOT, "RESULT read_gbps=%.1f", bandwidth));
        Nd4j.getRandom().setSeed(1);
        for (int[] shape : SHAPES) {
            int out = shape[0], in = shape[1];
            Buf w = Buf.of(Nd4j.randn(DataType.FLOAT, out, in).muli(0.02));
            for (WeightFormat format : WeightFormat.values()) {
                // copies enough to overflow the caches, used in turn: a decoding step reads each matrix once
                int copies = (int) Math.max(1, (long) o.integer("rotate", 1) * 1_000_000 / format.bytes(out, in));
                Buf[] floats = new Buf[format == WeightFormat.FLOAT32 ? copies : 0];
                CompactMatrix[] compact = new CompactMatrix[format == WeightFormat.FLOAT32 ? 0 : copies];
                for (int c = 0; c < copies; c++) {
                    if (format == WeightFormat.FLOAT32) {
                        floats[c] = Buf.of(w.array.dup('c'));
                    } else {
                        compact[c] = CompactMatrices.of(w, out, in, format);
                    }
                }
                for (int n : new int[] {1, 8}) {
                    Buf x = Buf.of(Nd4j.randn(DataType.FLOAT, n, in)), y = Buf.of(Nd4j.create(DataType.FLOAT, n, out));
                    double best = Double.MAX_VALUE;
                    for (int r = 0; r < repeats + 3; r++) {
                        long start = System.nanoTime();
                        for (int c = 0; c < copies; c++) {
                            if (format == WeightFormat.FLOAT32) {
                                float32(floats[c], x, y, n, out, in);
                            } else {
                                compact[c].multiply(x, 0, n, null, y, 0);
                            }
                        }
                        if (r >= 3) {
                            best = Math.min(best, (System.nanoTime() - start) / 1e9 / copies);
                        }
                    }
                    double gbps = format.bytes(out, in) / best / 1e9;
                    System.out.printf(Locale.ROOT, "%-9s %-12s %3d %10.3f %9.1f %9.2f%n", format,
                            "[" + out + ", " + in + "]", n, best * 1e3, gbps, gbps / bandwidth);
                    result.append(String.format(Locale.ROOT, " %s_%dx%d_n%d_bw=%.2f", format.name().toLowerCase(Locale.ROOT),
                            out, in, n, gbps / bandwidth));
                    x.close();
                    y.close();
                }
                for (Buf f : floats) {
                    f.close();
                }
            }
            w.close();
        }
        System.out.println(result);
    }

    /** The engine's float32 product: the output rows split over the threads, each part one OpenBLAS call. */
    private static void float32(Buf w, Buf x, Buf y, int n, int out, int in) {
        int grain = Math.max(1, (1 << 17) / (n * in));
        Parallel.shared().forRange(out, grain, (o0, o1) -> Blas.gemm(false, true, n, o1 - o0, in, 1,
                new Strided(x, 0, in), new Strided(w, (long) o0 * in, in), 0, new Strided(y, o0, out)));
    }
}
