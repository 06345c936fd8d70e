package org.attn4j.kernels;

import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The low-rank path of a LoRA-adapted linear layer (Hu et al. 2021, as PEFT computes it), added to the frozen
 * {@code y = x W^T + b} of a {@link LinearKernel}:
 * <pre>
 *   forward:   xd = drop(x);   u = xd A^T;   y += scale u B^T          A [r, in], B [out, r], u [N, r]
 *   backward:  du = scale dy B;   dx += drop(du A);   dB = scale dy^T u;   dA = du^T xd
 * </pre>
 * drop is PEFT's {@code lora_dropout} on the adapter's input only (the frozen path reads x itself): inverted
 * dropout whose mask a training call's {@link DropoutSeed} draws on this path's own stream
 * ({@link DropoutSeed#stream(String)} of A's name), element {@code row * in + column} of x; a call without a seed
 * (evaluation, inference) drops nothing. The mask is never kept: each method draws what it needs again, block by
 * block of {@value #DROP_ROWS} rows into scratch, so a backward (or a checkpointed forward) sees the forward's mask.
 *
 * <p>B's rows may be split into parts that are separate outputs (GPT-2's fused {@code c_attn} adapts q, k and v with
 * one A and the thirds of B): part p is rows [p w, (p + 1) w) of B, w = out / parts, and each part's linear kernel
 * calls these methods with its p (every part drops the same mask: one module, one dropout). u and du are recomputed
 * where needed, in scratch rows of the calling thread (r is small: they cost about r / out of the frozen product),
 * so the pair keeps no per-call state.
 *
 * @param nameA   PEFT's name of A ({@code <module>.lora_A.weight}), which keys its gradient; likewise nameB
 * @param a       A {@code [r, in]}
 * @param b       B {@code [out, r]}
 * @param scale   alpha / r (rsLoRA: alpha / sqrt(r))
 * @param dropout the probability that an element of the adapter's input drops while training, in [0, 1)
 */
public record LoraKernel(String nameA, String nameB, Buf a, Buf b, int in, int rank, int out, int parts,
        double scale, double dropout) {
    /** Rows of dropped input a thread holds at once: scratch of {@code [DROP_ROWS, in]}. */
    static final int DROP_ROWS = 64;
    private static final int U = 0, DU = 1, XD = 2;
    private static final ThreadLocal<Buf[]> SCRATCH = ThreadLocal.withInitial(() -> new Buf[6]); // U, DU, XD; float, double

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
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("LoRA path " + nameA + ": dropout must be in [0, 1), got " + dropout);
        }
    }

    /** A path without dropout. */
    public LoraKernel(String nameA, String nameB, Buf a, Buf b, int in, int rank, int out, int parts, double scale) {
        this(nameA, nameB, a, b, in, rank, out, parts, scale, 0);
    }

    /** Part {@code index} of a LoRA path: what one linear layer of a fused module adds. */
    public record Part(LoraKernel kernel, int index) {
    }

    /** Output width of one part. */
    public int partWidth() {
        return out / parts;
    }

    /**
     * y[yRow, yRow + m) += scale (drop(x[xRow, xRow + m)) A^T) B_p^T: part p's output rows [N, w], x's rows dropped
     * by {@code seed}'s mask (null: not dropped).
     */
    public void forward(int part, Buf x, int xRow, int m, Buf y, int yRow, DropoutSeed seed) {
        int w = partWidth();
        if (!drops(seed)) {
            Buf u = scratch(U, (long) m * rank);
            Blas.gemm(false, true, m, rank, in, 1, new Strided(x, (long) xRow * in, in), new Strided(a, 0, in), 0,
                    new Strided(u, 0, rank));
            Blas.gemm(false, true, m, w, rank, scale, new Strided(u, 0, rank),
                    new Strided(b, (long) part * w * rank, rank), 1, new Strided(y, (long) yRow * w, w));
            return;
        }
        long base = seed.base(DropoutSeed.stream(nameA));
        Buf u = scratch(U, (long) DROP_ROWS * rank);
        for (int i = 0; i < m; i += DROP_ROWS) {
            int rows = Math.min(DROP_ROWS, m - i);
            Buf xd = dropped(base, x, xRow + i, rows);
            Blas.gemm(false, true, rows, rank, in, 1, new Strided(xd, 0, in), new Strided(a, 0, in), 0,
                    new Strided(u, 0, rank)); // u = xd A^T
            Blas.gemm(false, true, rows, w, rank, scale, new Strided(u, 0, rank),
                    new Strided(b, (long) part * w * rank, rank), 1, new Strided(y, (long) (yRow + i) * w, w));
        }
    }

    /**
     * dx[r0:r1] += drop(scale dy_p[r0:r1] B_p A): part p's share of the input gradient, after the frozen path's,
     * dropped by {@code seed}'s mask as the forward dropped x (null: not dropped).
     */
    public void backwardInput(int part, Buf dy, Buf dx, int r0, int r1, DropoutSeed seed) {
        int w = partWidth(), m = r1 - r0;
        if (!drops(seed)) {
            Buf du = scratch(DU, (long) m * rank);
            Blas.gemm(false, false, m, rank, w, scale, new Strided(dy, (long) r0 * w, w),
                    new Strided(b, (long) part * w * rank, rank), 0, new Strided(du, 0, rank));
            Blas.gemm(false, false, m, in, rank, 1, new Strided(du, 0, rank), new Strided(a, 0, in), 1,
                    new Strided(dx, (long) r0 * in, in));
            return;
        }
        long base = seed.base(DropoutSeed.stream(nameA));
        Buf du = scratch(DU, (long) DROP_ROWS * rank), dxd = scratch(XD, (long) DROP_ROWS * in);
        double kept = 1 / (1 - dropout);
        for (int r = r0; r < r1; r += DROP_ROWS) {
            int rows = Math.min(DROP_ROWS, r1 - r);
            // du = scale dy B_p;  dxd = du A;  dx += mask / (1 - p) * dxd
            Blas.gemm(false, false, rows, rank, w, scale, new Strided(dy, (long) r * w, w),
                    new Strided(b, (long) part * w * rank, rank), 0, new Strided(du, 0, rank));
            Blas.gemm(false, false, rows, in, rank, 1, new Strided(du, 0, rank), new Strided(a, 0, in), 0,
                    new Strided(dxd, 0, in));
            int first = r * in;
            for (int i = 0; i < rows * in; i++) {
                if (DropoutSeed.keep(base, first + i, dropout)) {
                    dx.put(first + i, dx.get(first + i) + dxd.get(i) * kept);
                }
            }
        }
    }

    /**
     * Worker {@code share}'s part of dB_p = scale dy_p^T u and dA = du_p^T drop(x) over its rows of n, into
     * {@code shares}' place for it, x dropped by {@code seed}'s mask (null: not dropped): B's rows of part p are
     * written, A is written by part 0 and added to by the others, so the kernels of a fused layer's parts must run
     * in part order on each worker.
     */
    public void backwardWeights(int part, GradientShares shares, Buf dy, Buf x, int n, int share, DropoutSeed seed) {
        int r0 = Parallel.split(n, shares.parts(), share), r1 = Parallel.split(n, shares.parts(), share + 1);
        boolean drops = drops(seed);
        long base = drops ? seed.base(DropoutSeed.stream(nameA)) : 0;
        int block = drops ? DROP_ROWS : Math.max(1, r1 - r0), w = partWidth();
        Buf u = scratch(U, (long) block * rank), du = scratch(DU, (long) block * rank);
        Buf dA = shares.of(share, nameA), dB = shares.of(share, nameB);
        boolean first = true;
        for (int r = r0; r < r1 || first; r += block) { // once with no rows: the shares are written even so
            int rows = Math.max(0, Math.min(block, r1 - r));
            Buf xs = drops ? dropped(base, x, r, rows) : x;
            long at = drops ? 0 : (long) r * in;
            Blas.gemm(false, true, rows, rank, in, 1, new Strided(xs, at, in), new Strided(a, 0, in), 0,
                    new Strided(u, 0, rank));
            Blas.gemm(false, false, rows, rank, w, scale, new Strided(dy, (long) r * w, w),
                    new Strided(b, (long) part * w * rank, rank), 0, new Strided(du, 0, rank));
            Blas.gemm(true, false, w, rank, rows, scale, new Strided(dy, (long) r * w, w), new Strided(u, 0, rank),
                    first ? 0 : 1, new Strided(dB, (long) part * w * rank, rank));
            Blas.gemm(true, false, rank, in, rows, 1, new Strided(du, 0, rank), new Strided(xs, at, in),
                    part == 0 && first ? 0 : 1, new Strided(dA, 0, in));
            first = false;
        }
    }

    /** The gradients {@link #backwardWeights} writes. */
    public List<String> gradientNames() {
        return List.of(nameA, nameB);
    }

    /** Whether a call with {@code seed} drops the adapter's input. */
    private boolean drops(DropoutSeed seed) {
        return seed != null && dropout > 0;
    }

    /** Rows [row, row + rows) of x with the mask of {@code base} applied, in this thread's scratch from row 0. */
    private Buf dropped(long base, Buf x, int row, int rows) {
        Buf xd = scratch(XD, (long) DROP_ROWS * in);
        double kept = 1 / (1 - dropout);
        int first = row * in;
        for (int i = 0; i < rows * in; i++) {
            xd.put(i, DropoutSeed.keep(base, first + i, dropout) ? x.get(first + i) * kept : 0);
        }
        return xd;
    }

    /** This thread's scratch {@code which} (U, DU, XD) of at least {@code length} elements. */
    private Buf scratch(int which, long length) {
        int i = which + (b.isFloat() ? 0 : 3);
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
