package org.attn4j.kernels;

import java.nio.ByteBuffer;
import org.attn4j.config.WeightFormat;

/**
 * bfloat16 weights ({@link BFloat16}: rounded to nearest, ties to even). A weight widens to float32 exactly, by
 * moving its 16 bits to the top of an int.
 */
final class Bf16Matrix extends CompactMatrix {
    final short[] w; // [out, in]

    private Bf16Matrix(int out, int in, short[] w) {
        super(out, in);
        this.w = w;
    }

    static Bf16Matrix of(Buf from, int out, int in) {
        if ((long) out * in > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("a BFLOAT16 matrix holds at most 2^31 - 9 weights, given [" + out + ", "
                    + in + "]");
        }
        short[] w = new short[out * in];
        for (int i = 0; i < w.length; i++) {
            w[i] = from.isFloat() ? BFloat16.fromFloat((float) from.get(i)) : BFloat16.fromDouble(from.get(i));
        }
        return new Bf16Matrix(out, in, w);
    }

    @Override
    public WeightFormat format() {
        return WeightFormat.BFLOAT16;
    }

    @Override
    public float get(int row, int column) {
        return BFloat16.toFloat(w[row * in + column]);
    }

    @Override
    void laneLayout(ByteBuffer x, int xAt, float[] xs, int xsAt) {
        CompactLanes.bf16Layout(x, xAt, in, xs, xsAt);
    }

    @Override
    void rows(boolean lanes, ProductRows x, int o0, int o1) {
        if (lanes) {
            CompactLanes.bf16Rows(w, x, o0, o1);
            return;
        }
        for (int o = o0; o < o1; o++) {
            float b = x.bias(o);
            for (int r = 0; r < x.n(); r++) {
                float sum = 0;
                for (int j = 0; j < in; j++) {
                    sum += BFloat16.toFloat(w[o * in + j]) * x.xs()[r * in + j];
                }
                x.put(r, o, b + sum);
            }
        }
    }

    @Override
    void widen(int o0, int o1, float[] to) {
        for (int i = o0 * in, k = 0; i < o1 * in; i++, k++) {
            to[k] = BFloat16.toFloat(w[i]);
        }
    }
}
