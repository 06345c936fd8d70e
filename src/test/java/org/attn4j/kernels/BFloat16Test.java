package org.attn4j.kernels;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.attn4j.formats.Safetensors;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * bfloat16 rounding: hand-derived bit patterns, an exact oracle on random values, PyTorch's rounding
 * (src/test/python/gen_bf16_fixture.py), and exact widening of every one of the 65,536 patterns.
 */
class BFloat16Test {
    private static short round(int floatBits) {
        return BFloat16.fromFloat(Float.intBitsToFloat(floatBits));
    }

    private static String hex(short s) {
        return String.format("%04X", s & 0xFFFF);
    }

    @Test
    void handDerivedPatternsRoundToNearestTiesToEven() {
        int[][] cases = { // float32 bits, expected bfloat16 bits
            {0x3F800000, 0x3F80}, // 1: exact
            {0x3F808000, 0x3F80}, // 1 + 2^-8: a tie, the kept last bit is 0 (even): down
            {0x3F818000, 0x3F82}, // 1 + 2^-7 + 2^-8: a tie, the kept last bit is 1 (odd): up to even
            {0x3F807FFF, 0x3F80}, // just below a tie: down
            {0x3F808001, 0x3F81}, // just above a tie: up
            {0xBF818000, 0xBF82}, // ties are symmetric in sign
            {0x3FFF8000, 0x4000}, // a tie whose carry runs into the exponent: 2 - 2^-8 -> 2
            {0x7F7F7FFF, 0x7F7F}, // just below the tie after the largest bfloat16: stays finite
            {0x7F7F8000, 0x7F80}, // that tie (0x7F7F is odd): up, to infinity
            {0x7F7FFFFF, 0x7F80}, // float32's largest overflows to infinity
            {0xFF7FFFFF, 0xFF80},
            {0x7F800000, 0x7F80}, {0xFF800000, 0xFF80}, // infinities stay
            {0x7FC00000, 0x7FC0}, {0xFFC00000, 0x7FC0}, // NaNs become the quiet NaN
            {0x7F800001, 0x7FC0}, // a signalling NaN (plain rounding would make it infinity)
            {0xFFFFFFFF, 0x7FC0}, // a NaN whose rounding would carry past the sign bit
            {0x00000000, 0x0000}, {0x80000000, 0x8000}, // signed zeros
            {0x00000001, 0x0000}, // the smallest subnormal: down to 0
            {0x00008000, 0x0000}, // a subnormal tie, even: down
            {0x00018000, 0x0002}, // a subnormal tie, odd: up
            {0x0000FFFF, 0x0001}, // above the tie: up
            {0x80018000, 0x8002},
            {0x007FFFFF, 0x0080}, // the largest subnormal rounds up to the smallest normal
        };
        for (int[] c : cases) {
            assertEquals(hex((short) c[1]), hex(round(c[0])), String.format("float bits %08X", c[0]));
        }
    }

    @Test
    void doublesRoundOnceNotThroughTheNearestFloat() {
        // 1 + 2^-8 + 2^-40 is above the tie, so it rounds up to 1 + 2^-7; (float) gives 1 + 2^-8, a tie, then 1.
        double above = 1 + 0x1p-8 + 0x1p-40;
        assertEquals("3F80", hex(BFloat16.fromFloat((float) above)), "through float32: rounded twice");
        assertEquals("3F81", hex(BFloat16.fromDouble(above)));
        assertEquals("3F80", hex(BFloat16.fromDouble(1 + 0x1p-8)), "an exact tie still goes to even");
        assertEquals("3F80", hex(BFloat16.fromDouble(1 + 0x1p-8 - 0x1p-40)));
        assertEquals("BF81", hex(BFloat16.fromDouble(-above)));
        assertEquals("7F80", hex(BFloat16.fromDouble(1e39)), "beyond float32's range: infinity");
        assertEquals("7F7F", hex(BFloat16.fromDouble(0x1.FEp127)), "the largest bfloat16");
        assertEquals("0000", hex(BFloat16.fromDouble(1e-50)));
        assertEquals("8000", hex(BFloat16.fromDouble(-1e-50)));
        assertEquals("7FC0", hex(BFloat16.fromDouble(Double.NaN)));
        assertEquals("FF80", hex(BFloat16.fromDouble(Double.NEGATIVE_INFINITY)));
    }

    @Test
    void randomValuesRoundToTheNearestAsAnExactOracleSays() {
        Random rnd = new Random(19);
        for (int i = 0; i < 8_000; i++) {
            double d = i % 2 == 0 ? Float.intBitsToFloat(rnd.nextInt()) : Double.longBitsToDouble(rnd.nextLong());
            if (Double.isNaN(d) || Double.isInfinite(d) || Math.abs(d) >= 0x1p128 || Math.abs(d) < 0x1p-140) {
                continue;
            }
            short got = i % 2 == 0 ? BFloat16.fromFloat((float) d) : BFloat16.fromDouble(d), expected = nearest(d);
            assertEquals(expected, got, () -> "value " + d + ": expected " + hex(expected) + ", got " + hex(got));
        }
    }

    /** The nearest bfloat16 to finite {@code d} (ties to even), by exact decimal arithmetic. */
    private static short nearest(double d) {
        int down = Float.floatToRawIntBits((float) d) >>> 16; // a candidate near d; look at its neighbours
        short best = 0;
        BigDecimal exact = new BigDecimal(d), bestDistance = null;
        for (int c = down - 2; c <= down + 2; c++) {
            float v = BFloat16.toFloat((short) c);
            if (Float.isNaN(v) || ((c ^ down) & 0x8000) != 0 && v != 0) {
                continue;
            }
            BigDecimal distance = Float.isInfinite(v) ? null : new BigDecimal(v).subtract(exact).abs();
            if (distance == null) {
                // infinity is nearest when d is at or beyond the tie after the largest finite value
                distance = new BigDecimal(0x1p128).subtract(exact.abs()).abs();
            }
            int cmp = bestDistance == null ? -1 : distance.compareTo(bestDistance);
            if (cmp < 0 || (cmp == 0 && (c & 1) == 0)) {
                best = (short) c;
                bestDistance = distance;
            }
        }
        return best;
    }

    @Test
    void pyTorchRoundsTheSame() {
        Map<String, INDArray> f = Safetensors.read(Path.of("src/test/resources/bf16/rounding.safetensors"));
        float[] in = f.get("input").toFloatVector(), torch = f.get("rounded").toFloatVector();
        assertTrue(in.length > 500, "fixture size " + in.length);
        int nans = 0;
        for (int i = 0; i < in.length; i++) {
            short expected = (short) (Float.floatToRawIntBits(torch[i]) >>> 16);
            assertEquals(hex(expected), hex(BFloat16.fromFloat(in[i])),
                    String.format("input %d, float bits %08X", i, Float.floatToRawIntBits(in[i])));
            nans += Float.isNaN(in[i]) ? 1 : 0;
        }
        assertTrue(nans >= 5, "NaNs in the fixture: " + nans);
    }

    @Test
    void wideningIsExactForEveryPattern() {
        for (int b = 0; b < 1 << 16; b++) {
            float v = BFloat16.toFloat((short) b);
            assertEquals(b << 16, Float.floatToRawIntBits(v));
            if (!Float.isNaN(v)) {
                assertEquals((short) b, BFloat16.fromFloat(v), "a round trip changed the bits");
            }
        }
    }
}
