package org.attn4j.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/** The PyTorch reference cases written by src/test/python/gen_parity_fixtures.py. */
public final class ParityFixtures {
    /** Where they are: one {@code NAME.json} and {@code NAME.npz} per case. */
    public static final Path DIR = Path.of("src/test/resources/parity");

    private ParityFixtures() {
    }

    /** The cases' json files whose names match {@code regex} (e.g. {@code "enc_.*\\.json"}), sorted. */
    public static List<Path> cases(String regex) throws IOException {
        try (Stream<Path> s = Files.list(DIR)) {
            return s.filter(p -> p.getFileName().toString().matches(regex)).sorted().toList();
        }
    }
}
