package org.attn4j.kernels;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

/**
 * ALiBi's slopes against the paper (Press et al. 2022, section 3), derived by hand: for n heads, n a power of two,
 * the geometric sequence starting at 2^(-8/n) with that ratio; for other n, the slopes of the largest power of two
 * below n, then every other slope of twice that power, from the first, until there are n. Powers of two are
 * compared exactly, the others (powers of 2^0.5) within 1e-15.
 */
class AlibiTest {
    @Test
    void powersOfTwoFollowThePaper() {
        assertArrayEquals(new double[] {1 / 2.0, 1 / 4.0, 1 / 8.0, 1 / 16.0, 1 / 32.0, 1 / 64.0, 1 / 128.0, 1 / 256.0},
                Alibi.slopes(8), 0); // the paper's example: 1/2^1 ... 1/2^8
        assertArrayEquals(new double[] {1 / 4.0, 1 / 16.0, 1 / 64.0, 1 / 256.0}, Alibi.slopes(4), 0);
        assertArrayEquals(new double[] {1 / 16.0, 1 / 256.0}, Alibi.slopes(2), 0);
        assertArrayEquals(new double[] {1 / 256.0}, Alibi.slopes(1), 0);
        double r = 1 / Math.sqrt(2); // 16 heads: 1/2^0.5, 1/2^1, ..., 1/2^8
        double[] sixteen = Alibi.slopes(16);
        assertEquals(16, sixteen.length);
        for (int h = 0; h < 16; h++) {
            assertEquals(Math.pow(r, h + 1), sixteen[h], 1e-15, "slope " + h + " of 16");
        }
    }

    @Test
    void otherHeadCountsTakeEveryOtherSlopeOfTheNextPower() {
        // 6: the 4 slopes of 4 heads, then 1/2 and 1/8 (the 1st and 3rd of 8 heads' 1/2, 1/4, 1/8, ...).
        assertArrayEquals(new double[] {1 / 4.0, 1 / 16.0, 1 / 64.0, 1 / 256.0, 1 / 2.0, 1 / 8.0}, Alibi.slopes(6), 0);
        // 3: the 2 slopes of 2 heads, then 1/4 (the 1st of 4 heads').
        assertArrayEquals(new double[] {1 / 16.0, 1 / 256.0, 1 / 4.0}, Alibi.slopes(3), 0);
        // 12: the 8 slopes of 8 heads, then 1/2^0.5, 1/2^1.5, 1/2^2.5, 1/2^3.5 (every other of 16 heads').
        double[] twelve = Alibi.slopes(12);
        for (int h = 0; h < 8; h++) {
            assertEquals(Math.pow(2, -(h + 1)), twelve[h], 0, "slope " + h + " of 12");
        }
        for (int h = 8; h < 12; h++) {
            assertEquals(Math.pow(2, -(h - 8) - 0.5), twelve[h], 1e-15, "slope " + h + " of 12");
        }
    }

    @Test
    void noHeadsIsRefused() {
        assertEquals("ALiBi needs a positive number of heads, got 0",
                assertThrows(IllegalArgumentException.class, () -> Alibi.slopes(0)).getMessage());
    }
}
