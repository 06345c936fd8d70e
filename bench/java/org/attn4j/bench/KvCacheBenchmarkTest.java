package org.attn4j.bench;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.attn4j.examples.Stdout;
import org.junit.jupiter.api.Test;

/** Smoke test: the benchmark runs with tiny settings and prints its table and RESULT line. */
class KvCacheBenchmarkTest {
    @Test
    void runs() throws Exception {
        String out = Stdout.capture(() -> KvCacheBenchmark.main(new String[] {"lengths=3,5", "dModel=16", "layers=1", "repeats=1"}));
        assertTrue(out.matches("(?s).*RESULT speedup_3=\\d+\\.\\d+ speedup_5=\\d+\\.\\d+\\s*"), out);
    }
}
