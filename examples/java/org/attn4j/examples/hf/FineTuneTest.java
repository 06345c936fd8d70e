package org.attn4j.examples.hf;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.attn4j.data.TokenFile;
import org.attn4j.examples.BadOptions;
import org.attn4j.examples.KilledRun;
import org.attn4j.examples.Stdout;
import org.attn4j.formats.Safetensors;
import org.attn4j.io.Checkpoint;
import org.attn4j.testing.Exact;
import org.attn4j.text.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Smoke tests of exec:java@finetune at tiny settings on the committed models/shakespeare-bpe and Proverbs: LoRA and
 * full fine-tuning lower the validation loss and save adapters (PEFT's files, only those trained) or a model; a run
 * killed after its first checkpoint and resumed saves exactly the weights of an uninterrupted one, in full
 * fine-tuning and in LoRA with dropout on a float32 and on an int8 base (whose checkpoints hold the adapters only);
 * bad input is one line.
 */
class FineTuneTest {
    private static final String[] TINY = {"--steps", "12", "--batch", "4", "--context", "32", "--eval-every", "6",
        "--eval-batches", "2", "--sample-tokens", "4"};

    private static String[] args(Path out, String... more) {
        return args(out, List.of(), more);
    }

    private static String[] args(Path out, List<String> mode, String... more) {
        List<String> a = new ArrayList<>(List.of(TINY));
        a.addAll(List.of("--out", out.toString()));
        a.addAll(mode);
        a.addAll(List.of(more));
        return a.toArray(String[]::new);
    }

    @Test
    void fullFineTuningLowersTheValidationLossAndSavesTheModel(@TempDir Path dir) throws Exception {
        Path saved = dir.resolve("model");
        String out = Stdout.capture(() -> FineTune.run(args(dir.resolve("out"), "--full", "--lr", "5e-4", "--save",
                saved.toString(), "--checkpoint-every", "0")));
        Matcher first = Pattern.compile("step 0: train loss \\S+, validation loss ([0-9.]+)").matcher(out);
        assertTrue(first.find(), out);
        Matcher m = result(out);
        assertTrue(Double.parseDouble(m.group(2)) < Double.parseDouble(first.group(1)) - 0.05, "validation loss "
                + first.group(1) + " -> " + m.group(2));
        assertEquals(Math.exp(Double.parseDouble(m.group(2))), Double.parseDouble(m.group(3)), 0.01);
        assertEquals("12", m.group(4));
        assertEquals("867072", m.group(5), "every weight trains");
        assertTrue(out.contains("Sample before: My son,") && out.contains("Sample after: My son,"), out);

        Map<String, INDArray> base = Safetensors.read(Path.of("models/shakespeare-bpe/model.safetensors")),
                tuned = Safetensors.read(saved.resolve("model.safetensors"));
        assertEquals(base.keySet(), tuned.keySet());
        assertFalse(base.get("transformer.h.0.attn.c_attn.weight").equalsWithEps(
                tuned.get("transformer.h.0.attn.c_attn.weight"), 0), "the weights moved");
        assertEquals(Files.readString(Path.of("models/shakespeare-bpe/tokenizer.json")),
                Files.readString(saved.resolve("tokenizer.json")));
        TokenFile train = TokenFile.open(dir.resolve("out/tokens/kjv-proverbs.txt.train.bin"));
        TokenFile valid = TokenFile.open(dir.resolve("out/tokens/kjv-proverbs.txt.valid.bin"));
        int all = Tokenizer.fromPretrained(Path.of("models/shakespeare-bpe")).encode(
                Files.readString(Path.of("examples/data/kjv-proverbs.txt")), false).length;
        assertEquals(all, train.size() + valid.size());
        assertEquals(all / 10, valid.size(), "the last 10% validate");
    }

    @Test
    void loraTrainsTheAdaptersOnlyAndSavesThemInPeftsFormat(@TempDir Path dir) throws Exception {
        Path saved = dir.resolve("adapter");
        String out = Stdout.capture(() -> FineTune.run(args(dir.resolve("out"), "--save", saved.toString(),
                "--checkpoint-every", "0", "--lora-rank", "4", "--target", "c_attn,c_fc")));
        Matcher first = Pattern.compile("step 0: train loss \\S+, validation loss ([0-9.]+)").matcher(out);
        assertTrue(first.find(), out);
        Matcher m = result(out);
        assertTrue(Double.parseDouble(m.group(2)) < Double.parseDouble(first.group(1)) - 0.05, "validation loss "
                + first.group(1) + " -> " + m.group(2));
        assertEquals(String.valueOf(4 * (4 * 128 + 384 * 4) + 4 * (4 * 128 + 512 * 4)), m.group(5),
                "r 4 on c_attn and c_fc of 4 blocks: A [4, 128], B [384, 4] and [512, 4]");
        Map<String, INDArray> adapters = Safetensors.read(saved.resolve("adapter_model.safetensors"));
        assertEquals(16, adapters.size());
        assertTrue(adapters.containsKey("base_model.model.transformer.h.3.mlp.c_fc.lora_B.weight"), adapters.keySet()
                .toString());
        assertTrue(Files.readString(saved.resolve("adapter_config.json")).contains("\"peft_type\": \"LORA\""));
    }

    /**
     * LoRA on an int8 base (QLoRA-style) lowers the validation loss and samples from the merged model; with checkpointed
     * activations it saves exactly the adapters of the run without.
     */
    @Test
    void loraOnAnInt8BaseLearnsAndCheckpointedActivationsChangeNothing(@TempDir Path dir) throws Exception {
        Path plain = dir.resolve("plain"), checkpointed = dir.resolve("checkpointed");
        Stdout.capture(() -> FineTune.run(args(dir.resolve("out-plain"), "--base-format", "int8", "--save",
                plain.toString(), "--checkpoint-every", "0")));
        String out = Stdout.capture(() -> FineTune.run(args(dir.resolve("out-checkpointed"), "--base-format", "int8",
                "--checkpoint-activations", "--save", checkpointed.toString(), "--checkpoint-every", "0")));
        assertTrue(out.contains("blocks' weights in INT8, checkpointed activations"), out);
        Matcher first = Pattern.compile("step 0: train loss \\S+, validation loss ([0-9.]+)").matcher(out);
        assertTrue(first.find(), out);
        Matcher m = result(out);
        assertTrue(Double.parseDouble(m.group(2)) < Double.parseDouble(first.group(1)) - 0.05, "validation loss "
                + first.group(1) + " -> " + m.group(2));
        assertTrue(out.contains("Sample after: My son,"), out);
        Map<String, INDArray> expected = Safetensors.read(plain.resolve("adapter_model.safetensors")),
                actual = Safetensors.read(checkpointed.resolve("adapter_model.safetensors"));
        assertEquals(expected.keySet(), actual.keySet());
        expected.forEach((k, v) -> Exact.assertSameBits(k + " with checkpointed activations", v, actual.get(k)));
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"full", "lora", "int8"})
    void aKilledRunResumedSavesTheWeightsOfAnUninterruptedOne(String kind, @TempDir Path dir) throws Exception {
        boolean full = kind.equals("full");
        List<String> mode = new ArrayList<>(full ? List.of("--full") : List.of("--lora-rank=4", "--lora-dropout", "0.1"));
        if (kind.equals("int8")) {
            mode.addAll(List.of("--base-format", "int8"));
        }
        String weights = full ? "model.safetensors" : "adapter_model.safetensors";
        Path whole = dir.resolve("whole"), killed = dir.resolve("killed");
        byte[] baseFile = Files.readAllBytes(Path.of("models/shakespeare-bpe/model.safetensors"));
        String plain = Stdout.capture(() -> FineTune.run(args(whole, mode, "--checkpoint-every", "3", "--save",
                whole.resolve("model").toString())));

        Path latest = killed.resolve(FineTune.CHECKPOINT).resolve(Checkpoint.LATEST);
        KilledRun.killAfter(FineTune.class, args(killed, mode, "--checkpoint-every", "3", "--save",
                killed.resolve("model").toString()), latest, dir.resolve("child.log"));
        assertFalse(Files.exists(killed.resolve("model")), "the child finished before it was killed");
        if (!full) { // the frozen base is no part of a checkpoint: it is loaded (and converted) again on resuming
            Path saved = killed.resolve(FineTune.CHECKPOINT).resolve(Files.readString(latest).strip());
            assertTrue(Safetensors.read(saved.resolve(weights)).keySet().stream().allMatch(k -> k.contains(".lora_")),
                    "a LoRA checkpoint holds adapters only");
        }

        String resumed = Stdout.capture(() -> FineTune.run(args(killed, mode, "--checkpoint-every", "3", "--resume",
                "--save", killed.resolve("model").toString())));
        assertTrue(full || resumed.contains("LoRA r=4 alpha=16 dropout=0.1 on"), "the resumed adapters' dropout:\n"
                + resumed);
        Matcher m = Pattern.compile("Resuming from .* at step (\\d+)").matcher(resumed);
        assertTrue(m.find(), resumed);
        int step = Integer.parseInt(m.group(1));
        assertTrue(step >= 3 && step < 12, "resumed at step " + step);
        Map<String, INDArray> expected = Safetensors.read(whole.resolve("model").resolve(weights)),
                actual = Safetensors.read(killed.resolve("model").resolve(weights));
        assertEquals(expected.keySet(), actual.keySet());
        expected.forEach((k, v) -> Exact.assertSameBits(k + " after resuming at step " + step, v, actual.get(k)));
        assertEquals(lastLosses(plain), lastLosses(resumed), "the resumed run reports the same losses");
        assertTrue(java.util.Arrays.equals(baseFile, Files.readAllBytes(Path.of(
                "models/shakespeare-bpe/model.safetensors"))), "the base model's file is untouched");
    }

    @Test
    void badInputIsOneLine(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out"), tokens = out.resolve("tokens");
        Files.createDirectories(tokens);
        Tokenizer gpt2 = Tokenizer.fromPretrained(Path.of("src/test/resources/tokenizers/gpt2"));
        Path text = Files.writeString(dir.resolve("a.txt"), "The proverbs of Solomon the son of David. ".repeat(40));
        TokenFile.tokenize(text, gpt2, tokens.resolve("a.txt.bin"));
        BadOptions.rejected("finetune", FineTune::run, out.resolve("checkpoint"), args(out, "--train-file",
                text.toString(), "--valid-file", text.toString()), "a.txt.bin: was written with another tokenizer "
                + "(vocabulary size 50257");
        Path fresh = dir.resolve("fresh"); // the rest write nothing
        BadOptions.rejected("finetune", FineTune::run, fresh, args(fresh, "--context", "65"),
                "--context: expected at most the model's context of 64, given 65");
        BadOptions.rejected("finetune", FineTune::run, fresh, args(fresh, "--model", dir.toString()), "no config.json");
        BadOptions.rejected("finetune", FineTune::run, fresh, args(fresh, "--train-file",
                dir.resolve("none.txt").toString()), "--train-file: expected a text file");
        BadOptions.rejected("finetune", FineTune::run, fresh, args(fresh, "--grad-accum", "5"),
                "--grad-accum: expected at most --batch (4");
        BadOptions.rejected("finetune", FineTune::run, fresh, args(fresh, "--full", "--base-format", "int8"),
                "--base-format: expected float32 with --full (a bfloat16 or int8 base trains LoRA adapters only), "
                        + "given int8");
        BadOptions.rejected("finetune", FineTune::run, fresh.resolve("checkpoint"), args(fresh, "--target", "q_proj"),
                "--lora-rank, --lora-alpha, --target: LoRA targets 'q_proj' match no linear layer of this gpt2 model");
    }

    private static Matcher result(String out) {
        return Stdout.lastLine(out, "RESULT train_loss=(\\S+) val_loss=(\\S+) val_ppl=(\\S+) steps=(\\d+) "
                + "train_seconds=\\S+ tokens_per_second=\\d+ peak_rss_mb=\\d+ trainable_params=(\\d+)");
    }

    private static String lastLosses(String out) {
        Matcher m = result(out);
        return m.group(1) + " " + m.group(2);
    }
}
