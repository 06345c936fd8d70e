package org.attn4j.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/** Builds npy, npz and safetensors bytes by hand, to say anything a crafted file could say. */
public final class CraftedFiles {
    private CraftedFiles() {
    }

    /** An npy (version 1.0) with this header dict, e.g. {@code {'descr': '<f4', 'fortran_order': False, 'shape': (2,), }}. */
    public static byte[] npy(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.ISO_8859_1);
        int padded = (10 + h.length + 1 + 63) / 64 * 64 - 10; // numpy aligns the data to 64 bytes
        ByteBuffer b = ByteBuffer.allocate(10 + padded + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}).putShort((short) padded).put(h);
        for (int i = h.length; i < padded - 1; i++) {
            b.put((byte) ' ');
        }
        return b.put((byte) '\n').put(data).array();
    }

    /** An npy header dict as numpy writes it; {@code shape} as a Python tuple's inside, e.g. {@code "2, 3"} or {@code "4,"}. */
    public static String header(String descr, boolean fortran, String shape) {
        return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") + ", 'shape': (" + shape
                + "), }";
    }

    /** A plain (STORED) npz of these entries, names given without {@code .npy}, in map order. */
    public static byte[] npz(Map<String, byte[]> entries) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(bytes)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry entry = new ZipEntry(e.getKey() + ".npy");
                entry.setMethod(ZipEntry.STORED);
                entry.setSize(e.getValue().length);
                CRC32 crc = new CRC32();
                crc.update(e.getValue());
                entry.setCrc(crc.getValue());
                entry.setTime(0);
                zip.putNextEntry(entry);
                zip.write(e.getValue());
                zip.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** A safetensors file: the 8-byte header length, this JSON header, then {@code data}. */
    public static byte[] safetensors(String headerJson, byte[] data) {
        byte[] h = headerJson.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h)
                .put(data).array();
    }

    public static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
