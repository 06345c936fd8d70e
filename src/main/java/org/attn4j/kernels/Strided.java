package org.attn4j.kernels;

import org.bytedeco.javacpp.Pointer;

/**
 * A row-major matrix inside a buffer, as BLAS takes one: element (i, j) at {@code off + i ld + j} of {@code buf}
 * ({@link Blas#gemm}).
 */
public record Strided(Buf buf, long off, int ld) {
    /** The native address of the matrix's first element. */
    Pointer pointer() {
        return buf.at(off);
    }
}
