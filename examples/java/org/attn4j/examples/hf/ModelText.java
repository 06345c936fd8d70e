package org.attn4j.examples.hf;

import java.nio.file.Path;
import org.attn4j.examples.BadOption;
import org.attn4j.model.LanguageModel;
import org.attn4j.text.Tokenizer;

/**
 * A Hugging Face directory's model and tokenizer, and a text's ids that fit the model's context: what generate and
 * inspect both start from. A directory that does not load, or a text of no tokens or more than the context, is a
 * bad option (one line, exit 2).
 */
record ModelText(LanguageModel lm, Tokenizer tokenizer, int[] ids) {
    static ModelText open(Path dir, String text, String what) {
        LanguageModel lm;
        Tokenizer tokenizer;
        try {
            lm = LanguageModel.fromPretrained(dir);
            tokenizer = Tokenizer.fromPretrained(dir);
        } catch (IllegalArgumentException e) {
            throw new BadOption(e.getMessage());
        }
        int[] ids = tokenizer.encode(text);
        int context = lm.config().maxLen();
        if (ids.length == 0 || ids.length > context) {
            throw new BadOption("the " + what + " has " + ids.length + " tokens; expected 1 to the model's context of "
                    + context);
        }
        return new ModelText(lm, tokenizer, ids);
    }
}
