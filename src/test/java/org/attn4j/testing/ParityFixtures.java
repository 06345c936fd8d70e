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

    /**
     * Fails unless {@code cases} are {@code pairs} cases each in both precisions: every {@code NAME_f64.json}
     * beside its {@code NAME_f32.json}.
     */
    public static void assertBothPrecisions(List<Path> cases, int pairs) {
        List<String> names = cases.stream().map(p -> p.getFileName().toString()).toList();
        org.junit.jupiter.api.Assertions.assertEquals(2 * pairs, names.size(), "the generator writes " + pairs
                + " cases in two precisions: " + names);
        for (String n : names) {
            String other = n.endsWith("_f64.json") ? n.replace("_f64.json", "_f32.json") : n.replace("_f32.json", "_f64.json");
            org.junit.jupiter.api.Assertions.assertTrue(names.contains(other), n + " has no " + other);
        }
    }

    /** The cases' json files whose names match {@code regex} (e.g. {@code "enc_.*\\.json"}), sorted. */
    public static List<Path> cases(String regex) throws IOException {
        try (Stream<Path> s = Files.list(DIR)) {
            return s.filter(p -> p.getFileName().toString().matches(regex)).sorted().toList();
        }
    }
}
