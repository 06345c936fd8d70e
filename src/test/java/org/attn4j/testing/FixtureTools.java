package org.attn4j.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * The Python the fixture generators and the PyTorch load check need: Debian's {@code /usr/bin/python3} with
 * python3-torch and the reference BLAS (libblas3). Where it is missing a test skips, saying why; with the
 * environment variable {@value #REQUIRE}{@code =1} (set by .ci/run, which installs them) it fails instead, so
 * CI cannot pass with the provenance checks skipped.
 */
public final class FixtureTools {
    /** The environment variable that turns a missing tool from a skip into a failure. */
    public static final String REQUIRE = "ATTN4J_REQUIRE_FIXTURE_TOOLS";
    /** Debian's Python, whose torch uses the system's BLAS (reproducible.py loads the reference one). */
    public static final Path PYTHON = Path.of("/usr/bin/python3");
    /** reproducible.CANNOT_REPRODUCE: this machine lacks what the generator pins. */
    public static final int CANNOT_REPRODUCE = 3;

    private FixtureTools() {
    }

    /** What a Python run printed (stdout and stderr together) and its exit status. */
    public record Result(int status, String output) {
    }

    /** Skips the calling test, or fails it under {@value #REQUIRE}=1, unless {@code available}. */
    public static void require(boolean available, String reason) {
        if (available) {
            return;
        }
        if ("1".equals(System.getenv(REQUIRE))) {
            fail(reason + " (" + REQUIRE + "=1: the fixture tools must be installed, see .ci/run)");
        }
        Assumptions.abort(reason);
    }

    /** Requires {@link #PYTHON} able to import each of {@code modules}. */
    public static void requirePython(String... modules) throws IOException, InterruptedException {
        require(Files.isExecutable(PYTHON), PYTHON + " not found: the generators need Debian's python3 "
                + "(apt-get install python3-torch libblas3)");
        for (String module : modules) {
            Result r = python(List.of("-c", "import " + module));
            require(r.status() == 0, module + " not importable by " + PYTHON + " (apt-get install python3-torch"
                    + " libblas3): " + r.output().strip());
        }
    }

    /** Runs {@link #PYTHON} with {@code args} from the repository root, for at most 120 s. */
    public static Result python(List<String> args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of(PYTHON.toString()));
        command.addAll(args);
        Path log = Files.createTempFile("python", ".log");
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        builder.environment().put("PYTHONDONTWRITEBYTECODE", "1"); // no __pycache__ in the source tree
        Process p = builder.start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            Files.delete(log);
            return new Result(-1, String.join(" ", command) + " ran past 120 s");
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        Files.delete(log);
        return new Result(p.exitValue(), output);
    }
}
