package org.attn4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.attn4j.examples.Stdout;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Smoke tests of the harness at a tiny size: every workload prints one well-formed line with positive
 * times, min <= median, and FLOPs by the formulas; the memory run reports its figures.
 */
class BlockBenchmarkTest {
    private static final Pattern LINE = Pattern.compile("BENCH impl=attn4j size=(\\S+) threads=\\S+ workload=(\\S+) "
            + "median_ms=(\\S+) min_ms=(\\S+) iters=(\\d+)(.*)");

    @Test
    void everyWorkloadPrintsAWellFormedLine() throws Exception {
        String out = Stdout.capture(() -> BlockBenchmark.main(new String[] {"sizes=tiny", "warmup=1", "iters=3",
                "warmupSeconds=0", "tokens=4", "decodeRepeats=1", "layers=1", "lmSize=lm_tiny", "s2sSize=s2s_tiny",
                "gemmSize=64"}));
        Map<String, Map<String, String>> lines = new LinkedHashMap<>();
        for (String line : out.split("\n")) {
            Matcher m = LINE.matcher(line.trim());
            if (m.matches()) {
                double median = Double.parseDouble(m.group(3)), min = Double.parseDouble(m.group(4));
                assertTrue(min > 0 && min <= median && Double.isFinite(median), line);
                assertEquals(m.group(2).startsWith("decode") ? "1" : "3", m.group(5), line);
                Map<String, String> extra = new LinkedHashMap<>();
                for (String kv : m.group(6).trim().split(" ")) {
                    if (!kv.isEmpty()) {
                        extra.put(kv.substring(0, kv.indexOf('=')), kv.substring(kv.indexOf('=') + 1));
                    }
                }
                lines.put(m.group(1) + "/" + m.group(2), extra);
            }
        }
        assertEquals(List.of("tiny/forward", "tiny/train_step", "tiny/forward_samediff", "tiny/train_step_samediff",
                "tiny/mha_forward_samediff", "tiny/mha_forward", "tiny/decode_cached", "tiny/decode_recompute",
                "lm_tiny/lm_train_step", "s2s_tiny/seq2seq_train_step", "gemm64/gemm"),
                List.copyOf(lines.keySet()), out);
        BenchSize tiny = BenchSize.tiny();
        assertEquals(String.valueOf(tiny.blockForwardFlops()), lines.get("tiny/forward").get("flops"));
        assertEquals(String.valueOf(3 * tiny.blockForwardFlops()), lines.get("tiny/train_step").get("flops"));
        assertEquals(String.valueOf(tiny.attentionFlops()), lines.get("tiny/mha_forward").get("flops"));
        assertEquals(String.valueOf(LmSize.tiny().trainStepFlops()), lines.get("lm_tiny/lm_train_step").get("flops"));
        assertTrue(lines.containsKey("s2s_tiny/seq2seq_train_step"), out);
        assertEquals("4", lines.get("tiny/decode_cached").get("tokens"));
        assertTrue(Double.parseDouble(lines.get("tiny/decode_recompute").get("tok_per_s")) > 0, out);
        assertTrue(Double.parseDouble(lines.get("gemm64/gemm").get("gflops")) > 0, out);
        assertTrue(out.trim().endsWith("RESULT impl=attn4j threads=" + System.getenv().getOrDefault("OMP_NUM_THREADS",
                "default") + " benches=11"), out);
    }

    @Test
    void profileSplitsTheStepByOpType() throws Exception {
        String out = Stdout.capture(() -> BlockBenchmark.main(new String[] {"sizes=tiny", "workloads=profile",
                "warmup=1", "profileTop=50"}));
        Matcher m = Pattern.compile("PROFILE size=tiny workload=train_step op=(\\S+) ms_per_step=(\\S+) "
                + "calls_per_step=(\\S+) share=(\\S+)").matcher(out);
        Map<String, Double> calls = new LinkedHashMap<>();
        while (m.find()) {
            assertTrue(Double.parseDouble(m.group(2)) >= 0, m.group());
            calls.put(m.group(1), Double.parseDouble(m.group(3)));
        }
        // A pre-LN encoder block multiplies matrices 8 times going forward (Q, K, V and output projections,
        // Q K^T, weights x V, the two feed-forward layers), and each has one backward op: the listener must
        // have seen every one of them in every profiled step.
        assertEquals(8.0, calls.get("matmul"), out);
        assertEquals(8.0, calls.get("matmul_bp"), out);
        assertTrue(calls.get("ALL") > 16, out);
    }

    @Test
    void flopsFollowTheFormulas() {
        // standard: BT=1024, C=256, F=1024: 8*1024*256^2 + 4*8*128^2*256 + 4*1024*256*1024
        BenchSize s = BenchSize.standard();
        assertEquals(536_870_912L + 134_217_728L, s.attentionFlops());
        assertEquals(536_870_912L + 134_217_728L + 1_073_741_824L, s.blockForwardFlops());
        assertEquals(3 * s.blockForwardFlops(), s.trainStepFlops());
        // char_gpt: 4 blocks at BT=768, C=128, F=512, plus the tied head 2*768*128*66; a step is 3 forwards
        LmSize lm = LmSize.charGpt();
        long block = 8L * 768 * 128 * 128 + 4L * 12 * 64 * 64 * 128 + 4L * 768 * 128 * 512;
        assertEquals(3 * (4 * block + 2L * 768 * 128 * 66), lm.trainStepFlops());
        assertEquals(3_964_796_928L, lm.trainStepFlops(), "the figure bench/torch_lm.py prints");
    }

    @ParameterizedTest
    @ValueSource(strings = {"fast", "samediff", "lm", "seq2seq"})
    void aShortMemoryRunReportsItsFigures(String path) throws Exception {
        String out = Stdout.capture(() -> TrainMemory.main(new String[] {"size=tiny", "lmSize=lm_tiny", "s2sSize=s2s_tiny", "steps=6",
                "warmup=2", "every=2", "path=" + path}));
        String size = switch (path) {
            case "lm" -> "lm_tiny";
            case "seq2seq" -> "s2s_tiny";
            default -> "tiny";
        };
        Matcher m = Pattern.compile("RESULT size=" + size + " path=" + path + " steps=6 ms_per_step=(\\S+) rss_warm_mb=(\\S+) rss_end_mb=(\\S+) "
                + "rss_max_mb=(\\S+) rss_peak_mb=(\\S+) rss_growth=(\\S+) heap_end_mb=(\\S+)").matcher(out);
        assertTrue(m.find(), out);
        for (int g = 1; g <= 7; g++) {
            assertTrue(Double.isFinite(Double.parseDouble(m.group(g))), "figure " + g + ": " + out);
        }
        assertTrue(Double.parseDouble(m.group(2)) > 10, "resident memory read from /proc, not a placeholder: " + out);
    }
}
