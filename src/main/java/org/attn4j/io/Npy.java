package org.attn4j.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.attn4j.formats.Safetensors;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Parses one {@code .npy} file (numpy's format, versions 1 to 3): the magic {@code \x93NUMPY}, a
 * version, a header length, a Python-literal header {@code {'descr': '<f4', 'fortran_order': False,
 * 'shape': (2, 3), }} and the raw data. Written by hand because ND4J's reader fails on 0-d arrays
 * and misreads Fortran order. The data must hold exactly the bytes the shape and dtype need, so no
 * header can make the reader allocate more than the file holds.
 */
final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([^']*)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");
    private static final Pattern DTYPE = Pattern.compile("([<>|=])([a-zA-Z])(\\d{1,2})");
    static final String SUPPORTED = "float16, float32, float64, int8, int16, int32, int64, uint8, bool";

    private Npy() {
    }

    /** The array in {@code npy}; {@code where} ("file: entry 'name'") starts every error message. */
    static INDArray parse(String where, byte[] npy) {
        if (npy.length < 10 || !Arrays.equals(Arrays.copyOf(npy, 6), MAGIC)) {
            throw bad(where, "not an npy array (no \\x93NUMPY magic)");
        }
        int major = npy[6] & 0xff;
        ByteBuffer b = ByteBuffer.wrap(npy).order(ByteOrder.LITTLE_ENDIAN);
        long headerLength;
        int headerStart;
        if (major == 1) {
            headerLength = b.getShort(8) & 0xffff;
            headerStart = 10;
        } else if (major == 2 || major == 3) {
            if (npy.length < 12) {
                throw bad(where, "npy header cut short");
            }
            headerLength = b.getInt(8) & 0xffffffffL;
            headerStart = 12;
        } else {
            throw bad(where, "npy version " + major + "." + (npy[7] & 0xff) + " (known: 1.0, 2.0, 3.0)");
        }
        if (headerStart + headerLength > npy.length) {
            throw bad(where, "npy header of " + headerLength + " bytes does not fit the entry's " + npy.length);
        }
        int dataStart = (int) (headerStart + headerLength);
        String header = new String(npy, headerStart, (int) headerLength,
                major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1).strip();
        Matcher descr = DESCR.matcher(header), fortran = FORTRAN.matcher(header), shapeText = SHAPE.matcher(header);
        if (!header.startsWith("{") || !header.endsWith("}") || !fortran.find() || !shapeText.find()) {
            throw bad(where, "npy header is not {'descr': ..., 'fortran_order': ..., 'shape': (...)}: "
                    + abbreviate(header));
        }
        if (!descr.find()) {
            throw bad(where, "has a structured or unknown dtype (" + abbreviate(header) + "); supported: " + SUPPORTED);
        }
        long[] shape = shape(where, shapeText.group(1));
        Matcher dtype = DTYPE.matcher(descr.group(1));
        DataType type = dtype.matches() ? type(dtype.group(2), Integer.parseInt(dtype.group(3))) : null;
        if (type == null) {
            throw bad(where, "has dtype '" + descr.group(1) + "'; supported: " + SUPPORTED);
        }
        int width = type.width();
        String what = "(" + descr.group(1) + " " + Arrays.toString(shape) + ")";
        long bytes;
        try {
            long count = 1;
            for (long d : shape) {
                count = Math.multiplyExact(count, d);
            }
            bytes = Math.multiplyExact(count, width);
        } catch (ArithmeticException e) {
            throw bad(where, what + " needs more than 2^63 bytes; the entry holds " + (npy.length - dataStart));
        }
        if (bytes != npy.length - dataStart) {
            throw bad(where, what + " needs " + bytes + " bytes of data, the entry holds " + (npy.length - dataStart));
        }
        ByteOrder order = dtype.group(1).equals(">") ? ByteOrder.BIG_ENDIAN
                : dtype.group(1).equals("=") ? ByteOrder.nativeOrder() : ByteOrder.LITTLE_ENDIAN;
        ByteBuffer data = ByteBuffer.wrap(npy, dataStart, (int) bytes).slice().order(order);
        boolean columnMajor = fortran.group(1).equals("True") && shape.length > 1;
        // Fortran order [a, b, c] is C order [c, b, a] transposed.
        long[] stored = columnMajor ? reversed(shape) : shape;
        INDArray a = bytes == 0 ? Nd4j.create(type, stored) : array(type, data, (int) (bytes / width), stored);
        if (columnMajor) {
            int[] axes = new int[shape.length];
            Arrays.setAll(axes, i -> shape.length - 1 - i);
            a = a.permute(axes).dup('c');
        }
        return a;
    }

    private static long[] shape(String where, String text) {
        List<Long> dims = new ArrayList<>();
        for (String d : text.split(",")) {
            if (d.isBlank()) {
                continue;
            }
            try {
                long v = Long.parseLong(d.strip());
                if (v < 0) {
                    throw new NumberFormatException("negative");
                }
                dims.add(v);
            } catch (NumberFormatException e) {
                throw bad(where, "has shape (" + text + "), not non-negative integers");
            }
        }
        return dims.stream().mapToLong(Long::longValue).toArray();
    }

    /** numpy's kind letter and byte width to an ND4J type, or null where unsupported. */
    private static DataType type(String kind, int width) {
        return switch (kind + width) {
            case "f2" -> DataType.HALF;
            case "f4" -> DataType.FLOAT;
            case "f8" -> DataType.DOUBLE;
            case "i1" -> DataType.BYTE;
            case "i2" -> DataType.SHORT;
            case "i4" -> DataType.INT;
            case "i8" -> DataType.LONG;
            case "u1" -> DataType.UBYTE;
            case "b1" -> DataType.BOOL;
            default -> null;
        };
    }

    private static INDArray array(DataType type, ByteBuffer data, int n, long[] shape) {
        INDArray flat = switch (type) {
            case DOUBLE -> {
                double[] v = new double[n];
                data.asDoubleBuffer().get(v);
                yield Nd4j.createFromArray(v);
            }
            case FLOAT -> {
                float[] v = new float[n];
                data.asFloatBuffer().get(v);
                yield Nd4j.createFromArray(v);
            }
            case HALF -> {
                float[] v = new float[n];
                for (int i = 0; i < n; i++) {
                    v[i] = Safetensors.halfToFloat(data.getShort());
                }
                yield Nd4j.createFromArray(v).castTo(DataType.HALF);
            }
            case LONG -> {
                long[] v = new long[n];
                data.asLongBuffer().get(v);
                yield Nd4j.createFromArray(v);
            }
            case INT -> {
                int[] v = new int[n];
                data.asIntBuffer().get(v);
                yield Nd4j.createFromArray(v);
            }
            case SHORT -> {
                short[] v = new short[n];
                data.asShortBuffer().get(v);
                yield Nd4j.createFromArray(v);
            }
            case BYTE -> {
                byte[] v = new byte[n];
                data.get(v);
                yield Nd4j.createFromArray(v);
            }
            case UBYTE -> {
                short[] v = new short[n];
                for (int i = 0; i < n; i++) {
                    v[i] = (short) (data.get() & 0xff);
                }
                yield Nd4j.createFromArray(v).castTo(DataType.UBYTE);
            }
            default -> { // BOOL: numpy reads any non-zero byte as True
                boolean[] v = new boolean[n];
                for (int i = 0; i < n; i++) {
                    v[i] = data.get() != 0;
                }
                yield Nd4j.createFromArray(v);
            }
        };
        return flat.reshape('c', shape);
    }

    private static long[] reversed(long[] shape) {
        long[] r = new long[shape.length];
        for (int i = 0; i < shape.length; i++) {
            r[i] = shape[shape.length - 1 - i];
        }
        return r;
    }

    private static String abbreviate(String s) {
        return s.length() <= 120 ? s : s.substring(0, 120) + "...";
    }

    private static IllegalArgumentException bad(String where, String what) {
        return new IllegalArgumentException(where + " " + what);
    }
}
