package org.attn4j.kernels;

import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The low-rank path of a LoRA-adapted linear layer (Hu et al. 2021, as PEFT computes it), added to the frozen
 * {@code y = x W^T + b} of a {@link LinearKernel}:
 * <pre>
 *   forward:   u = x A^T;   y += scale u B^T                  A [r, in], B [out, r], u [N, r]
 *   backward:  du = scale dy B;   dx += du A;   dB = scale dy^T u;   dA = du^T x
 * </pre>
 * B's rows may be split into parts that are separate outputs (GPT-2's fused {@code c_attn} adapts q, k and v with one
 * A and the thirds of B): part p is rows [p w, (p + 1) w) of B, w = out / parts, and each part's linear kernel calls
 * these methods with its p. u and du are recomputed where needed, in scratch rows of the calling thread (r is small:
 * they cost about r / out of the frozen product), so the pair keeps no per-call state.
 *
 * @param nameA PEFT's name of A ({@code <module>.lora_A.weight}), which keys its gradient; likewise nameB
 * @param a     A {@code [r, in]}
 * @param b     B {@code [out, r]}
 * @param scale alpha / r (rsLoRA: alpha / sqrt(r))
 */
public record LoraKernel(String nameA, String nameB, Buf a, Buf b, int in, int rank, int out, int parts,
        double scale) {
    private static final ThreadLocal<Buf[]> SCRATCH = ThreadLocal.withInitial(() -> new Buf[4]); // u, du; float, double

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

    /** Part {@code index} of a LoRA path: what one linear layer of a fused module adds. */
    public record Part(LoraKernel kernel, int index) {
    }

    /** Output width of one part. */
    public int partWidth() {
        return out / parts;
    }

    /** y[yRow, yRow + m) += scale (x[xRow, xRow + m) A^T) B_p^T: part p's output rows [N, w]. */
    public void forward(int part, Buf x, int xRow, int m, Buf y, int yRow) {
        int w = partWidth();
        Buf u = scratch(0, m);
        Blas.gemm(false, true, m, rank, in, 1, x, (long) xRow * in, in, a, 0, in, 0, u, 0, rank);
        Blas.gemm(false, true, m, w, rank, scale, u, 0, rank, b, (long) part * w * rank, rank, 1, y, (long) yRow * w, w);
    }

    /** dx[r0:r1] += (scale dy_p[r0:r1] B_p) A: part p's share of the input gradient, after the frozen path's. */
    public void backwardInput(int part, Buf dy, Buf dx, int r0, int r1) {
        int w = partWidth(), m = r1 - r0;
        Buf du = scratch(1, m);
        Blas.gemm(false, false, m, rank, w, scale, dy, (long) r0 * w, w, b, (long) part * w * rank, rank, 0, du, 0, rank);
        Blas.gemm(false, false, m, in, rank, 1, du, 0, rank, a, 0, in, 1, dx, (long) r0 * in, in);
    }

    /**
     * Worker {@code share}'s part of dB_p = scale dy_p^T u and dA = du_p^T x over its rows of n, into
     * {@code shares}' place for it: B's rows of part p are written, A is written by part 0 and added to by the
     * others, so the kernels of a fused layer's parts must run in part order on each worker.
     */
    public void backwardWeights(int part, GradientShares shares, Buf dy, Buf x, int n, int share) {
        int r0 = Parallel.split(n, shares.parts(), share), r1 = Parallel.split(n, shares.parts(), share + 1);
        int w = partWidth(), m = r1 - r0;
        Buf u = scratch(0, m), du = scratch(1, m);
        Blas.gemm(false, true, m, rank, in, 1, x, (long) r0 * in, in, a, 0, in, 0, u, 0, rank);
        Blas.gemm(false, false, m, rank, w, scale, dy, (long) r0 * w, w, b, (long) part * w * rank, rank, 0, du, 0, rank);
        Blas.gemm(true, false, w, rank, m, scale, dy, (long) r0 * w, w, u, 0, rank, 0, shares.of(share, nameB),
                (long) part * w * rank, rank);
        Blas.gemm(true, false, rank, in, m, 1, du, 0, rank, x, (long) r0 * in, in, part == 0 ? 0 : 1,
                shares.of(share, nameA), 0, in);
    }

    /** The gradients {@link #backwardWeights} writes. */
    public List<String> gradientNames() {
        return List.of(nameA, nameB);
    }

    /** This thread's scratch {@code which} (0: u, 1: du) of at least {@code rows} x r elements. */
    private Buf scratch(int which, int rows) {
        int i = which + (b.isFloat() ? 0 : 2);
        long length = Math.max(1L, (long) rows * rank);
        Buf[] s = SCRATCH.get();
        if (s[i] == null || s[i].length < length) {
            if (s[i] != null) {
                s[i].close();
            }
            s[i] = Buf.of(Nd4j.create(b.isFloat() ? DataType.FLOAT : DataType.DOUBLE, Math.max(length, 4096)));
        }
        return s[i];
    }
}
