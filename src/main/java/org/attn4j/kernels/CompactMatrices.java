package org.attn4j.kernels;

import org.attn4j.config.WeightFormat;

/**
 * Makes a {@link CompactMatrix} of a format (apart from the class, so that the matrix kinds depend on their base
 * and not the other way round).
 */
public final class CompactMatrices {
    private CompactMatrices() {
    }

    /**
     * {@code w}'s {@code [out, in]} elements (c order, from element 0) in {@code format}: rounded to bfloat16 (nearest,
     * ties to even), or quantized to Q8_0 blocks. FLOAT32 has no compact form here (the engine's float32 products
     * are OpenBLAS's), so it is refused.
     *
     * @throws IllegalArgumentException if w holds fewer than {@code out * in} elements, or a weight is not finite
     */
    public static CompactMatrix of(Buf w, int out, int in, WeightFormat format) {
        if ((long) out * in > w.length) {
            throw new IllegalArgumentException("a [" + out + ", " + in + "] weight matrix needs " + (long) out * in
                    + " elements, given " + w.length);
        }
        return switch (format) {
            case BFLOAT16 -> Bf16Matrix.of(w, out, in);
            case INT8 -> Int8Matrix.of(w, out, in);
            case FLOAT32 -> throw new IllegalArgumentException(
                    "FLOAT32 weights stay in their float32 array; a CompactMatrix is BFLOAT16 or INT8");
        };
    }
}
