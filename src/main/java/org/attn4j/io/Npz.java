package org.attn4j.io;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * numpy's {@code .npz}: a zip of {@code .npy} files, written uncompressed (STORED) and in C order,
 * which both numpy's {@code np.load} and ND4J read. Read with {@link Npy}'s own parser: ND4J has no
 * npz writer, fails on 0-d arrays and misreads Fortran order.
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
     * Reads every array of an npz file, by name (without the {@code .npy} suffix). Reads what
     * {@code np.savez} writes: every dtype in {@link Npy#SUPPORTED}, either byte order, C or Fortran
     * order, and 0-d arrays (numpy scalars) as shape {@code []}. Each entry's data must hold exactly the
     * bytes its header's shape and dtype need.
     *
     * @throws IllegalArgumentException naming the file, and the entry where one is at fault
     */
    public static Map<String, INDArray> read(Path file) {
        Map<String, INDArray> out = new LinkedHashMap<>();
        try (ZipFile zip = new ZipFile(file.toFile())) {
            long fileSize = Files.size(file);
            for (ZipEntry entry : Collections.list(zip.entries())) {
                String where = file + ": entry '" + entry.getName() + "'";
                String name = entry.getName().replaceFirst("\\.npy$", "");
                if (entry.isDirectory() || name.equals(entry.getName())) {
                    throw new IllegalArgumentException(where + " is not an .npy array");
                }
                if (entry.getMethod() != ZipEntry.STORED) {
                    throw new IllegalArgumentException(where + " is compressed; save with np.savez, not "
                            + "np.savez_compressed");
                }
                if (entry.getSize() < 0 || entry.getSize() > Math.min(fileSize, Integer.MAX_VALUE - 8)) {
                    throw new IllegalArgumentException(where + " claims " + entry.getSize() + " bytes in a file of "
                            + fileSize);
                }
                if (out.containsKey(name)) {
                    throw new IllegalArgumentException(where + " appears twice");
                }
                byte[] npy;
                try (InputStream in = zip.getInputStream(entry)) {
                    npy = in.readNBytes((int) entry.getSize());
                }
                if (npy.length != entry.getSize()) {
                    throw new IllegalArgumentException(where + " is cut short: " + npy.length + " of "
                            + entry.getSize() + " bytes");
                }
                out.put(name, Npy.parse(where, npy));
            }
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read as an npz (" + e + ")", e);
        }
        return out;
    }
}
