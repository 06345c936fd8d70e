package org.attn4j.kernels;

/**
 * bfloat16, the upper half of an IEEE float32: sign, the same 8 exponent bits (so the same range), and 7
 * fraction bits (8 significant bits, where float32 has 24). Rounding to it is to nearest, ties to even, as
 * PyTorch, JAX and ml_dtypes do, so its relative error is below 2^-8 (half the spacing 2^-7 at 1: 0.39%)
 * for normal numbers;
 * overflow gives infinity, subnormals round like any number, and every NaN becomes the quiet NaN
 * {@code 0x7FC0} (PyTorch's). Widening back to float32 is exact.
 */
public final class BFloat16 {
    /** The quiet NaN every NaN rounds to. */
    public static final short NAN = 0x7FC0;

    private BFloat16() {
    }

    /** The bfloat16 nearest {@code f} (ties to even), as its 16 bits. */
    public static short fromFloat(float f) {
        if (Float.isNaN(f)) {
            return NAN; // adding below could carry a NaN's fraction into infinity, or a negative NaN past the sign
        }
        int bits = Float.floatToRawIntBits(f);
        // Add just under half of the last kept bit (0x7FFF), plus that bit: a tie rounds up only to an even result.
        // A carry out of the fraction steps the exponent, which is the right next value (and infinity after the largest).
        return (short) ((bits + 0x7FFF + ((bits >>> 16) & 1)) >>> 16);
    }

    /**
     * The bfloat16 nearest {@code d} (ties to even), rounded once: through float32 by rounding to odd (truncate
     * toward zero, then set the last bit when anything was cut). float32 keeps 16 more bits than bfloat16, so its
     * last bit then only says "above the truncation", and the second rounding lands where a direct one would;
     * rounding to nearest float32 first could make a tie out of a value just above one.
     */
    public static short fromDouble(double d) {
        if (Double.isNaN(d)) {
            return NAN;
        }
        float f = (float) d;
        if (Double.isInfinite(d) || f == d) {
            return fromFloat(f);
        }
        if (Math.abs((double) f) > Math.abs(d)) {
            f = Math.nextAfter(f, 0.0); // toward zero (also from infinity to the largest float)
        }
        return fromFloat(Float.intBitsToFloat(Float.floatToRawIntBits(f) | 1));
    }

    /** The float32 equal to bfloat16 {@code bits} (exact). */
    public static float toFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xFFFF) << 16);
    }
}
