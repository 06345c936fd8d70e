package org.attn4j.engine;

import java.util.Arrays;
import org.attn4j.config.AttentionMask;
import org.attn4j.config.BlockConfig;
import org.attn4j.kernels.Buf;
import org.attn4j.kernels.RowMath;
import org.attn4j.kernels.VectorMath;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Argument checks of {@link BlockEngine}, with messages that name the argument, the expected and the given; and
 * views of the engine's flat rows as arrays.
 */
final class Shapes {
    private Shapes() {
    }

    static void check(INDArray x, AttentionMask<INDArray> mask, BlockConfig config, DataType type) {
        if (x == null) {
            throw new IllegalArgumentException("x [B, T, dModel=" + config.dModel() + "] is null");
        }
        if (x.rank() != 3 || x.size(2) != config.dModel() || x.size(0) == 0 || x.size(1) == 0) {
            throw new IllegalArgumentException("x: expected [B, T, dModel=" + config.dModel() + "], given "
                    + Arrays.toString(x.shape()));
        }
        if (x.dataType() != type) {
            throw new IllegalArgumentException("x: expected data type " + type + " (the block's), given " + x.dataType());
        }
        mask(mask, x.size(0), config.heads(), x.size(1), x.size(1));
    }

    /**
     * Checks the parts of {@code mask} against batch b, heads h, queries tq and keys tk: padding {@code [B, Tk]},
     * keep {@code [Tq, Tk]} or {@code [B, Tq, Tk]}, additive {@code [Tq, Tk]}, {@code [B, Tq, Tk]} or
     * {@code [B, H, Tq, Tk]} and floating point.
     */
    static void mask(AttentionMask<INDArray> mask, long b, long h, long tq, long tk) {
        if (mask == null) {
            throw new IllegalArgumentException("mask is null; use AttentionMask.none()");
        }
        if (mask.padding() != null) {
            same("mask padding (1 = real key)", mask.padding(), new long[] {b, tk}, null);
        }
        INDArray keep = mask.attention();
        if (keep != null) {
            same("mask attention " + (keep.rank() == 2 ? "[Tq, Tk]" : "[B, Tq, Tk]") + " (1 = may attend)", keep,
                    keep.rank() == 2 ? new long[] {tq, tk} : new long[] {b, tq, tk}, null);
        }
        INDArray bias = mask.additive();
        if (bias != null) {
            long[] expected = switch (bias.rank()) {
                case 2 -> new long[] {tq, tk};
                case 3 -> new long[] {b, tq, tk};
                default -> new long[] {b, h, tq, tk};
            };
            same("mask additive " + (bias.rank() == 2 ? "[Tq, Tk]" : bias.rank() == 3 ? "[B, Tq, Tk]" : "[B, H, Tq, Tk]"),
                    bias, expected, null);
            if (!bias.dataType().isFPType()) {
                throw new IllegalArgumentException("mask additive: expected a floating-point type, given "
                        + bias.dataType());
            }
        }
    }

    /** Checks a decoder block's {@code memory [B, S, dModel]} (S > 0; B = {@code b}, or any when b < 0). */
    static void memory(INDArray memory, long b, int dModel) {
        if (memory == null || memory.rank() != 3 || (b >= 0 && memory.size(0) != b) || memory.size(2) != dModel
                || memory.size(1) == 0) {
            throw new IllegalArgumentException("memory: expected [B" + (b >= 0 ? "=" + b : "") + ", S, dModel="
                    + dModel + "], given " + (memory == null ? "null" : Arrays.toString(memory.shape())));
        }
    }

    static void same(String what, INDArray given, long[] expected, DataType type) {
        if (given == null) {
            throw new IllegalArgumentException(what + ": expected " + Arrays.toString(expected) + ", given null");
        }
        if (!Arrays.equals(given.shape(), expected)) {
            throw new IllegalArgumentException(what + ": expected shape " + Arrays.toString(expected) + ", given "
                    + Arrays.toString(given.shape()));
        }
        if (type != null && given.dataType() != type) {
            throw new IllegalArgumentException(what + ": expected data type " + type + ", given " + given.dataType());
        }
    }

    /**
     * Throws if {@code b} holds a NaN or infinity, saying how many and where the first is, in the words
     * of the layers' own input check: "x contains 2 NaN or infinite values, the first at [1, 2, 5] (NaN)".
     */
    static void finite(String what, Buf b, long[] shape) {
        int length = Math.toIntExact(java.util.Arrays.stream(shape).reduce(1, (x, y) -> x * y));
        if (RowMath.vector(b) && VectorMath.allFinite(b, 0, length)) {
            return;
        }
        long count = 0;
        int first = -1;
        for (int i = 0; i < length; i++) {
            if (!Double.isFinite(b.get(i))) {
                count++;
                first = first < 0 ? i : first;
            }
        }
        if (count > 0) {
            long[] at = org.nd4j.linalg.api.shape.Shape.ind2subC(shape, first);
            throw new IllegalArgumentException(what + " contains " + count + " NaN or infinite value"
                    + (count > 1 ? "s" : "") + ", the first at " + Arrays.toString(at) + " (" + b.get(first) + ")");
        }
    }

    /** The first elements of {@code buf} as an array of {@code shape} (a view). */
    static INDArray view(Buf buf, long... shape) {
        long length = 1;
        for (long d : shape) {
            length *= d;
        }
        INDArray flat = buf.array.reshape(buf.array.length());
        return (length == flat.length() ? flat : flat.get(NDArrayIndex.interval(0, length))).reshape('c', shape);
    }
}
