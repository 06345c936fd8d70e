package org.attn4j.text;

import java.util.List;

/** HF's post-processor for a single sequence: the special tokens put around the encoded text. */
interface PostProcessor {
    /** The ids with the specials added ({@code addSpecialTokens}) or as they are. */
    int[] apply(int[] ids, boolean addSpecialTokens);

    /** How many ids {@link #apply} adds around a single sequence. */
    int added();

    /** The template's ids before and after the sequence (TemplateProcessing, RobertaProcessing, BertProcessing). */
    record Template(int[] before, int[] after) implements PostProcessor {
        @Override
        public int[] apply(int[] ids, boolean addSpecialTokens) {
            if (!addSpecialTokens || before.length + after.length == 0) {
                return ids;
            }
            int[] out = new int[before.length + ids.length + after.length];
            System.arraycopy(before, 0, out, 0, before.length);
            System.arraycopy(ids, 0, out, before.length, ids.length);
            System.arraycopy(after, 0, out, before.length + ids.length, after.length);
            return out;
        }

        @Override
        public int added() {
            return before.length + after.length;
        }
    }

    /** Processors in turn (a ByteLevel processor only trims offsets, so it contributes nothing to ids). */
    record Sequence(List<PostProcessor> steps) implements PostProcessor {
        @Override
        public int[] apply(int[] ids, boolean addSpecialTokens) {
            for (PostProcessor p : steps) {
                ids = p.apply(ids, addSpecialTokens);
            }
            return ids;
        }

        @Override
        public int added() {
            return steps.stream().mapToInt(PostProcessor::added).sum();
        }
    }
}
