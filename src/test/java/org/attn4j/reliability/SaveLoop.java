package org.attn4j.reliability;

import java.nio.file.Path;
import org.attn4j.io.Checkpoint;
import org.attn4j.model.LanguageModel;
import org.attn4j.model.ModelConfig;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A process that saves checkpoints forever, version k holding the seeded base weights plus k, so
 * that {@link InterruptedSaveTest} can kill it in the middle of a save.
 */
public final class SaveLoop {
    static LanguageModel base() {
        Nd4j.getRandom().setSeed(77);
        return new LanguageModel(ModelConfig.languageModel(300, 64, 4, 256, 2, 64));
    }

    public static void main(String[] args) {
        Path dir = Path.of(args[0]);
        LanguageModel model = base();
        for (int k = 1; ; k++) {
            model.parameters().values().forEach(v -> v.addi(1.0));
            Checkpoint.save(dir, model, null, null, k, null);
            System.out.println("saved " + k);
            System.out.flush();
        }
    }
}
