package org.attn4j.kernels;

import java.util.List;
import org.attn4j.config.LinearWeights;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A linear layer on rows, y = x W^T + b with W {@code [out, in]} (PyTorch's layout): forward, the input's gradient
 * and the weights' gradients, next to each other (llm.c's {@code matmul_forward}/{@code matmul_backward}).
 *
 * <pre>
 *   forward:   y = x W^T + b                                   rows [N, in] -> [N, out]
 *   backward:  dx = dy W;   dW = dy^T x;   db = colsum(dy)
 * </pre>
 * A frozen kernel (LoRA fine-tuning: the base weights train not) computes no weight gradients; an adapted one adds
 * its {@link LoraKernel}'s path (part {@code loraPart} of it) to the output and the input's gradient, and its
 * weight gradients are the adapter's. A training call passes its {@link DropoutSeed}, which drops the adapter's input
 * ({@link LoraKernel}'s dropout); the frozen path never drops.
 *
 * <p>A layer converted for inference holds its weight in a compact format ({@link CompactMatrix}) instead of
 * {@code w}: the products then read that, and the weight's gradient is refused; frozen under a LoRA path, it trains
 * the adapter (QLoRA-style).
 *
 * @param weightName the weight's parameter name, which keys its gradient
 * @param biasName   the bias's, or null (no bias)
 * @param w          W {@code [out, in]}, the layer's own array (shared, not a copy); null when compact
 * @param bias       b {@code [out]}, or null
 * @param in         input width
 * @param out        output width
 * @param frozen     whether W and b get no gradients
 * @param lora       the LoRA path beside W, or null
 * @param loraPart   which part of the LoRA path's output this layer is (0 unless the path feeds several layers)
 * @param compact    W in bfloat16 or int8, or null
 */
public record LinearKernel(String weightName, String biasName, Buf w, Buf bias, int in, int out, boolean frozen,
        LoraKernel lora, int loraPart, CompactMatrix compact) {
    /**
     * Products of at most this many rows (a decoding step's) split W's rows over the threads; a caller with that
     * few rows runs them on its own thread rather than splitting the rows, or each thread would read all of W.
     */
    public static final int SPLIT_ROWS = CompactMatrix.PRODUCT_ROWS;
    /** Multiply-adds a thread takes at least in such a split (below that, the hand-off costs more). */
    private static final int SPLIT_GRAIN = 1 << 17;

    /** A trained kernel on a weight array, without an adapter. */
    public LinearKernel(String weightName, String biasName, Buf w, Buf bias, int in, int out) {
        this(weightName, biasName, w, bias, in, out, false, null, 0, null);
    }

    /**
     * This kernel frozen, with part {@code part} of {@code lora} beside it (null: frozen only). A compact weight
     * stays compact (QLoRA-style training): its products widen tiles of it for float32 GEMM
     * ({@link CompactMatrix#multiply}, {@link CompactMatrix#multiplyTransposed}).
     */
    public LinearKernel adapted(LoraKernel lora, int part) {
        return new LinearKernel(weightName, biasName, w, bias, in, out, true, lora, part, compact);
    }

    /** The kernel of {@code weight [out, in]} and {@code bias [out]} (or null), named {@code name.weight}, {@code name.bias}. */
    public static LinearKernel of(String name, INDArray weight, INDArray bias) {
        return new LinearKernel(name + ".weight", bias == null ? null : name + ".bias", Buf.of(weight),
                bias == null ? null : Buf.of(bias), (int) weight.size(1), (int) weight.size(0));
    }

    /** The kernel of a layer's weights record: its weight array, or its compact weight. */
    public static LinearKernel of(LinearWeights l) {
        if (l.compact() == null) {
            return of(l.name(), l.weight(), l.bias());
        }
        return new LinearKernel(l.name() + ".weight", l.bias() == null ? null : l.name() + ".bias", null,
                l.bias() == null ? null : Buf.of(l.bias()), l.in(), l.out(), false, null, 0,
                (CompactMatrix) l.compact());
    }

    /** y[r0:r1] = x[r0:r1] W^T + b. */
    public void forward(Buf x, Buf y, int r0, int r1) {
        forward(x, y, r0, r1, null);
    }

    /** y[r0:r1] = x[r0:r1] W^T + b, a LoRA path's input dropped by {@code seed}'s mask (null: not dropped). */
    public void forward(Buf x, Buf y, int r0, int r1, DropoutSeed seed) {
        project(Parallel.shared(), x, r0, r1 - r0, y, r0, seed);
    }

    /** m rows of y from row yRow = m rows of x from row xRow, times W^T, plus b, on {@link Parallel#shared()}. */
    public void project(Buf x, int xRow, int m, Buf y, int yRow) {
        project(Parallel.shared(), x, xRow, m, y, yRow);
    }

    /**
     * m rows of y from row yRow = m rows of x from row xRow, times W^T, plus b ({@link Blas#linear}). Up to
     * {@link #SPLIT_ROWS} rows (a decoding step's) split W's output rows over {@code parallel}'s threads, so that
     * each weight is read once for all m rows; called inside one of that pool's split loops, it runs on its caller.
     * A compact weight (also a LoRA adapter's frozen base) reads its compact form: directly for a few rows, through
     * widened GEMM tiles for many (inside a split loop, on this thread).
     */
    public void project(Parallel parallel, Buf x, int xRow, int m, Buf y, int yRow) {
        project(parallel, x, xRow, m, y, yRow, null);
    }

    private void project(Parallel parallel, Buf x, int xRow, int m, Buf y, int yRow, DropoutSeed seed) {
        if (compact != null) {
            compact.multiply(parallel, x, xRow, m, bias, y, yRow);
        } else if (m <= SPLIT_ROWS && (long) m * in * out >= 2L * SPLIT_GRAIN) {
            int grain = Math.max(1, SPLIT_GRAIN / (m * in));
            parallel.forRange(out, grain, (o0, o1) -> { // y[:, o0:o1] = x W[o0:o1]^T + b[o0:o1]
                for (int r = 0; bias != null && r < m; r++) {
                    RowMath.copy(bias, o0, y, (yRow + r) * out + o0, o1 - o0);
                }
                Blas.gemm(false, true, m, o1 - o0, in, 1, new Strided(x, (long) xRow * in, in),
                        new Strided(w, (long) o0 * in, in), bias == null ? 0 : 1,
                        new Strided(y, (long) yRow * out + o0, out));
            });
        } else {
            Blas.linear(x, xRow, m, w, bias, in, out, y, yRow);
        }
        if (lora != null) {
            lora.forward(loraPart, x, xRow, m, y, yRow, seed);
        }
    }

    /** dx[r0:r1] (=, or += when accumulate) dy[r0:r1] W. */
    public void backwardInput(Buf dy, Buf dx, boolean accumulate, int r0, int r1) {
        backwardInput(dy, dx, accumulate, r0, r1, null);
    }

    /** The same for a forward whose LoRA path dropped its input by {@code seed}'s mask (null: none). */
    public void backwardInput(Buf dy, Buf dx, boolean accumulate, int r0, int r1, DropoutSeed seed) {
        if (compact != null) {
            compact.multiplyTransposed(dy, r0, r1 - r0, dx, r0, accumulate);
        } else {
            Blas.gemm(false, false, r1 - r0, in, out, 1, new Strided(dy, (long) r0 * out, out), new Strided(w, 0, in),
                    accumulate ? 1 : 0, new Strided(dx, (long) r0 * in, in));
        }
        if (lora != null) {
            lora.backwardInput(loraPart, dy, dx, r0, r1, seed);
        }
    }

    /**
     * Part {@code part} of dW = dy^T x and db = column sums of dy over n rows, into {@code shares}' place for that
     * part ({@link GradientShares#linear}); the shares' {@code reduce} adds the parts up.
     */
    public void backwardWeights(GradientShares shares, Buf dy, Buf x, int n, int part) {
        backwardWeights(shares, dy, x, n, part, null);
    }

    /** The same for a forward whose LoRA path dropped its input by {@code seed}'s mask (null: none). */
    public void backwardWeights(GradientShares shares, Buf dy, Buf x, int n, int part, DropoutSeed seed) {
        if (!frozen && compact != null) {
            throw new IllegalStateException(weightName + " is held in " + compact.format()
                    + " for inference; its gradient needs the float32 weights (a compact base trains LoRA adapters)");
        }
        if (!frozen) {
            shares.linear(weightName, biasName, dy, x, n, in, out, part);
        }
        if (lora != null) {
            lora.backwardWeights(loraPart, shares, dy, x, n, part, seed);
        }
    }

    /**
     * Whether the workers take this weight's gradient by ranges of output rows ({@link GradientShares#OUTPUT_ROWS}):
     * a trained float weight of at least that many elements.
     */
    public boolean gradientByOutputRows() {
        return !frozen && compact == null && (long) in * out >= GradientShares.OUTPUT_ROWS;
    }

    /** The gradients {@link #backwardWeights} writes: the weight's name and the bias's if any; frozen: the adapter's. */
    public List<String> gradientNames() {
        if (frozen) {
            return lora == null ? List.of() : lora.gradientNames();
        }
        return biasName == null ? List.of(weightName) : List.of(weightName, biasName);
    }
}
