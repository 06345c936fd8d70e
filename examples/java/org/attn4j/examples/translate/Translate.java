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
import org.attn4j.config.Activation;
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
 * {@code --eval-file FILE} evaluates lines {@code source ||| reference ||| gold alignment (Pharaoh)};
 * {@code --model DIR} loads another checkpoint. Pictures go to {@code --out} (default target/translate):
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
     * The program; returns its exit status (0 fine, 1 nothing could be evaluated, 2 bad arguments or model). A bad
     * argument is reported before anything is printed or written.
     */
    public static int run(String[] args, PrintStream out, PrintStream err) throws IOException {
        Options o;
        try {
            o = Options.parse(args);
        } catch (BadOption e) {
            err.println("translate: " + e.getMessage());
            return 2;
        }
        ToyFrench grammar = new ToyFrench(o.seed());
        List<ToyFrench.Pair> validation = grammar.heldOut(o.validation(), new Random(o.seed() + 1), new HashSet<>());
        HashSet<String> seen = new HashSet<>();
        validation.forEach(p -> seen.add(p.sourceText()));
        List<ToyFrench.Pair> test = grammar.heldOut(o.test(), new Random(o.seed() + 2), seen);

        Translator translator;
        if (o.pretrained()) {
            try {
                translator = load(o.model());
            } catch (CheckpointException e) {
                err.println("translate: cannot load the model: " + e.getMessage());
                return 2;
            }
            List<String> missing = new ArrayList<>(translator.unknownSourceWords(ToyFrench.sourceWords()));
            missing.addAll(translator.unknownTargetWords(ToyFrench.targetWords()));
            if (!missing.isEmpty()) {
                err.println("translate: " + o.model() + ": the model does not know the toy grammar's words " + missing);
                return 2;
            }
            out.println("Loaded " + o.model() + " (" + describe(translator.model().config()) + ")");
        } else {
            translator = train(o, grammar, validation, out, err);
        }

        if (!o.sentence().isBlank()) {
            return SentenceView.print(translator, chooseOnValidation(translator, validation, out), o.sentence(), out, err);
        }
        List<ToyFrench.Pair> pairs = test;
        String what = "held-out test sentences";
        if (o.evalFile() != null) {
            pairs = EvalFile.read(o.evalFile(), translator, err);
            what = "sentences of " + o.evalFile();
            if (pairs.isEmpty()) {
                err.println("translate: no line of " + o.evalFile() + " could be evaluated");
                return 1;
            }
        }
        long start = System.nanoTime();
        AttentionAligner.Choice choice = chooseOnValidation(translator, validation, out);
        return evaluate(translator, pairs, what, choice, o, out, start);
    }

    private static Translator load(Path dir) {
        Checkpoint.Loaded c = Checkpoint.load(dir);
        if (!(c.model() instanceof Seq2SeqTransformer) || c.sourceVocabulary() == null || c.targetVocabulary() == null) {
            throw new CheckpointException(dir.resolve(Checkpoint.LATEST) + ": not a translation model (an encoder-"
                    + "decoder with source and target vocabularies)");
        }
        return new Translator(c.model(), c.sourceVocabulary(), c.targetVocabulary());
    }

    private static Translator train(Options o, ToyFrench grammar, List<ToyFrench.Pair> validation, PrintStream out,
            PrintStream progress) {
        Vocabulary src = new Vocabulary(ToyFrench.sourceWords()), tgt = new Vocabulary(ToyFrench.targetWords());
        ModelConfig config = new ModelConfig(src.size(), tgt.size(), o.dModel(), o.heads(), o.ffDim(), o.encoderLayers(),
                o.decoderLayers(), Activation.GELU, true, 0, 0, PositionalEncoding.SINUSOIDAL, 16, false, true, 1e-5,
                Vocabulary.PAD_ID);
        Nd4j.getRandom().setSeed(o.seed());
        Translator translator = new Translator(new Seq2SeqTransformer(config), src, tgt);
        out.println("Training " + describe(config) + " for " + o.steps() + " steps of " + o.batch()
                + " sentences; held out: " + grammar.heldOutCombinations().size() + " combinations");
        Trainer trainer = new Trainer(translator.model(), Trainer.Config.adam(Schedules.inverseSqrt(o.lr(), o.warmup()))
                .withClipNorm(1.0).withSeed(o.seed()));
        List<List<String>> valSources = validation.stream().map(ToyFrench.Pair::source).toList();
        TrainingLoop.Outcome run = TrainingLoop.run(trainer,
                step -> translator.batch(grammar.training(o.batch(), new Random(o.seed() * 1_000_003L + step))),
                m -> exactMatch(translator.translate(valSources, BATCH), validation),
                new TrainingLoop.Options(o.steps(), Math.max(1, o.steps() / 6), 0, true, Double.NaN, progress), null);
        out.printf(Locale.ROOT, "Trained %d steps in %.1f s; validation exact match %.4f%n", run.steps(),
                run.trainSeconds(), run.history().rows().get(run.history().rows().size() - 1).metric());
        Checkpoint.save(o.save(), translator.model(), src, tgt, trainer.stepCount(), null);
        out.println("Saved the model in " + o.save());
        return translator;
    }

    private static AttentionAligner.Choice chooseOnValidation(Translator t, List<ToyFrench.Pair> validation,
            PrintStream out) {
        List<AttentionAligner.Scored> ranked = AttentionAligner.rank(t.attention(
                validation.stream().map(ToyFrench.Pair::source).toList(),
                validation.stream().map(ToyFrench.Pair::target).toList(), BATCH), validation);
        out.println("Alignment from cross-attention on " + validation.size() + " validation sentences (best first):");
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
        AlignmentError aer = AttentionAligner.score(weights, pairs, choice);
        out.printf(Locale.ROOT, "%d %s: exact match %.4f, BLEU %.2f%n", pairs.size(), what, exact, bleu.score());
        mistakes.forEach(m -> out.println("  mistake: " + m));
        out.printf(Locale.ROOT, "Alignment (%s, reading the reference): AER %.4f, precision %.4f, recall %.4f%n",
                choice.describe(), aer.aer(), aer.precision(), aer.recall());
        List<Path> files = Pictures.write(o.out(), pairs.subList(0, Math.min(o.pictures(), pairs.size())),
                weights.subList(0, Math.min(o.pictures(), pairs.size())), choice);
        out.println("Pictures: " + files.stream().map(Path::toString).reduce((a, b) -> a + ", " + b).orElse("none"));
        out.printf(Locale.ROOT, "Evaluated (validation choice, translation, alignment, pictures) in %.1f s%n",
                (System.nanoTime() - start) / 1e9);
        out.printf(Locale.ROOT, "RESULT exact_match=%.4f bleu=%.2f aer=%.4f precision=%.4f recall=%.4f n=%d%n", exact,
                bleu.score(), aer.aer(), aer.precision(), aer.recall(), pairs.size());
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
