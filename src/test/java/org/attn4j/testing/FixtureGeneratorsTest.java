package org.attn4j.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The committed PyTorch fixtures are what their generator writes today: each generator runs with
 * {@code --out} into a temporary folder and every file it writes must equal the committed one byte for
 * byte (src/test/python/reproducible.py pins what made reruns differ). Skipped, with the reason, where
 * Debian's {@code /usr/bin/python3} with torch and the reference BLAS is not installed.
 */
class FixtureGeneratorsTest {
    private static final Path PYTHON = Path.of("/usr/bin/python3");
    /** reproducible.CANNOT_REPRODUCE: this machine lacks what the generator pins. */
    private static final int CANNOT_REPRODUCE = 3;

    @ParameterizedTest
    @CsvSource({"gen_parity_fixtures.py, parity", "gen_loss_fixtures.py, loss",
            "gen_safetensors_fixture.py, safetensors", "gen_bf16_fixture.py, bf16",
            "gen_seq2seq_fixtures.py, seq2seq_parity", "gen_lm_fixtures.py, lm_parity",
            "gen_modern_fixtures.py, modern_parity", "gen_readme_fixture.py, readme"})
    void regeneratingGivesTheCommittedBytes(String script, String folder, @TempDir Path out) throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(PYTHON), PYTHON + " not found: the generators need Debian's "
                + "python3 (apt-get install python3-torch)");
        Result torch = python(List.of("-c", "import torch"));
        Assumptions.assumeTrue(torch.status() == 0, "PyTorch not importable by " + PYTHON
                + " (apt-get install python3-torch): " + torch.output().strip());

        Result run = python(List.of("src/test/python/" + script, "--out", out.toString()));
        Assumptions.assumeTrue(run.status() != CANNOT_REPRODUCE, run.output().strip());
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

    private record Result(int status, String output) {
    }

    private static Result python(List<String> args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(PYTHON.toString()));
        command.addAll(args);
        Path log = Files.createTempFile("generator", ".log");
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().put("PYTHONDONTWRITEBYTECODE", "1"); // no __pycache__ in the source tree
        Process p = builder.start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return new Result(-1, String.join(" ", command) + " ran past 120 s");
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        Files.delete(log);
        return new Result(p.exitValue(), output);
    }
}
