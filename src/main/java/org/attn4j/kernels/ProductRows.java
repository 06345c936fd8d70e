package org.attn4j.kernels;

import java.nio.ByteBuffer;

/**
 * The rows of one small-batch compact product ({@link CompactMatrix#multiply}): x's {@code n} rows of {@code in}
 * laid out in {@code xs} for the format's loops (row r from r in), y's rows from float {@code yAt} of
 * {@code y [., out]}, {@code bias} null or {@code [out]}.
 */
record ProductRows(float[] xs, int n, int in, int out, ByteBuffer bias, ByteBuffer y, int yAt) {
    /** Output row o's bias (0 without). */
    float bias(int o) {
        return bias == null ? 0 : bias.getFloat(o * 4);
    }

    /** Where x's row r starts in {@code xs}; rows past the last read the last (a pass of four rows repeats it). */
    int row(int r) {
        return Math.min(r, n - 1) * in;
    }

    /** y[r, o] = value. */
    void put(int r, int o, float value) {
        y.putFloat((yAt + r * out + o) * 4, value);
    }

    /** y[r + i, o] = s_i for the four rows from r that exist. */
    void put4(int r, int o, float s0, float s1, float s2, float s3) {
        put(r, o, s0);
        if (r + 1 < n) {
            put(r + 1, o, s1);
        }
        if (r + 2 < n) {
            put(r + 2, o, s2);
        }
        if (r + 3 < n) {
            put(r + 3, o, s3);
        }
    }
}
