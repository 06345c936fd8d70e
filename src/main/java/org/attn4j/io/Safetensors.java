package org.attn4j.io;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.LinkedHashMap;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Reads Hugging Face's safetensors format: an 8-byte little-endian header length, a JSON header
 * mapping each tensor name to its {@code dtype}, {@code shape} and {@code data_offsets}, then the raw
 * little-endian data. F64, F32, F16, BF16 (both widened to float32), I64 and I32 are supported.
 */
public final class Safetensors {
    private static final long MAX_HEADER = 100L << 20;

    private Safetensors() {
    }

    /** Every tensor in the file, by name. Throws IllegalArgumentException naming the file and the problem. */
    public static Map<String, INDArray> read(Path file) {
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
            Map<String, INDArray> out = new LinkedHashMap<>();
            for (Map.Entry<String, JsonElement> e : json.entrySet()) {
                if (e.getKey().equals("__metadata__")) {
                    continue;
                }
                out.put(e.getKey(), tensor(file, ch, e.getKey(), e.getValue(), dataStart, dataSize));
            }
            return out;
        } catch (IOException e) {
            throw bad(file, "cannot read (" + e + ")");
        }
    }

    private static INDArray tensor(Path file, FileChannel ch, String name, JsonElement spec, long dataStart,
            long dataSize) throws IOException {
        String dtype;
        long[] shape;
        long begin, end;
        try {
            JsonObject o = spec.getAsJsonObject();
            dtype = o.get("dtype").getAsString();
            shape = new long[o.getAsJsonArray("shape").size()];
            for (int i = 0; i < shape.length; i++) {
                shape[i] = o.getAsJsonArray("shape").get(i).getAsLong();
            }
            begin = o.getAsJsonArray("data_offsets").get(0).getAsLong();
            end = o.getAsJsonArray("data_offsets").get(1).getAsLong();
        } catch (RuntimeException e) {
            throw bad(file, "tensor '" + name + "' needs dtype, shape and data_offsets (" + e.getMessage() + ")");
        }
        int width = switch (dtype) {
            case "F64", "I64" -> 8;
            case "F32", "I32" -> 4;
            case "F16", "BF16" -> 2;
            default -> throw bad(file, "tensor '" + name + "' has dtype " + dtype + "; supported: F64 F32 F16 BF16 I64 I32");
        };
        long count = 1;
        for (long d : shape) {
            if (d < 0) {
                throw bad(file, "tensor '" + name + "' has a negative dimension in " + java.util.Arrays.toString(shape));
            }
            count = Math.multiplyExact(count, d);
        }
        if (begin < 0 || end < begin || end > dataSize || end - begin != count * width) {
            throw bad(file, "tensor '" + name + "' (" + dtype + " " + java.util.Arrays.toString(shape) + ") has data_offsets ["
                    + begin + ", " + end + "], which do not hold " + count * width + " bytes within " + dataSize);
        }
        ByteBuffer data = ByteBuffer.allocate((int) (end - begin)).order(ByteOrder.LITTLE_ENDIAN);
        ch.read(data, dataStart + begin);
        data.flip();
        INDArray a = switch (dtype) {
            case "F64" -> Nd4j.createFromArray(doubles(data, (int) count));
            case "F32" -> Nd4j.createFromArray(floats(data, (int) count));
            case "I64" -> Nd4j.createFromArray(longs(data, (int) count));
            case "I32" -> Nd4j.createFromArray(ints(data, (int) count));
            default -> Nd4j.createFromArray(halves(data, (int) count, dtype.equals("BF16")));
        };
        return shape.length == 0 ? a.reshape() : a.reshape(shape);
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
            v[i] = brain ? Float.intBitsToFloat((bits & 0xffff) << 16) : halfToFloat(bits);
        }
        return v;
    }

    /** IEEE 754 binary16 to float. */
    static float halfToFloat(short h) {
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
