package org.attn4j.examples.translate;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.attn4j.io.Checkpoint;
import org.attn4j.io.CheckpointException;
import org.attn4j.model.Seq2SeqTransformer;

/**
 * What a run reads before it trains or translates, so that a bad file or model stops it early: the training
 * file (as a {@link FileCorpus}) or the model to load, and the validation and evaluation pairs from files.
 *
 * @param corpus         with {@code --train-file}, else null
 * @param loaded         with {@code --pretrained} or {@code --model}, else null
 * @param maxLen         the positions of the model: the toy grammar's, the file's or the loaded model's
 * @param validation     the pairs that choose the alignment when they come from a file, else null (the toy grammar's)
 * @param validationName where they come from
 * @param eval           {@code --eval-file}'s usable pairs (maybe none), or null without it
 */
record Inputs(FileCorpus corpus, Translator loaded, int maxLen, List<ToyFrench.Pair> validation,
        String validationName, List<ToyFrench.Pair> eval) {
    /** The toy grammar's sentences fit in 16 positions; a model trained on a file gets what its pairs need. */
    static final int DEMO_MAX_LEN = 16;
    /** Beside a model trained on a file: the validation pairs that choose its alignment. */
    static final String VALIDATION_FILE = "validation.txt";

    /**
     * @throws ParallelFile.BadFile for a malformed training or validation file, or one without a usable line
     * @throws CheckpointException  for a model that cannot be loaded
     */
    static Inputs read(Options o, PrintStream err) throws IOException {
        FileCorpus corpus = null;
        Translator loaded = null;
        int maxLen = DEMO_MAX_LEN;
        List<ToyFrench.Pair> validation = null;
        String validationName = null;
        if (o.trainFile() != null) {
            List<ToyFrench.Pair> all = ParallelFile.readAll(o.trainFile());
            List<ToyFrench.Pair> valid = o.validFile() == null ? null
                    : ParallelFile.readUsable(o.validFile(), Integer.MAX_VALUE, true, err);
            corpus = FileCorpus.of(o.trainFile().toString(), all, valid, o.validation(), o.seed());
            maxLen = corpus.maxLen();
            validation = corpus.validation();
            validationName = o.validFile() != null ? o.validFile().toString()
                    : "held out of " + o.trainFile() + ", never trained on";
        } else if (o.pretrained()) {
            loaded = load(o.model());
            maxLen = loaded.model().config().maxLen();
        }
        Path saved = o.model().resolve(VALIDATION_FILE);
        if (corpus == null && (o.validFile() != null || (loaded != null && Files.isRegularFile(saved)))) {
            Path file = o.validFile() != null ? o.validFile() : saved;
            validation = ParallelFile.readUsable(file, maxLen, true, err);
            validationName = file.toString();
            if (validation.isEmpty()) {
                throw new ParallelFile.BadFile(file + ": no usable line (every pair is blank, a comment or too long)");
            }
        }
        List<ToyFrench.Pair> eval = o.evalFile() == null ? null : ParallelFile.readUsable(o.evalFile(), maxLen, false,
                err);
        return new Inputs(corpus, loaded, maxLen, validation, validationName, eval);
    }

    private static Translator load(Path dir) {
        Checkpoint.Loaded c = Checkpoint.load(dir);
        if (!(c.model() instanceof Seq2SeqTransformer) || c.sourceVocabulary() == null || c.targetVocabulary() == null) {
            throw new CheckpointException(dir.resolve(Checkpoint.LATEST) + ": not a translation model (an encoder-"
                    + "decoder with source and target vocabularies)");
        }
        return new Translator(c.model(), c.sourceVocabulary(), c.targetVocabulary());
    }
}
