package org.attn4j.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The committed fixtures are what their generator writes today: each generator runs with {@code --out} into a
 * temporary folder and every file it writes must equal the committed one byte for byte (src/test/python/
 * reproducible.py pins what made reruns differ). Needs Debian's {@code /usr/bin/python3} with numpy, and for the
 * PyTorch generators python3-torch and the reference BLAS (libblas3): without them each case skips, saying why,
 * and under {@code ATTN4J_REQUIRE_FIXTURE_TOOLS=1} (CI) fails ({@link FixtureTools}).
 */
class FixtureGeneratorsTest {
    @ParameterizedTest
    @CsvSource({"gen_parity_fixtures.py, parity, torch", "gen_loss_fixtures.py, loss, torch",
            "gen_safetensors_fixture.py, safetensors, torch", "gen_bf16_fixture.py, bf16, torch",
            "gen_seq2seq_fixtures.py, seq2seq_parity, torch", "gen_lm_fixtures.py, lm_parity, torch",
            "gen_modern_fixtures.py, modern_parity, torch", "gen_npz_fixtures.py, npz, numpy",
            "gen_readme_fixture.py, readme, torch"})
    void regeneratingGivesTheCommittedBytes(String script, String folder, String needs, @TempDir Path out)
            throws Exception {
        FixtureTools.requirePython(needs);
        FixtureTools.Result run = FixtureTools.python(List.of("src/test/python/" + script, "--out", out.toString()));
        FixtureTools.require(run.status() != FixtureTools.CANNOT_REPRODUCE, run.output().strip());
        assertEquals(0, run.status(), script + " failed: " + run.output());

        Path committed = Path.of("src/test/resources", folder);
        List<String> differing = new ArrayList<>();
        try (Stream<Path> written = Files.list(out)) {
            for (Path file : written.sorted().toList()) {
                Path mine = committed.resolve(file.getFileName().toString());
                if (!Files.exists(mine)) {
                    differing.add(mine + " (written by the generator, not committed)");
                } else if (Files.mismatch(file, mine) >= 0) {
                    differing.add(mine + " (first differing byte " + Files.mismatch(file, mine) + " of "
                            + Files.size(mine) + ")");
                }
            }
        }
        assertTrue(differing.isEmpty(), script + " rewrites committed fixtures differently: " + differing
                + "; run it without --out and check that the Java parity tests still pass before committing them");
        try (Stream<Path> files = Files.list(out)) {
            assertTrue(files.count() > 0, script + " wrote nothing to " + out);
        }
    }
}
