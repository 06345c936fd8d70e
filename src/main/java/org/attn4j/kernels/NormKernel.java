package org.attn4j.kernels;

/**
 * LayerNorm or RMSNorm on rows: forward, the input's gradient and the parameters' gradients, next to each other.
 * The choice between the two is made here once: a norm with a shift {@code beta} is a LayerNorm, one without an
 * RMSNorm.
 *
 * <pre>
 *   forward:   LayerNorm: xhat = (x - mean) rstd,  rstd = 1 / sqrt(var + eps);        y = xhat gamma + beta
 *              RMSNorm:   xhat = x rstd,           rstd = 1 / sqrt(mean(x^2) + eps);  y = xhat gamma
 *   backward:  g = dy gamma;  dx = rstd (g - mean(g) - xhat mean(g xhat))   (RMSNorm: without mean(g))
 *              dgamma = colsum(dy xhat);  dbeta = colsum(dy)
 * </pre>
 *
 * @param gamma the scale {@code [C]} (the layer's own array)
 * @param beta  the shift {@code [C]}, or null: an RMSNorm
 * @param eps   added to the variance (mean square) before the square root
 */
public record NormKernel(Buf gamma, Buf beta, double eps) {
    /** Whether this is an RMSNorm (no shift). */
    public boolean rms() {
        return beta == null;
    }

    /** Rows [r0, r1) of y = norm(x), {@code width} wide, keeping xhat {@code [N, C]} and rstd {@code [N]} for the backward. */
    public void forward(Buf x, Buf y, Buf xhat, Buf rstd, int r0, int r1, int width) {
        if (beta == null) {
            RowMath.rmsNorm(x, gamma, eps, y, xhat, rstd, r0, r1, width);
        } else {
            RowMath.layerNorm(x, gamma, beta, eps, y, xhat, rstd, r0, r1, width);
        }
    }

    /** Rows [r0, r1) of dx = plus + norm'(dy) ({@code plus} null: nothing added). */
    public void backward(Buf dy, Buf xhat, Buf rstd, Buf dx, Buf plus, int r0, int r1, int width) {
        if (beta == null) {
            RowMath.rmsNormBack(dy, xhat, rstd, gamma, dx, plus, r0, r1, width);
        } else {
            RowMath.layerNormBack(dy, xhat, rstd, gamma, dx, plus, r0, r1, width);
        }
    }

    /**
     * Columns [c0, c1) of dgamma = column sums of dy xhat and (LayerNorm) dbeta = column sums of dy over n rows
     * (overwritten): each worker may take a share of the columns.
     */
    public void backwardParams(Buf dy, Buf xhat, Buf dGamma, Buf dBeta, int n, int width, int c0, int c1) {
        RowMath.columnSums(dy, xhat, dGamma, n, width, c0, c1);
        if (beta != null) {
            RowMath.columnSums(dy, null, dBeta, n, width, c0, c1);
        }
    }
}
