package org.attn4j.kernels;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas;
import org.bytedeco.openblas.presets.openblas_nolapack;

/**
 * Row-major GEMM on parts of {@link Buf}s through the OpenBLAS that ND4J itself loads:
 * {@code C = alpha op(A) op(B) + beta C}, with leading dimensions, so a head's [T, D] slice of a
 * [N, C] row matrix is used in place.
 */
public final class Blas {
    private Blas() {
    }

    /**
     * C = alpha op(A) op(B) + beta C on row-major matrices (cblas_?gemm's arguments, each matrix with its offset and
     * row stride as a {@link Strided}).
     *
     * @param m rows of op(A) and C; n columns of op(B) and C; k the inner dimension
     */
    public static void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha, Strided a, Strided b,
            double beta, Strided c) {
        if (m == 0 || n == 0) {
            return;
        }
        if (m == 1 && !transA) { // one row (decoding): a matrix-vector product, without GEMM's packing of B
            gemv(!transB, transB ? n : k, transB ? k : n, alpha, b, a, beta, c);
            return;
        }
        int ta = transA ? openblas.CblasTrans : openblas.CblasNoTrans;
        int tb = transB ? openblas.CblasTrans : openblas.CblasNoTrans;
        if (c.buf().isFloat()) {
            openblas.cblas_sgemm(openblas.CblasRowMajor, ta, tb, m, n, k, (float) alpha, (FloatPointer) a.pointer(),
                    a.ld(), (FloatPointer) b.pointer(), b.ld(), (float) beta, (FloatPointer) c.pointer(), c.ld());
        } else {
            openblas.cblas_dgemm(openblas.CblasRowMajor, ta, tb, m, n, k, alpha, (DoublePointer) a.pointer(), a.ld(),
                    (DoublePointer) b.pointer(), b.ld(), beta, (DoublePointer) c.pointer(), c.ld());
        }
    }

    /**
     * Rows [yRow, yRow + m) of y [N, out] = rows [xRow, xRow + m) of x [N, in] times W^T, plus b: a linear layer
     * with W [out, in] (PyTorch's layout) and b [out] or null. The rows start as b and the product is added to
     * them (GEMM's beta 1), so OpenBLAS skips its pass that zeroes them and no second pass adds b. y must not
     * overlap x.
     */
    public static void linear(Buf x, int xRow, int m, Buf w, Buf bias, int in, int out, Buf y, int yRow) {
        if (bias != null) {
            RowMath.repeatRow(bias, y, yRow, yRow + m, out);
        }
        gemm(false, true, m, out, in, 1, new Strided(x, (long) xRow * in, in), new Strided(w, 0, in),
                bias == null ? 0 : 1, new Strided(y, (long) yRow * out, out));
    }

    /**
     * y = alpha op(M) x + beta y for a row-major M [rows, cols] (op = transpose when trans); x and y are contiguous
     * vectors from their offsets (their row strides unused).
     */
    private static void gemv(boolean trans, int rows, int cols, double alpha, Strided m, Strided x, double beta,
            Strided y) {
        int t = trans ? openblas.CblasTrans : openblas.CblasNoTrans;
        if (y.buf().isFloat()) {
            openblas.cblas_sgemv(openblas.CblasRowMajor, t, rows, cols, (float) alpha, (FloatPointer) m.pointer(),
                    m.ld(), (FloatPointer) x.pointer(), 1, (float) beta, (FloatPointer) y.pointer(), 1);
        } else {
            openblas.cblas_dgemv(openblas.CblasRowMajor, t, rows, cols, alpha, (DoublePointer) m.pointer(), m.ld(),
                    (DoublePointer) x.pointer(), 1, beta, (DoublePointer) y.pointer(), 1);
        }
    }

    /**
     * The sum of |x| over n elements of x from {@code off} (cblas_?asum, on this thread once {@link #singleThreaded}):
     * OpenBLAS's own vector loop, which reads memory as fast as the machine lets one thread (the benchmarks'
     * bandwidth bound).
     */
    public static double asum(Buf x, long off, int n) {
        Strided v = new Strided(x, off, 1);
        return x.isFloat() ? openblas.cblas_sasum(n, (FloatPointer) v.pointer(), 1)
                : openblas.cblas_dasum(n, (DoublePointer) v.pointer(), 1);
    }

    /**
     * Makes OpenBLAS single-threaded, if it is not: the fast path's workers each run their own GEMMs.
     * This is OpenBLAS's process-wide setting, shared with ND4J's own matrix products, and it is left at
     * 1 afterwards: setting it costs far more than reading it (BENCHMARKS.md's method section), too much
     * to undo after every call. ND4J's products then run on one thread; {@code Nd4j.factory().blas()
     * .setMaxThreads(n)} sets it back.
     */
    public static void singleThreaded() {
        if (openblas_nolapack.blas_get_num_threads() != 1) {
            openblas_nolapack.blas_set_num_threads(1);
        }
    }
}
