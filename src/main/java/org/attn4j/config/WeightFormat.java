package org.attn4j.config;

/**
 * How a model's weight matrices are stored for inference. Activations stay float32 in every format; a compact
 * matrix is widened to float32 in registers as its product reads it, never into a float32 copy in memory.
 * Decoding reads every weight once per token, so it runs at memory bandwidth divided by {@link #bytesPerWeight}.
 */
public enum WeightFormat {
    /** IEEE float32: 4 bytes a weight; what a model trains in. */
    FLOAT32,
    /**
     * bfloat16, the upper 16 bits of float32 rounded to nearest (ties to even): 2 bytes a weight, the float32
     * range, 8 significant bits (relative error below 2^-8).
     */
    BFLOAT16,
    /**
     * llama.cpp's Q8_0: along each row's input dimension, blocks of {@link #INT8_BLOCK} weights share one float32
     * scale {@code d = max|w| / 127}, and each weight is the int8 {@code round(w / d)}: 1 + 4/32 = 1.125 bytes a
     * weight. A row whose width is not a multiple of 32 ends with a shorter block, scaled by its own maximum.
     */
    INT8;

    /** Weights per scale in {@link #INT8}. */
    public static final int INT8_BLOCK = 32;

    /** Bytes a weight matrix {@code [out, in]} takes in this format. */
    public long bytes(int out, int in) {
        return switch (this) {
            case FLOAT32 -> 4L * out * in;
            case BFLOAT16 -> 2L * out * in;
            case INT8 -> (long) out * in + 4L * out * ((in + INT8_BLOCK - 1) / INT8_BLOCK);
        };
    }

    /** Bytes a weight takes on average, for a wide row ({@code in} a multiple of the block). */
    public double bytesPerWeight() {
        return switch (this) {
            case FLOAT32 -> 4;
            case BFLOAT16 -> 2;
            case INT8 -> 1 + 4.0 / INT8_BLOCK;
        };
    }
}
