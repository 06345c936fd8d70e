package org.attn4j.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * PairedBuilds reads the rows of BlockBenchmark's BENCH lines, KvCacheBenchmark's and CompactKernels' tables, RealSize's
 * decode, prefill and training rows, and nothing else.
 */
class PairedBuildsTest {
    @Test
    void readsBenchLinesAndTheTablesAsMilliseconds() {
        String output = String.join("\n",
                "BlockBenchmark threads=2",
                "BENCH impl=attn4j size=toy threads=2 workload=forward median_ms=1.250 min_ms=1.1 iters=10 flops=1",
                "BENCH impl=attn4j size=char_gpt threads=2 workload=lm_train_step median_ms=35.5 min_ms=33 iters=10",
                "  tokens   cached tok/s recompute tok/s    speedup",
                "      16          500.0          250.0      2.00x",
                "format    [out, in]      n         ms      GB/s  of bound",
                "INT8      [2304, 768]    1      0.055      33.1      0.81",
                "decode int8 batch 1: 125.0 tokens/s, 0.52 of the bound 240.1 tokens/s, peak 1459 MB; its prompt 1 ms",
                "prefill 512 tokens: 589 ms, mfu 0.92, peak 2616 MB",
                "train step 4 x 256: 5535 ms, mfu 0.83, peak 3860 MB (weights, gradients and two Adam moments: 1991 MB)",
                "RESULT speedup_16=2.00");
        Map<String, Double> rows = PairedBuilds.rows(output);
        assertEquals(Map.of("forward toy t2", 1.25, "lm_train_step char_gpt t2", 35.5,
                "kv_cached_ms_per_token 16", 2.0, "kv_recompute_ms_per_token 16", 4.0, "INT8 [2304, 768] n1", 0.055,
                "decode_ms_per_token int8 b1", 8.0, "prefill_ms 512", 589.0, "train_step_ms 4 x 256", 5535.0),
                rows);
    }
}
