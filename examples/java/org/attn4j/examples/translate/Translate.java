package org.attn4j.examples.translate;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.function.IntFunction;
import java.util.stream.IntStream;
import org.attn4j.data.Vocabulary;
import org.attn4j.examples.BadOption;
import org.attn4j.io.Checkpoint;
import org.attn4j.io.CheckpointException;
import org.attn4j.model.ModelConfig;
import org.attn4j.model.Seq2SeqTransformer;
import org.attn4j.nn.PositionalEncoding;
import org.attn4j.train.Schedules;
import org.attn4j.train.Trainer;
import org.attn4j.train.TrainingLoop;
import org.nd4j.linalg.factory.Nd4j;

/**
 * attn4j's main demo: a toy French→English translator whose attention aligns the words.
 *
 * <p>It trains a small encoder-decoder on sentences from {@link ToyFrench} (or, with {@code --pretrained},
 * loads the committed one from {@code models/translate}), translates held-out sentences that use
 * noun–adjective and subject–verb combinations never seen in training, and scores the translations
 * (exact match, corpus BLEU). Then it reads a word alignment off the cross-attention alone — for each
 * English word, the French word the decoder looked at most while writing it — and scores it against the
 * grammar's gold alignment (AER with precision and recall). Which layer and head (or average) to read is
 * chosen on a validation split, never on the test split.
 *
 * <p>Also: {@code --sentence "le chat noir dort"} translates one sentence and prints its alignment;
 * {@code --eval-file FILE} evaluates lines {@code source ||| reference ||| gold alignment (Pharaoh)} (the
 * alignment is optional; words the model does not know are read as {@code <unk>}, counted and reported);
 * {@code --model DIR} loads another checkpoint. {@code --train-file FILE} trains on a user's parallel text
 * instead of the toy grammar (same format, same recipe), choosing the alignment on {@code --valid-file} or on
 * a slice held out of the file, and saves that slice beside the model; {@code --write-corpus DIR} writes such
 * files from a second toy grammar, {@link MarketFrench}. Pictures go to {@code --out} (default target/translate):
 * cross-attention heatmaps (PNG and SVG) per head and averaged, and {@code report.html} with every
 * layer's and head's attention. Last line:
 * {@code RESULT exact_match=... bleu=... aer=... precision=... recall=... n=...}.
 */
public final class Translate {
    static final int BATCH = 500, SHOW_MISTAKES = 5;

    private Translate() {
    }

    public static void main(String[] args) throws IOException {
        int status = run(args, System.out, System.err);
        if (status != 0) {
            System.exit(status);
        }
    }

    /**
     * The program; returns its exit status (0 fine, 1 nothing could be evaluated, 2 bad arguments, model or
     * file). A bad argument is reported before anything is printed or written, a bad file before any training.
     */
    public static int run(String[] args, PrintStream out, PrintStream err) throws IOException {
        Options o;
        try {
            o = Options.parse(args);
        } catch (BadOption e) {
            err.println("translate: " + e.getMessage());
            return 2;
        }
        if (o.writeCorpus() != null) {
            List<Path> files = new MarketFrench(o.seed()).write(o.writeCorpus(), o.corpusPairs(), o.test());
            out.println("Wrote " + o.corpusPairs() + " training pairs to " + files.get(0) + " and " + o.test()
                    + " test pairs to " + files.get(1) + " (MarketFrench, seed " + o.seed() + ")");
            return 0;
        }
        try {
            return run(o, out, err);
        } catch (ParallelFile.BadFile e) {
            err.println("translate: " + e.getMessage());
            return 2;
        } catch (CheckpointException e) {
            err.println("translate: cannot load the model: " + e.getMessage());
            return 2;
        }
    }

    /** Reads every input first ({@link Inputs}), then trains or loads, then translates and scores. */
    private static int run(Options o, PrintStream out, PrintStream err) throws IOException {
        Inputs in = Inputs.read(o, err);
        if (in.eval() != null && in.eval().isEmpty()) {
            err.println("translate: no line of " + o.evalFile() + " could be evaluated");
            return 1;
        }
        FileCorpus corpus = in.corpus();
        ToyFrench grammar = new ToyFrench(o.seed());
        boolean toyData = in.validation() == null || (corpus == null && in.eval() == null && o.sentence().isBlank());
        List<ToyFrench.Pair> validation = in.validation() != null ? in.validation()
                : grammar.heldOut(o.validation(), new Random(o.seed() + 1), new HashSet<>());

        Translator translator;
        if (in.loaded() != null) {
            translator = in.loaded();
            if (toyData) {
                List<String> missing = new ArrayList<>(translator.unknownSourceWords(ToyFrench.sourceWords()));
                missing.addAll(translator.unknownTargetWords(ToyFrench.targetWords()));
                if (!missing.isEmpty()) {
                    err.println("translate: " + o.model() + ": the model does not know the toy grammar's words "
                            + missing + " (give --valid-file and --eval-file in its vocabulary)");
                    return 2;
                }
            }
            out.println("Loaded " + o.model() + " (" + describe(translator.model().config()) + ")");
        } else if (corpus != null) {
            out.printf(Locale.ROOT, "Training on %s: %d pairs, %d source and %d target words, up to %d positions; "
                    + "validation: %d pairs (%s)%n", o.trainFile(), corpus.train().size(),
                    corpus.sourceVocabulary().size() - 4, corpus.targetVocabulary().size() - 4, in.maxLen(),
                    validation.size(), in.validationName());
            translator = train(o, corpus.sourceVocabulary(), corpus.targetVocabulary(), in.maxLen(),
                    step -> corpus.batch(o.batch(), o.seed(), step), validation, out, err);
        } else {
            out.println("Training on the toy grammar; held out: " + grammar.heldOutCombinations().size()
                    + " combinations");
            translator = train(o, new Vocabulary(ToyFrench.sourceWords()), new Vocabulary(ToyFrench.targetWords()),
                    in.maxLen(), step -> grammar.training(o.batch(), new Random(o.seed() * 1_000_003L + step)),
                    validation, out, err);
        }
        if (in.validation() != null) {
            String name = "validation (" + in.validationName() + ")";
            out.println(UnknownWords.count(translator, validation).describe(name));
        }

        if (!o.sentence().isBlank()) {
            return SentenceView.print(translator, chooseOnValidation(translator, validation, out), o.sentence(), out, err);
        }
        List<ToyFrench.Pair> pairs;
        String what;
        if (in.eval() != null) {
            pairs = in.eval();
            what = "sentences of " + o.evalFile();
            out.println(UnknownWords.count(translator, pairs).describe(o.evalFile().toString()));
        } else if (corpus != null) {
            pairs = validation;
            what = "validation sentences (the alignment is chosen on them too: give --eval-file for a test)";
        } else {
            HashSet<String> seen = new HashSet<>();
            validation.forEach(p -> seen.add(p.sourceText()));
            pairs = grammar.heldOut(o.test(), new Random(o.seed() + 2), seen);
            what = "held-out test sentences";
        }
        long start = System.nanoTime();
        AttentionAligner.Choice choice = chooseOnValidation(translator, validation, out);
        return evaluate(translator, pairs, what, choice, o, out, start);
    }

    /**
     * The demo's recipe on any data: trains, then saves the model (and, beside it, the validation pairs that
     * choose its alignment) in {@code --save}.
     */
    private static Translator train(Options o, Vocabulary src, Vocabulary tgt, int maxLen,
            IntFunction<List<ToyFrench.Pair>> batches, List<ToyFrench.Pair> validation, PrintStream out,
            PrintStream progress) throws IOException {
        ModelConfig config = ModelConfig.seq2seq(tgt.size(), o.dModel(), o.heads(), o.ffDim(), o.decoderLayers(),
                        maxLen)
                .withSourceVocab(src.size()).withEncoderLayers(o.encoderLayers())
                .withPositions(PositionalEncoding.SINUSOIDAL).withPadId(Vocabulary.PAD_ID);
        Nd4j.getRandom().setSeed(o.seed());
        Translator translator = new Translator(new Seq2SeqTransformer(config), src, tgt);
        out.println("Training " + describe(config) + " for " + o.steps() + " steps of " + o.batch() + " sentences");
        Trainer trainer = new Trainer(translator.model(), Trainer.Config.adam(Schedules.inverseSqrt(o.lr(), o.warmup()))
                .withClipNorm(1.0).withSeed(o.seed()));
        List<List<String>> valSources = validation.stream().map(ToyFrench.Pair::source).toList();
        TrainingLoop.Outcome run = TrainingLoop.run(trainer, step -> translator.batch(batches.apply(step)),
                m -> exactMatch(translator.translate(valSources, BATCH), validation),
                TrainingLoop.Options.of(o.steps(), Math.max(1, o.steps() / 6)).withProgress(progress), null);
        out.printf(Locale.ROOT, "Trained %d steps in %.1f s; validation exact match %.4f%n", run.steps(),
                run.trainSeconds(), run.history().rows().get(run.history().rows().size() - 1).metric());
        Checkpoint.save(o.save(), translator.model(), src, tgt, trainer.stepCount(), null);
        Files.deleteIfExists(o.save().resolve(Inputs.VALIDATION_FILE));
        if (o.trainFile() != null) {
            ParallelFile.write(o.save().resolve(Inputs.VALIDATION_FILE), "The validation pairs that choose this model's "
                    + "alignment (read by --model when no --valid-file is given)", validation);
        }
        out.println("Saved the model in " + o.save());
        return translator;
    }

    /**
     * The layer and head (or average) whose cross-attention aligns the validation pairs best; without gold
     * alignments there, the last decoder layer's head average.
     */
    private static AttentionAligner.Choice chooseOnValidation(Translator t, List<ToyFrench.Pair> validation,
            PrintStream out) {
        List<ToyFrench.Pair> gold = validation.stream().filter(p -> p.gold() != null).toList();
        if (gold.isEmpty()) {
            AttentionAligner.Choice c = new AttentionAligner.Choice(t.model().config().decoderLayers() - 1, -1);
            out.println("No gold alignment in the validation pairs; reading the " + c.describe());
            return c;
        }
        List<AttentionAligner.Scored> ranked = AttentionAligner.rank(t.attention(
                gold.stream().map(ToyFrench.Pair::source).toList(),
                gold.stream().map(ToyFrench.Pair::target).toList(), BATCH), gold);
        out.println("Alignment from cross-attention on " + gold.size() + " validation sentences (best first):");
        ranked.stream().limit(5).forEach(s -> out.println("  " + s));
        out.println("Chosen: " + ranked.get(0).choice().describe());
        return ranked.get(0).choice();
    }

    private static int evaluate(Translator t, List<ToyFrench.Pair> pairs, String what, AttentionAligner.Choice choice,
            Options o, PrintStream out, long start) throws IOException {
        List<List<String>> sources = pairs.stream().map(ToyFrench.Pair::source).toList();
        List<List<String>> targets = pairs.stream().map(ToyFrench.Pair::target).toList();
        List<Translator.Output> hyps = t.translate(sources, BATCH);
        Bleu bleu = new Bleu();
        List<String> mistakes = new ArrayList<>();
        for (int i = 0; i < pairs.size(); i++) {
            Translator.Output h = hyps.get(i);
            bleu.add(h.words(), targets.get(i));
            if (!isRight(h, pairs.get(i)) && mistakes.size() < SHOW_MISTAKES) {
                mistakes.add(pairs.get(i).sourceText() + "  ->  " + String.join(" ", h.words())
                        + (h.finished() ? "" : " (no end)") + "   (expected " + pairs.get(i).targetText() + ")");
            }
        }
        double exact = exactMatch(hyps, pairs);
        List<Translator.Weights> weights = t.attention(sources, targets, BATCH);
        List<Integer> withGold = IntStream.range(0, pairs.size()).filter(i -> pairs.get(i).gold() != null).boxed()
                .toList();
        AlignmentError aer = AttentionAligner.score(withGold.stream().map(weights::get).toList(),
                withGold.stream().map(pairs::get).toList(), choice);
        out.printf(Locale.ROOT, "%d %s: exact match %.4f, BLEU %.2f%n", pairs.size(), what, exact, bleu.score());
        mistakes.forEach(m -> out.println("  mistake: " + m));
        if (withGold.isEmpty()) {
            out.println("Alignment: no gold alignment to score against (AER, precision and recall are NaN)");
        } else {
            out.printf(Locale.ROOT, "Alignment (%s, reading the reference, %d sentences with a gold alignment): "
                    + "AER %.4f, precision %.4f, recall %.4f%n", choice.describe(), withGold.size(), aer.aer(),
                    aer.precision(), aer.recall());
        }
        List<Path> files = Pictures.write(o.out(), pairs.subList(0, Math.min(o.pictures(), pairs.size())),
                weights.subList(0, Math.min(o.pictures(), pairs.size())), choice);
        out.println("Pictures: " + files.stream().map(Path::toString).reduce((a, b) -> a + ", " + b).orElse("none"));
        out.printf(Locale.ROOT, "Evaluated (validation choice, translation, alignment, pictures) in %.1f s%n",
                (System.nanoTime() - start) / 1e9);
        double nan = Double.NaN;
        out.printf(Locale.ROOT, "RESULT exact_match=%.4f bleu=%.2f aer=%.4f precision=%.4f recall=%.4f n=%d%n", exact,
                bleu.score(), withGold.isEmpty() ? nan : aer.aer(), withGold.isEmpty() ? nan : aer.precision(),
                withGold.isEmpty() ? nan : aer.recall(), pairs.size());
        return 0;
    }

    private static double exactMatch(List<Translator.Output> hyps, List<ToyFrench.Pair> pairs) {
        int right = 0;
        for (int i = 0; i < pairs.size(); i++) {
            right += isRight(hyps.get(i), pairs.get(i)) ? 1 : 0;
        }
        return (double) right / pairs.size();
    }

    private static boolean isRight(Translator.Output h, ToyFrench.Pair p) {
        return h.finished() && h.words().equals(p.target());
    }

    private static String describe(ModelConfig c) {
        return String.format(Locale.ROOT, "d=%d, %d heads, ff=%d, %d encoder + %d decoder layers", c.dModel(), c.heads(),
                c.ffDim(), c.encoderLayers(), c.decoderLayers());
    }

    /** Writes text to a file as UTF-8, creating its folder. */
    static void write(Path file, String text) throws IOException {
        Path parent = file.toAbsolutePath().getParent();
        Files.createDirectories(parent);
        Files.writeString(file, text, StandardCharsets.UTF_8);
    }
}
