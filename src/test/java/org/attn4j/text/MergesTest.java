package org.attn4j.text;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The merge loop where a scan for the lowest rank and HF's heap part ways. */
class MergesTest {
    @TempDir
    Path tmp;

    /**
     * "ab" and "abc" share id 4. In "abcd", HF merges b+c (rank 0), then pops its stale a+b entry (rank 1): the pair
     * there is now a+bc, which also makes id 4, so HF merges it ahead of bc+d (rank 2), giving [4, 3]. A scan for the
     * lowest current rank would take bc+d first and give [0, 6]. Derived by hand; HF tokenizers 0.23 gives [4, 3].
     */
    @Test
    void stringsSharingAnIdMergeAsHfsHeapDoes() throws IOException {
        Path file = tmp.resolve("tokenizer.json");
        Files.writeString(file, """
                {"version": "1.0", "added_tokens": [], "normalizer": null, "pre_tokenizer": null,
                 "post_processor": null, "decoder": null,
                 "model": {"type": "BPE", "dropout": null, "unk_token": null,
                           "vocab": {"a": 0, "b": 1, "c": 2, "d": 3, "ab": 4, "bc": 5, "bcd": 6, "abc": 4},
                           "merges": [["b", "c"], ["a", "b"], ["bc", "d"], ["a", "bc"]]}}
                """);
        Tokenizer tok = Tokenizer.fromPretrained(file);
        assertArrayEquals(new int[] {4, 3}, tok.encode("abcd"));
        assertArrayEquals(new int[] {6}, tok.encode("bcd"));
    }
}
