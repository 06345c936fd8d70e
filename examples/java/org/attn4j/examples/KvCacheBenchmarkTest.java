package org.attn4j.examples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** Smoke test: the benchmark runs with tiny settings and prints its table and RESULT line. */
class KvCacheBenchmarkTest {
    @Test
    void runs() {
        PrintStream original = System.out;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try {
            KvCacheBenchmark.main(new String[] {"lengths=3,5", "dModel=16", "layers=1", "repeats=1"});
        } finally {
            System.setOut(original);
        }
        String out = captured.toString(StandardCharsets.UTF_8);
        assertTrue(out.matches("(?s).*RESULT speedup_3=\\d+\\.\\d+ speedup_5=\\d+\\.\\d+\\s*"), out);
    }
}
