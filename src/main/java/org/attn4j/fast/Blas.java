package org.attn4j.fast;

import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.openblas.global.openblas;
import org.bytedeco.openblas.presets.openblas_nolapack;

/**
 * Row-major GEMM on parts of {@link Buf}s through the OpenBLAS that ND4J itself loads:
 * {@code C = alpha op(A) op(B) + beta C}, with leading dimensions, so a head's [T, D] slice of a
 * [N, C] row matrix is used in place.
 */
final class Blas {
    private Blas() {
    }

    /**
     * @param m rows of op(A) and C; n columns of op(B) and C; k the inner dimension
     */
    static void gemm(boolean transA, boolean transB, int m, int n, int k, double alpha, Buf a, long aOff, int lda,
            Buf b, long bOff, int ldb, double beta, Buf c, long cOff, int ldc) {
        if (m == 0 || n == 0) {
            return;
        }
        int ta = transA ? openblas.CblasTrans : openblas.CblasNoTrans;
        int tb = transB ? openblas.CblasTrans : openblas.CblasNoTrans;
        if (c.isFloat()) {
            openblas.cblas_sgemm(openblas.CblasRowMajor, ta, tb, m, n, k, (float) alpha, (FloatPointer) a.at(aOff), lda,
                    (FloatPointer) b.at(bOff), ldb, (float) beta, (FloatPointer) c.at(cOff), ldc);
        } else {
            openblas.cblas_dgemm(openblas.CblasRowMajor, ta, tb, m, n, k, alpha, (DoublePointer) a.at(aOff), lda,
                    (DoublePointer) b.at(bOff), ldb, beta, (DoublePointer) c.at(cOff), ldc);
        }
    }

    /** OpenBLAS's own thread count (shared with ND4J's matrix products). */
    static int threads() {
        return openblas_nolapack.blas_get_num_threads();
    }

    static void setThreads(int n) {
        openblas_nolapack.blas_set_num_threads(n);
    }
}
