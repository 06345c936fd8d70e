package org.attn4j.kernels;

import java.nio.ByteBuffer;
import org.attn4j.config.WeightFormat;

/**
 * Q8_0 weights (llama.cpp's): row o's input dimension in blocks of 32, block b holding the int8 weights
 * {@code q[o, 32b + j] = round(w / d)} (half away from zero, as C's {@code roundf}) and one float32 scale
 * {@code d[o, b] = max_j |w[o, 32b + j]| / 127} (0 for a block of zeros). A row whose width is not a multiple of
 * 32 ends with a shorter block, scaled by the maximum of its own weights. Widened, a weight is {@code d * q}, within
 * {@code d / 2} of the float it came from.
 *
 * <p>The product sums each block's {@code q * x} in float32, then adds the block's sum times its scale.
 */
final class Int8Matrix extends CompactMatrix {
    static final int BLOCK = WeightFormat.INT8_BLOCK;

    final int blocks; // per row: ceil(in / 32)
    final byte[] q; // [out, in]
    final float[] scale; // [out, blocks]

    private Int8Matrix(int out, int in, byte[] q, float[] scale) {
        super(out, in);
        this.blocks = (in + BLOCK - 1) / BLOCK;
        this.q = q;
        this.scale = scale;
    }

    static Int8Matrix of(Buf w, int out, int in) {
        if ((long) out * in > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("an INT8 matrix holds at most 2^31 - 9 weights, given [" + out + ", " + in + "]");
        }
        int blocks = (in + BLOCK - 1) / BLOCK;
        byte[] q = new byte[out * in];
        float[] scale = new float[out * blocks];
        for (int o = 0; o < out; o++) {
            for (int b = 0; b < blocks; b++) {
                int from = o * in + b * BLOCK, to = o * in + Math.min(in, (b + 1) * BLOCK);
                float max = 0;
                for (int i = from; i < to; i++) {
                    float v = (float) w.get(i);
                    if (!Float.isFinite(v)) {
                        throw new IllegalArgumentException("weight [" + o + ", " + (i - o * in) + "] is " + v
                                + "; only finite weights quantize to INT8");
                    }
                    max = Math.max(max, Math.abs(v));
                }
                float d = max / 127, inverse = d == 0 ? 0 : 1 / d;
                scale[o * blocks + b] = d;
                for (int i = from; i < to; i++) {
                    float v = (float) w.get(i) * inverse;
                    q[i] = (byte) (Math.signum(v) * Math.floor(Math.abs(v) + 0.5f));
                }
            }
        }
        return new Int8Matrix(out, in, q, scale);
    }

    @Override
    public WeightFormat format() {
        return WeightFormat.INT8;
    }

    @Override
    public float get(int row, int column) {
        return scale[row * blocks + column / BLOCK] * q[row * in + column];
    }

    @Override
    void laneLayout(ByteBuffer x, int xAt, float[] xs, int xsAt) {
        CompactLanes.int8Layout(x, xAt, in, xs, xsAt);
    }

    @Override
    void rows(boolean lanes, ProductRows x, int o0, int o1) {
        if (lanes) {
            CompactLanes.int8Rows(q, scale, x, o0, o1);
            return;
        }
        for (int o = o0; o < o1; o++) {
            float b = x.bias(o);
            for (int r = 0; r < x.n(); r++) {
                float sum = 0;
                for (int blk = 0; blk < blocks; blk++) {
                    float part = 0;
                    for (int j = blk * BLOCK; j < Math.min(in, (blk + 1) * BLOCK); j++) {
                        part += q[o * in + j] * x.xs()[r * in + j];
                    }
                    sum += part * scale[o * blocks + blk];
                }
                x.put(r, o, b + sum);
            }
        }
    }

    @Override
    void widen(int o0, int o1, float[] to) {
        for (int o = o0, k = 0; o < o1; o++) {
            for (int j = 0; j < in; j++, k++) {
                to[k] = scale[o * blocks + j / BLOCK] * q[o * in + j];
            }
        }
    }
}
