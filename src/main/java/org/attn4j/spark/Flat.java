package org.attn4j.spark;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Named arrays as one {@code double[]} (in the map's order) and back: what crosses the network is
 * plain Java arrays, never ND4J objects. Float64 keeps float32 values exact and sums of float64
 * values at full precision.
 */
final class Flat {
    private Flat() {
    }

    static long length(Collection<INDArray> arrays) {
        return arrays.stream().mapToLong(INDArray::length).sum();
    }

    /** The arrays' values, one after the other, each in C order. */
    static double[] of(Collection<INDArray> arrays) {
        long n = length(arrays);
        if (n > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(n + " values do not fit one Java array (at most 2^31 - 9)");
        }
        double[] out = new double[(int) n];
        int at = 0;
        for (INDArray a : arrays) {
            double[] v = a.dup('c').castTo(DataType.DOUBLE).data().asDouble();
            System.arraycopy(v, 0, out, at, v.length);
            at += v.length;
        }
        return out;
    }

    /** Copies {@code values / divisor} into {@code targets}, in order, casting to each target's data type. */
    static void assign(Collection<INDArray> targets, double[] values, double divisor) {
        if (values.length != length(targets)) {
            throw new IllegalArgumentException("Expected " + length(targets) + " values, given " + values.length);
        }
        int at = 0;
        for (INDArray t : targets) {
            int n = (int) t.length();
            double[] part = new double[n];
            for (int i = 0; i < n; i++) {
                part[i] = values[at + i] / divisor;
            }
            t.assign(Nd4j.create(part, t.shape(), 'c').castTo(t.dataType()));
            at += n;
        }
    }

    /** New arrays shaped like {@code like} holding {@code values / divisor}, by the same names. */
    static Map<String, INDArray> arrays(Map<String, INDArray> like, double[] values, double divisor) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        like.forEach((k, v) -> out.put(k, Nd4j.create(v.dataType(), v.shape())));
        assign(out.values(), values, divisor);
        return out;
    }
}
