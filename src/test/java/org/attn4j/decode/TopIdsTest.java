package org.attn4j.decode;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * {@link TopIds#largest} against a stable sort of every id by the negated value (what BeamSearch did): rows with
 * runs of equal values, signed zeros, infinities and NaN, every n from 0 past the row's length.
 */
class TopIdsTest {
    @Test
    void theLargestAreThoseAStableSortOfAllIdsPutFirst() {
        Random r = new Random(3);
        for (int trial = 0; trial < 200; trial++) {
            int v = 1 + r.nextInt(40);
            double[] row = new double[v];
            for (int i = 0; i < v; i++) {
                int kind = r.nextInt(10);
                row[i] = kind == 0 ? 0.0 : kind == 1 ? -0.0 : kind == 2 ? Double.NaN
                        : kind == 3 ? Double.NEGATIVE_INFINITY : kind == 4 ? -1.5 : -r.nextInt(5) - r.nextDouble();
            }
            Integer[] all = new Integer[v];
            for (int i = 0; i < v; i++) {
                all[i] = i;
            }
            Arrays.sort(all, Comparator.comparingDouble(i -> -row[i]));
            for (int n = 0; n <= v + 1; n++) {
                int[] want = Arrays.stream(all).limit(n).mapToInt(Integer::intValue).toArray();
                assertArrayEquals(want, TopIds.largest(row, n), "row " + Arrays.toString(row) + ", n " + n);
            }
        }
    }

    @Test
    void aGpt2SizedRowKeepsItsLargest() {
        Random r = new Random(4);
        double[] row = new double[50257];
        for (int i = 0; i < row.length; i++) {
            row[i] = i % 1000 == 7 ? -0.5 : -r.nextInt(1 << 20) / 1e4;
        }
        Integer[] all = new Integer[row.length];
        for (int i = 0; i < row.length; i++) {
            all[i] = i;
        }
        Arrays.sort(all, Comparator.comparingDouble(i -> -row[i]));
        assertArrayEquals(Arrays.stream(all).limit(80).mapToInt(Integer::intValue).toArray(), TopIds.largest(row, 80));
    }
}
