package org.attn4j.kernels;

/**
 * Rotary position embeddings (RoPE) on rows of heads side by side: per head, dimension i is paired with i + D/2
 * and the pair turns by the angle position * f_i ({@code f_i} from {@code nn.Rope}, theta^(-2i/D) by default).
 * One table of cos and sin per caller, filled for the positions a call needs; {@link #rotate} forward,
 * {@code back} by minus the angle, which is the rotation's gradient.
 *
 * <pre>
 *   rotate:   (x1, x2) -> (x1 cos - x2 sin, x2 cos + x1 sin)
 *   back:     (d1, d2) -> (d1 cos + d2 sin, d2 cos - d1 sin)
 * </pre>
 *
 * Not for two threads filling at once: each caller (a block's activations, an attention pass) owns one.
 */
public final class RotaryKernel {
    private final double[] inverseFrequency; // f_i, i < D/2
    private final int half;
    private double[] cos = new double[0], sin = new double[0]; // [t, D/2]

    /** A kernel for heads of width 2 f.length turning by {@code inverseFrequency} f. */
    public RotaryKernel(double[] inverseFrequency) {
        this.inverseFrequency = inverseFrequency;
        this.half = inverseFrequency.length;
    }

    /** Fills the table for positions past .. past + t - 1 (table rows 0 .. t - 1), growing it if needed. */
    public void table(int past, int t) {
        if (cos.length < t * half) {
            cos = new double[t * half];
            sin = new double[t * half];
        }
        for (int i = 0; i < t; i++) {
            for (int j = 0; j < half; j++) {
                double angle = (past + i) * inverseFrequency[j];
                cos[i * half + j] = Math.cos(angle);
                sin[i * half + j] = Math.sin(angle);
            }
        }
    }

    /**
     * The row of {@code width} elements (heads of D side by side) at {@code at} in {@code x}, turned to the
     * table's row {@code position}; {@code back}: turned back, the gradient's way.
     */
    public void rotate(Buf x, int at, int width, int position, boolean back) {
        int d = 2 * half, angles = position * half;
        double sign = back ? -1 : 1;
        for (int head = at; head < at + width; head += d) {
            for (int i = 0; i < half; i++) {
                double c = cos[angles + i], s = sign * sin[angles + i];
                double x1 = x.get(head + i), x2 = x.get(head + i + half);
                x.put(head + i, x1 * c - x2 * s);
                x.put(head + i + half, x2 * c + x1 * s);
            }
        }
    }
}
