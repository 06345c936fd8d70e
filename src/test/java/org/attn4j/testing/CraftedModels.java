package org.attn4j.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.HexFormat;
import java.util.stream.Stream;

/** Crafted copies of the committed checkpoints: self-consistent (checksums recomputed) but lying about sizes. */
public final class CraftedModels {
    private CraftedModels() {
    }

    /**
     * A copy of the committed checkpoint {@code committed} in {@code into} whose {@code model.json} says
     * dModel 1,048,576 and ffDim 4,194,304 (its weights hold 64 and 256), with the checksum in
     * {@code LATEST} recomputed.
     */
    public static Path withHugeSizes(Path committed, Path into) throws IOException, GeneralSecurityException {
        try (Stream<Path> files = Files.walk(committed)) {
            for (Path p : files.toList()) {
                Files.copy(p, into.resolve(committed.relativize(p).toString()));
            }
        }
        String folder = Files.readString(into.resolve("LATEST")).split(" ")[0];
        Path json = into.resolve(folder).resolve("model.json");
        String crafted = Files.readString(json).replace("\"dModel\": 64,", "\"dModel\": 1048576,")
                .replace("\"ffDim\": 256,", "\"ffDim\": 4194304,");
        if (!crafted.contains("1048576") || !crafted.contains("4194304")) {
            throw new IllegalStateException(json + ": expected dModel 64 and ffDim 256 to replace");
        }
        Files.writeString(json, crafted);
        Files.writeString(into.resolve("LATEST"), folder + " " + HexFormat.of().formatHex(
                java.security.MessageDigest.getInstance("SHA-256").digest(crafted.getBytes(StandardCharsets.UTF_8)))
                + "\n");
        return into;
    }
}
