package org.attn4j.bench;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.attn4j.kernels.Blas;
import org.attn4j.kernels.Buf;
import org.attn4j.kernels.Strided;
import org.attn4j.kernels.Parallel;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * What this machine allows, on {@link Parallel#shared()}'s threads: the read bandwidth of a large float array
 * (the bound of a decoding step, which streams its weights once), summed by OpenBLAS's native loop
 * ({@link #readGbPerSecond}) and, for comparison, by a Java vector loop as attn4j's compact kernels read
 * ({@link #javaReadGbPerSecond}); and the GEMM peak of OpenBLAS on square float32 products split by rows over the
 * same threads (the bound of prefill and training). Each is the best of several passes: on a shared machine other
 * work only ever makes a pass slower.
 */
final class MachineLimits {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    private MachineLimits() {
    }

    /**
     * Read bandwidth in GB/s (1e9 bytes): the best of {@code passes} sums of |x| of a {@code mb}-megabyte float array
     * by OpenBLAS ({@code cblas_sasum}), each thread its half. Native code, so the figure does not depend on what
     * the JIT made of a Java loop (which read 40 GB/s where this read 62, and 7.5 in a run whose loop was not
     * compiled to vector instructions).
     */
    static double readGbPerSecond(int mb, int passes) {
        int floats = mb * 250_000, threads = Parallel.shared().threads();
        Buf array = Buf.of(Nd4j.rand(DataType.FLOAT, floats));
        double[] sink = new double[threads];
        Parallel.shared().forRange(threads, (t0, t1) -> Blas.singleThreaded());
        double best = Double.MAX_VALUE;
        for (int p = 0; p < passes; p++) {
            long start = System.nanoTime();
            Parallel.shared().forRange(threads, (t0, t1) -> {
                for (int t = t0; t < t1; t++) {
                    int from = Parallel.split(floats, threads, t), to = Parallel.split(floats, threads, t + 1);
                    sink[t] = Blas.asum(array, from, to - from);
                }
            });
            best = Math.min(best, (System.nanoTime() - start) / 1e9);
        }
        array.close();
        if (!(sink[0] > 0)) {
            throw new IllegalStateException("the sum of |x| is " + sink[0]);
        }
        return floats * 4.0 / best / 1e9;
    }

    /** As {@link #readGbPerSecond}, summed in a Java vector loop (four accumulators) instead. */
    static double javaReadGbPerSecond(int mb, int passes) {
        int floats = mb * 250_000;
        Buf array = Buf.of(Nd4j.create(DataType.FLOAT, floats)); // freed at the end, not left for the collector
        ByteBuffer data = array.bytes();
        for (int i = 0; i < floats; i++) {
            data.putFloat(i * 4, i % 7);
        }
        double[] sink = new double[Parallel.shared().threads()];
        // Compiled first, on 64 K floats: the Vector API's uncompiled calls allocate every vector they make (GBs
        // over the whole array), garbage the Java heap grows for and keeps resident through the phases after
        for (int i = 0; i < 2_000; i++) {
            sink[0] += sum(data, 0, Math.min(floats, 1 << 16));
        }
        double best = Double.MAX_VALUE;
        for (int p = 0; p < passes; p++) {
            long start = System.nanoTime();
            Parallel.shared().forRange(sink.length, (t0, t1) -> {
                for (int t = t0; t < t1; t++) {
                    int from = Parallel.split(floats, sink.length, t), to = Parallel.split(floats, sink.length, t + 1);
                    sink[t] = sum(data, from, to);
                }
            });
            best = Math.min(best, (System.nanoTime() - start) / 1e9);
        }
        array.close();
        if (Double.isNaN(sink[0])) {
            throw new IllegalStateException("the sum is NaN");
        }
        return floats * 4.0 / best / 1e9;
    }

    /** floats [from, to) of data, in four vector accumulators (so the loads, not the adds, set the pace). */
    private static double sum(ByteBuffer data, int from, int to) {
        int l = S.length(), end = from + (to - from) / (4 * l) * 4 * l;
        FloatVector a = FloatVector.zero(S), b = a, c = a, d = a;
        for (int i = from; i < end; i += 4 * l) {
            a = a.add(FloatVector.fromByteBuffer(S, data, i * 4, ByteOrder.nativeOrder()));
            b = b.add(FloatVector.fromByteBuffer(S, data, (i + l) * 4, ByteOrder.nativeOrder()));
            c = c.add(FloatVector.fromByteBuffer(S, data, (i + 2 * l) * 4, ByteOrder.nativeOrder()));
            d = d.add(FloatVector.fromByteBuffer(S, data, (i + 3 * l) * 4, ByteOrder.nativeOrder()));
        }
        double s = a.add(b).add(c).add(d).reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
        for (int i = end; i < to; i++) {
            s += data.getFloat(i * 4);
        }
        return s;
    }

    /**
     * GEMM peak in GFLOP/s: the best of {@code passes} float32 products [n, n] x [n, n], their rows split over the
     * threads, each thread's part one single-threaded OpenBLAS call (as the engine's products run).
     */
    static double gemmGflops(int n, int passes) {
        Buf a = Buf.of(Nd4j.rand(DataType.FLOAT, n, n)), b = Buf.of(Nd4j.rand(DataType.FLOAT, n, n)),
                c = Buf.of(Nd4j.create(DataType.FLOAT, n, n));
        Parallel.shared().forRange(Parallel.shared().threads(), (t0, t1) -> Blas.singleThreaded());
        double best = Double.MAX_VALUE;
        for (int p = 0; p < passes; p++) {
            long start = System.nanoTime();
            Parallel.shared().forRange(n, (r0, r1) -> Blas.gemm(false, false, r1 - r0, n, n, 1,
                    new Strided(a, (long) r0 * n, n), new Strided(b, 0, n), 0, new Strided(c, (long) r0 * n, n)));
            best = Math.min(best, (System.nanoTime() - start) / 1e9);
        }
        a.close();
        b.close();
        c.close();
        return 2.0 * n * n * n / best / 1e9;
    }
}
