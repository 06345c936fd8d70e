package org.attn4j.kernels;

import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A linear layer on rows, y = x W^T + b with W {@code [out, in]} (PyTorch's layout): forward, the input's gradient
 * and the weights' gradients, next to each other (llm.c's {@code matmul_forward}/{@code matmul_backward}).
 *
 * <pre>
 *   forward:   y = x W^T + b                                   rows [N, in] -> [N, out]
 *   backward:  dx = dy W;   dW = dy^T x;   db = colsum(dy)
 * </pre>
 *
 * @param weightName the weight's parameter name, which keys its gradient
 * @param biasName   the bias's, or null (no bias)
 * @param w          W {@code [out, in]}, the layer's own array (shared, not a copy)
 * @param bias       b {@code [out]}, or null
 * @param in         input width
 * @param out        output width
 */
public record LinearKernel(String weightName, String biasName, Buf w, Buf bias, int in, int out) {
    /** The kernel of {@code weight [out, in]} and {@code bias [out]} (or null), named {@code name.weight}, {@code name.bias}. */
    public static LinearKernel of(String name, INDArray weight, INDArray bias) {
        return new LinearKernel(name + ".weight", bias == null ? null : name + ".bias", Buf.of(weight),
                bias == null ? null : Buf.of(bias), (int) weight.size(1), (int) weight.size(0));
    }

    /** y[r0:r1] = x[r0:r1] W^T + b. */
    public void forward(Buf x, Buf y, int r0, int r1) {
        project(x, r0, r1 - r0, y, r0);
    }

    /** m rows of y from row yRow = m rows of x from row xRow, times W^T, plus b ({@link Blas#linear}). */
    public void project(Buf x, int xRow, int m, Buf y, int yRow) {
        Blas.linear(x, xRow, m, w, bias, in, out, y, yRow);
    }

    /** dx[r0:r1] (=, or += when accumulate) dy[r0:r1] W. */
    public void backwardInput(Buf dy, Buf dx, boolean accumulate, int r0, int r1) {
        Blas.gemm(false, false, r1 - r0, in, out, 1, dy, (long) r0 * out, out, w, 0, in, accumulate ? 1 : 0, dx,
                (long) r0 * in, in);
    }

    /**
     * Part {@code part} of dW = dy^T x and db = column sums of dy over n rows, into {@code shares}' place for that
     * part ({@link GradientShares#linear}); the shares' {@code reduce} adds the parts up.
     */
    public void backwardWeights(GradientShares shares, Buf dy, Buf x, int n, int part) {
        shares.linear(weightName, biasName, dy, x, n, in, out, part);
    }

    /** The gradients {@link #backwardWeights} writes: the weight's name, and the bias's if any. */
    public List<String> gradientNames() {
        return biasName == null ? List.of(weightName) : List.of(weightName, biasName);
    }
}
