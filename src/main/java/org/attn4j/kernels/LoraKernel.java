package org.attn4j.kernels;

/**
 * The low-rank path of a LoRA-adapted linear layer (Hu et al. 2021, as PEFT computes it), beside the frozen
 * {@code y = x W^T} of the linear pair:
 * <pre>
 *   u = x A^T                 A [r, in]     u [N, r]
 *   y += scale u B^T          B [out, r]    y [N, out]
 * </pre>
 * B's rows may be split into parts written to separate outputs (GPT-2's fused {@code c_attn} adapts q, k and v with
 * one A and the thirds of B): part p is rows [p w, (p + 1) w) of B, w = out / parts. The forward keeps u for the
 * backward. Rows [r0, r1) of every row matrix; the weight gradients take a share of the rows (a worker's) and
 * write or add their sum, as {@code GradientShares} does for the linear pair. No bias: PEFT's LoRA has none.
 *
 * @param a     A {@code [r, in]}
 * @param b     B {@code [out, r]}
 * @param scale alpha / r (rsLoRA: alpha / sqrt(r))
 */
public record LoraKernel(Buf a, Buf b, int in, int rank, int out, int parts, double scale) {
    public LoraKernel {
        if (rank < 1 || in < 1 || out < 1 || parts < 1 || out % parts != 0) {
            throw new IllegalArgumentException("LoRA path: rank " + rank + ", in " + in + ", out " + out + " in "
                    + parts + " parts (out must split evenly)");
        }
        if (a.length != rank * in || b.length != out * rank) {
            throw new IllegalArgumentException("LoRA path: A holds " + a.length + " and B " + b.length
                    + " elements; rank " + rank + ", in " + in + ", out " + out + " imply " + rank * in + " and "
                    + out * rank);
        }
    }

    /** Output width of one part. */
    public int partWidth() {
        return out / parts;
    }

    // ---- forward --------------------------------------------------------------------------------

    /** u[r0:r1] = x[r0:r1] A^T: x [N, in], u [N, r]. */
    public void down(Buf x, Buf u, int r0, int r1) {
        Blas.gemm(false, true, r1 - r0, rank, in, 1, x, (long) r0 * in, in, a, 0, in, 0, u, (long) r0 * rank, rank);
    }

    /** y[r0:r1] += scale u[r0:r1] B_p^T: part {@code part}'s output y [N, w]. */
    public void up(Buf u, int part, Buf y, int r0, int r1) {
        int w = partWidth();
        Blas.gemm(false, true, r1 - r0, w, rank, scale, u, (long) r0 * rank, rank, b, (long) part * w * rank, rank, 1,
                y, (long) r0 * w, w);
    }

    // ---- backward -------------------------------------------------------------------------------

    /** du[r0:r1] (=, or += when accumulate) scale dy_p[r0:r1] B_p: part p's dy [N, w] back to du [N, r]. */
    public void upBackInput(Buf dy, int part, Buf du, boolean accumulate, int r0, int r1) {
        int w = partWidth();
        Blas.gemm(false, false, r1 - r0, rank, w, scale, dy, (long) r0 * w, w, b, (long) part * w * rank, rank,
                accumulate ? 1 : 0, du, (long) r0 * rank, rank);
    }

    /** dx[r0:r1] += du[r0:r1] A: du [N, r] back to the layer's input gradient dx [N, in] (which the frozen path wrote). */
    public void downBackInput(Buf du, Buf dx, int r0, int r1) {
        Blas.gemm(false, false, r1 - r0, in, rank, 1, du, (long) r0 * rank, rank, a, 0, in, 1, dx, (long) r0 * in, in);
    }

    /**
     * dB_p (=, or += when accumulate) scale dy_p[r0:r1]^T u[r0:r1]: part p's rows of dB {@code [out, r]} from a share
     * of the rows.
     */
    public void upBackWeights(Buf dy, int part, Buf u, Buf db, boolean accumulate, int r0, int r1) {
        int w = partWidth();
        Blas.gemm(true, false, w, rank, r1 - r0, scale, dy, (long) r0 * w, w, u, (long) r0 * rank, rank,
                accumulate ? 1 : 0, db, (long) part * w * rank, rank);
    }

    /** dA (=, or += when accumulate) du[r0:r1]^T x[r0:r1]: dA {@code [r, in]} from a share of the rows. */
    public void downBackWeights(Buf du, Buf x, Buf da, boolean accumulate, int r0, int r1) {
        Blas.gemm(true, false, rank, in, r1 - r0, 1, du, (long) r0 * rank, rank, x, (long) r0 * in, in,
                accumulate ? 1 : 0, da, 0, in);
    }
}
