package org.attn4j.kernels;

import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Flat element access to a c-order ND4J array, float32 or float64, read and written as doubles.
 * Kernels are written once against this class; in a JVM that uses one precision the JIT sees one
 * subclass and inlines {@link #get}/{@link #put}.
 */
public abstract class Buf {
    public final INDArray array;
    public final int length;

    private Buf(INDArray array) {
        this.array = array;
        this.length = Math.toIntExact(array.length());
    }

    /** A view of {@code a}'s elements in c order; a must be c-order and contiguous. */
    public static Buf of(INDArray a) {
        if (a.ordering() != 'c' || a.elementWiseStride() != 1 || a.data().length() < a.offset() + a.length()) {
            throw new IllegalArgumentException("expected a contiguous c-order array, given order " + a.ordering()
                    + " with element stride " + a.elementWiseStride() + " and shape "
                    + java.util.Arrays.toString(a.shape()));
        }
        return switch (a.dataType()) {
            case FLOAT -> new F32(a);
            case DOUBLE -> new F64(a);
            default -> throw new IllegalArgumentException("expected FLOAT or DOUBLE, given " + a.dataType());
        };
    }

    /**
     * {@code a} itself when it is a contiguous c-order array of {@code type}, else a c-order copy of it cast
     * to {@code type} (masks and inputs as callers give them).
     */
    public static Buf of(INDArray a, DataType type) {
        boolean plain = a.dataType() == type && a.ordering() == 'c' && a.elementWiseStride() == 1;
        return of(plain ? a : a.castTo(type).dup('c'));
    }

    /** Frees the array's native memory now, not when the garbage collector finds it (it must not be used after). */
    public void close() {
        if (array.closeable()) {
            array.close();
        }
    }

    public abstract double get(int i);

    /** The float32 elements as native-order bytes from element 0 (for the Vector API); float32 only. */
    public java.nio.ByteBuffer bytes() {
        throw new UnsupportedOperationException("bytes() is for float32 arrays");
    }

    public abstract void put(int i, double v);

    public abstract boolean isFloat();

    /** A BLAS pointer at element {@code offset}. */
    public abstract Pointer at(long offset);

    private static final class F32 extends Buf {
        private final FloatBuffer b;
        private final java.nio.ByteBuffer bytes;
        private final Pointer base;

        F32(INDArray a) {
            super(a);
            this.b = a.data().asNioFloat().position((int) a.offset()).slice();
            this.bytes = a.data().asNio().position((int) a.offset() * 4).slice().order(java.nio.ByteOrder.nativeOrder());
            this.base = new FloatPointer(a.data().addressPointer()).position(a.offset());
        }

        @Override
        public double get(int i) {
            return b.get(i);
        }

        @Override
        public void put(int i, double v) {
            b.put(i, (float) v);
        }

        @Override
        public boolean isFloat() {
            return true;
        }

        @Override
        public java.nio.ByteBuffer bytes() {
            return bytes;
        }

        @Override
        public Pointer at(long offset) {
            return new FloatPointer(base).position(base.position() + offset);
        }
    }

    private static final class F64 extends Buf {
        private final DoubleBuffer b;
        private final Pointer base;

        F64(INDArray a) {
            super(a);
            this.b = a.data().asNioDouble().position((int) a.offset()).slice();
            this.base = new DoublePointer(a.data().addressPointer()).position(a.offset());
        }

        @Override
        public double get(int i) {
            return b.get(i);
        }

        @Override
        public void put(int i, double v) {
            b.put(i, v);
        }

        @Override
        public boolean isFloat() {
            return false;
        }

        @Override
        public Pointer at(long offset) {
            return new DoublePointer(base).position(base.position() + offset);
        }
    }
}
