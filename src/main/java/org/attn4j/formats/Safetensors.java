package org.attn4j.formats;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.attn4j.kernels.BFloat16;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Reads and writes Hugging Face's safetensors format: an 8-byte little-endian header length, a JSON header
 * mapping each tensor name to its {@code dtype}, {@code shape} and {@code data_offsets}, then the raw
 * little-endian data. F64, F32, F16, BF16 (both widened to float32), I64 and I32 are read; float32 and
 * float64 arrays are written as F32 and F64, or rounded to BF16 ({@link BFloat16}).
 * Every size is computed with overflow checks, and the whole header is checked before any tensor is
 * read: each shape's bytes equal its offsets' range, and the ranges tile the data exactly.
 */
public final class Safetensors {
    private static final long MAX_HEADER = 100L << 20;

    private Safetensors() {
    }

    /** Every tensor in the file, by name. Throws IllegalArgumentException naming the file, the tensor and the problem. */
    public static Map<String, INDArray> read(Path file) {
        Header h = header(file);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Map<String, INDArray> out = new LinkedHashMap<>();
            for (Spec spec : h.tensors().values()) {
                out.put(spec.name(), tensor(ch, spec, h.dataStart));
            }
            return out;
        } catch (IOException e) {
            throw bad(file, "cannot read (" + e + ")");
        }
    }

    /**
     * A file's header, checked as {@link #read} checks it, with no tensor read yet: a loader holds names,
     * shapes and dtypes against what it expects before it allocates anything, then reads each tensor into its
     * place ({@link Header#readInto}). Throws IllegalArgumentException naming the file and the problem.
     */
    public static Header header(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer lengthBytes = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            if (size < 8 || ch.read(lengthBytes, 0) != 8) {
                throw bad(file, "shorter than the 8-byte header length");
            }
            long headerLength = lengthBytes.getLong(0);
            if (headerLength <= 0 || headerLength > MAX_HEADER || 8 + headerLength > size) {
                throw bad(file, "header length " + headerLength + " does not fit a file of " + size + " bytes");
            }
            ByteBuffer header = ByteBuffer.allocate((int) headerLength);
            ch.read(header, 8);
            JsonObject json;
            try {
                json = JsonParser.parseString(new String(header.array(), java.nio.charset.StandardCharsets.UTF_8))
                        .getAsJsonObject();
            } catch (RuntimeException e) {
                throw bad(file, "the header is not a JSON object (" + e.getMessage() + ")");
            }
            long dataStart = 8 + headerLength, dataSize = size - dataStart;
            List<Spec> specs = new ArrayList<>();
            for (Map.Entry<String, JsonElement> e : json.entrySet()) {
                if (!e.getKey().equals("__metadata__")) {
                    specs.add(spec(file, e.getKey(), e.getValue(), dataSize));
                }
            }
            checkLayout(file, specs, dataSize);
            Map<String, Spec> tensors = new LinkedHashMap<>();
            specs.forEach(spec -> tensors.put(spec.name(), spec));
            return new Header(file, dataStart, java.util.Collections.unmodifiableMap(tensors));
        } catch (java.nio.file.NoSuchFileException e) {
            throw bad(file, "no such file");
        } catch (IOException e) {
            throw bad(file, "cannot read (" + e + ")");
        }
    }

    /**
     * Writes float32 and float64 arrays, in name order, as F32 and F64 tensors, or all as BF16 (rounded to
     * nearest, ties to even) when {@code bfloat16}. The header carries {@code "__metadata__": {"format": "pt"}}
     * (what Hugging Face's loaders look for) and is padded with spaces to a multiple of 8 bytes, as the
     * reference writer does, so that the data are aligned.
     *
     * @throws IllegalArgumentException naming an array that is not float32 or float64
     */
    public static void write(Map<String, INDArray> arrays, OutputStream out, boolean bfloat16) throws IOException {
        JsonObject header = new JsonObject();
        JsonObject metadata = new JsonObject();
        metadata.addProperty("format", "pt");
        header.add("__metadata__", metadata);
        List<INDArray> tensors = new ArrayList<>();
        long offset = 0;
        for (Map.Entry<String, INDArray> e : new TreeMap<>(arrays).entrySet()) {
            INDArray a = e.getValue();
            if (a.dataType() != DataType.FLOAT && a.dataType() != DataType.DOUBLE) {
                throw new IllegalArgumentException("Tensor '" + e.getKey() + "': expected FLOAT or DOUBLE, given "
                        + a.dataType());
            }
            String dtype = bfloat16 ? "BF16" : a.dataType() == DataType.FLOAT ? "F32" : "F64";
            long bytes = a.length() * width(dtype);
            JsonObject entry = new JsonObject();
            entry.addProperty("dtype", dtype);
            JsonArray shape = new JsonArray(), offsets = new JsonArray();
            for (long d : a.shape()) {
                shape.add(d);
            }
            offsets.add(offset);
            offsets.add(offset + bytes);
            entry.add("shape", shape);
            entry.add("data_offsets", offsets);
            header.add(e.getKey(), entry);
            tensors.add(a);
            offset += bytes;
        }
        byte[] json = header.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer start = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN).putLong(padded).put(json);
        while (start.hasRemaining()) {
            start.put((byte) ' ');
        }
        out.write(start.array());
        for (INDArray a : tensors) {
            out.write(data(a, bfloat16));
        }
    }

    /** An array's elements in C order, little-endian: as BF16, F32 or F64. */
    private static byte[] data(INDArray a, boolean bfloat16) {
        int n = Math.toIntExact(a.length());
        boolean single = a.dataType() == DataType.FLOAT;
        ByteBuffer b = ByteBuffer.allocate(n * (bfloat16 ? 2 : single ? 4 : 8)).order(ByteOrder.LITTLE_ENDIAN);
        if (single) {
            float[] v = a.dup('c').data().asFloat();
            for (float x : v) {
                if (bfloat16) {
                    b.putShort(BFloat16.fromFloat(x));
                } else {
                    b.putFloat(x);
                }
            }
        } else {
            double[] v = a.dup('c').data().asDouble();
            for (double x : v) {
                if (bfloat16) {
                    b.putShort(BFloat16.fromDouble(x));
                } else {
                    b.putDouble(x);
                }
            }
        }
        return b.array();
    }

    /**
     * A checked header ({@link #header}): the file, where its data start, and its tensors by name in the
     * header's order.
     */
    public record Header(Path file, long dataStart, Map<String, Spec> tensors) {
        /**
         * Reads tensor {@code name} into {@code dest}, converting F32, F64, F16 or BF16 to dest's FLOAT or
         * DOUBLE as it goes (one chunk of at most 1 MiB at a time: no second copy of the tensor). dest must be
         * C-ordered with the tensor's element count; its shape is the caller's (a loader may read {@code [in, out]}
         * data into a fresh array and place it transposed).
         */
        public void readInto(String name, INDArray dest) {
            Spec s = tensors.get(name);
            if (s == null) {
                throw bad(file, "no tensor '" + name + "'");
            }
            if (!(s.dtype().equals("F32") || s.dtype().equals("F64") || s.dtype().equals("F16")
                    || s.dtype().equals("BF16"))) {
                throw bad(file, s + " is not floating point (F32, F64, F16 or BF16)");
            }
            if (dest.length() != s.count() || dest.ordering() != 'c' || dest.elementWiseStride() != 1
                    || !(dest.dataType() == DataType.FLOAT || dest.dataType() == DataType.DOUBLE)) {
                throw new IllegalArgumentException(file + ": " + s + " cannot be read into a " + dest.dataType() + " "
                        + Arrays.toString(dest.shape()) + " array (needs a contiguous C-order FLOAT or DOUBLE array of "
                        + s.count() + " elements)");
            }
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                copy(ch, s, dataStart, dest);
            } catch (IOException e) {
                throw bad(file, "cannot read " + s + " (" + e + ")");
            }
        }
    }

    private static final int CHUNK = 1 << 20;

    /** Converts the tensor's bytes, a chunk at a time, straight into dest's memory. */
    private static void copy(FileChannel ch, Spec s, long dataStart, INDArray dest) throws IOException {
        boolean single = dest.dataType() == DataType.FLOAT;
        java.nio.FloatBuffer floats = single ? dest.data().asNioFloat().position((int) dest.offset()).slice() : null;
        java.nio.DoubleBuffer doubles = single ? null : dest.data().asNioDouble().position((int) dest.offset()).slice();
        // A heap chunk (the channel reads through the JDK's one cached direct buffer per thread): a direct one per
        // tensor stays allocated until the garbage collector runs, 148 MB for GPT-2's 148 tensors (measured).
        ByteBuffer chunk = ByteBuffer.allocate(CHUNK).order(ByteOrder.LITTLE_ENDIAN);
        long at = dataStart + s.begin(), end = dataStart + s.end();
        while (at < end) {
            chunk.clear().limit((int) Math.min(CHUNK, end - at));
            while (chunk.hasRemaining()) {
                int n = ch.read(chunk, at + chunk.position());
                if (n < 0) {
                    throw new IOException("the file ends inside " + s);
                }
            }
            at += chunk.position();
            chunk.flip();
            switch (s.dtype()) {
                case "F32" -> {
                    java.nio.FloatBuffer in = chunk.asFloatBuffer();
                    if (single) {
                        floats.put(in);
                    } else {
                        while (in.hasRemaining()) {
                            doubles.put(in.get());
                        }
                    }
                }
                case "F64" -> {
                    java.nio.DoubleBuffer in = chunk.asDoubleBuffer();
                    if (single) {
                        while (in.hasRemaining()) {
                            floats.put((float) in.get());
                        }
                    } else {
                        doubles.put(in);
                    }
                }
                default -> {
                    boolean brain = s.dtype().equals("BF16");
                    while (chunk.hasRemaining()) {
                        short bits = chunk.getShort();
                        float v = brain ? BFloat16.toFloat(bits) : halfToFloat(bits);
                        if (single) {
                            floats.put(v);
                        } else {
                            doubles.put(v);
                        }
                    }
                }
            }
        }
    }

    /**
     * One tensor's header entry: its data are bytes {@code [begin, end)} after the header.
     *
     * @param dtype F64, F32, F16, BF16, I64 or I32
     */
    public record Spec(String name, String dtype, long[] shape, long begin, long end) {
        /** The number of elements. */
        public long count() {
            return Arrays.stream(shape).reduce(1, (a, b) -> a * b); // checked in spec()
        }

        @Override
        public String toString() {
            return "tensor '" + name + "' (" + dtype + " " + Arrays.toString(shape) + ", data_offsets [" + begin + ", "
                    + end + "])";
        }
    }

    private static Spec spec(Path file, String name, JsonElement json, long dataSize) {
        Spec s;
        try {
            JsonObject o = json.getAsJsonObject();
            long[] shape = new long[o.getAsJsonArray("shape").size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = o.getAsJsonArray("shape").get(i).getAsLong();
            }
            JsonArray offsets = o.getAsJsonArray("data_offsets");
            if (offsets.size() != 2) {
                throw new IllegalStateException("data_offsets has " + offsets.size() + " numbers, not 2");
            }
            s = new Spec(name, o.get("dtype").getAsString(), shape, offsets.get(0).getAsLong(), offsets.get(1).getAsLong());
        } catch (RuntimeException e) {
            throw bad(file, "tensor '" + name + "' needs dtype, shape and data_offsets (" + e.getMessage() + ")");
        }
        int width = width(s.dtype());
        if (width == 0) {
            throw bad(file, "tensor '" + name + "' has dtype " + s.dtype() + "; supported: F64 F32 F16 BF16 I64 I32");
        }
        long bytes;
        try {
            long count = 1;
            for (long d : s.shape()) {
                if (d < 0) {
                    throw bad(file, s + " has a negative dimension");
                }
                count = Math.multiplyExact(count, d);
            }
            bytes = Math.multiplyExact(count, width);
        } catch (ArithmeticException e) {
            throw bad(file, s + " would need more than 2^63 bytes; the data hold " + dataSize);
        }
        if (s.begin() < 0 || s.end() < s.begin() || s.end() > dataSize || s.end() - s.begin() != bytes) {
            throw bad(file, s + " needs " + bytes + " bytes at offsets within [0, " + dataSize + "]; data_offsets hold "
                    + (s.end() - s.begin()));
        }
        if (bytes > Integer.MAX_VALUE - 8) {
            throw bad(file, s + " has " + bytes + " bytes; at most " + (Integer.MAX_VALUE - 8) + " are read as one array");
        }
        return s;
    }

    /**
     * As the format's specification (and its reference reader) requires: taken in order of their
     * offsets, the tensors cover the data exactly, each starting where the previous ends, with no
     * overlap and no hole.
     */
    private static void checkLayout(Path file, List<Spec> specs, long dataSize) {
        List<Spec> sorted = new ArrayList<>(specs);
        sorted.sort(Comparator.comparingLong(Spec::begin).thenComparingLong(Spec::end));
        long expected = 0;
        Spec previous = null;
        for (Spec s : sorted) {
            if (s.begin() != expected) {
                throw bad(file, s + (s.begin() < expected ? " overlaps " : " leaves a hole after ")
                        + (previous == null ? "the start of the data" : previous) + ": expected it to begin at "
                        + expected);
            }
            expected = s.end();
            previous = s;
        }
        if (expected != dataSize) {
            throw bad(file, "the tensors' data end at byte " + expected + " but the file holds " + dataSize
                    + " bytes of data");
        }
    }

    private static int width(String dtype) {
        return switch (dtype) {
            case "F64", "I64" -> 8;
            case "F32", "I32" -> 4;
            case "F16", "BF16" -> 2;
            default -> 0;
        };
    }

    private static INDArray tensor(FileChannel ch, Spec s, long dataStart) throws IOException {
        int count = (int) s.count();
        ByteBuffer data = ByteBuffer.allocate((int) (s.end() - s.begin())).order(ByteOrder.LITTLE_ENDIAN);
        ch.read(data, dataStart + s.begin());
        data.flip();
        INDArray a = switch (s.dtype()) {
            case "F64" -> Nd4j.createFromArray(doubles(data, count));
            case "F32" -> Nd4j.createFromArray(floats(data, count));
            case "I64" -> Nd4j.createFromArray(longs(data, count));
            case "I32" -> Nd4j.createFromArray(ints(data, count));
            default -> Nd4j.createFromArray(halves(data, count, s.dtype().equals("BF16")));
        };
        return count == 0 ? Nd4j.create(a.dataType(), s.shape()) : s.shape().length == 0 ? a.reshape() : a.reshape(s.shape());
    }

    private static double[] doubles(ByteBuffer b, int n) {
        double[] v = new double[n];
        b.asDoubleBuffer().get(v);
        return v;
    }

    private static float[] floats(ByteBuffer b, int n) {
        float[] v = new float[n];
        b.asFloatBuffer().get(v);
        return v;
    }

    private static long[] longs(ByteBuffer b, int n) {
        long[] v = new long[n];
        b.asLongBuffer().get(v);
        return v;
    }

    private static int[] ints(ByteBuffer b, int n) {
        int[] v = new int[n];
        b.asIntBuffer().get(v);
        return v;
    }

    private static float[] halves(ByteBuffer b, int n, boolean brain) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            short bits = b.getShort();
            v[i] = brain ? BFloat16.toFloat(bits) : halfToFloat(bits);
        }
        return v;
    }

    /** IEEE 754 binary16 to float. */
    public static float halfToFloat(short h) {
        int sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
        float magnitude;
        if (exp == 0) {
            magnitude = mant * 0x1p-24f; // subnormal: mant / 1024 * 2^-14
        } else if (exp == 31) {
            magnitude = mant == 0 ? Float.POSITIVE_INFINITY : Float.NaN;
        } else {
            magnitude = (1 + mant / 1024f) * (float) Math.pow(2, exp - 15);
        }
        return sign == 1 ? -magnitude : magnitude;
    }

    private static IllegalArgumentException bad(Path file, String what) {
        return new IllegalArgumentException(file + ": " + what);
    }
}
