package org.attn4j.io;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * numpy's {@code .npz}: a zip of {@code .npy} files, written uncompressed (STORED) and in C order,
 * which both numpy's {@code np.load} and ND4J read. (ND4J has no npz writer, and misreads
 * Fortran-order or compressed files.)
 */
public final class Npz {
    private Npz() {
    }

    /** Writes the arrays, in name order, to {@code out}. */
    public static void write(Map<String, INDArray> arrays, OutputStream out) throws IOException {
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            for (Map.Entry<String, INDArray> e : new TreeMap<>(arrays).entrySet()) {
                byte[] npy = Nd4j.toNpyByteArray(e.getValue().dup('c'));
                ZipEntry entry = new ZipEntry(e.getKey() + ".npy");
                entry.setMethod(ZipEntry.STORED);
                entry.setSize(npy.length);
                CRC32 crc = new CRC32();
                crc.update(npy);
                entry.setCrc(crc.getValue());
                entry.setTime(0); // same bytes for the same arrays
                zip.putNextEntry(entry);
                zip.write(npy);
                zip.closeEntry();
            }
        }
    }

    /**
     * Reads every array of an npz file, by name (without the {@code .npy} suffix).
     *
     * @throws IllegalArgumentException naming the file when it cannot be read as an uncompressed npz
     */
    public static Map<String, INDArray> read(Path file) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        try {
            Nd4j.createFromNpzFile(file.toFile()).forEach((k, v) -> out.put(k.replaceFirst("\\.npy$", ""), v));
        } catch (Exception e) {
            throw new IllegalArgumentException(file + ": cannot read as an uncompressed npz (plain np.savez, C order): "
                    + e, e);
        }
        return out;
    }
}
