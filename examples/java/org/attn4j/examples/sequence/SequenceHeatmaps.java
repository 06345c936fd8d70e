package org.attn4j.examples.sequence;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.attn4j.data.Vocabulary;
import org.attn4j.model.AttentionMaps;
import org.attn4j.model.TransformerModel;
import org.attn4j.viz.Heatmap;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Every layer's and head's attention for one input, as heatmaps: encoder self-attention (source over
 * source), decoder self-attention (answer over answer so far) and cross-attention (answer over source),
 * one PNG and one SVG each, a row of panels per layer and a panel per head. Axis labels are the word
 * and its position, {@code "5 @3"}. The decoder reads the right answer (teacher forcing), so the maps
 * show where the model looks while it writes each correct token.
 */
final class SequenceHeatmaps {
    private SequenceHeatmaps() {
    }

    /** Writes {@code encoder_self}, {@code decoder_self} and {@code cross} (.png and .svg) under {@code dir}. */
    static List<Path> write(TransformerModel model, SequenceTask task, int[] digits, Path dir) throws IOException {
        int[] source = SequenceTask.ids(digits);
        int[] answer = SequenceTask.ids(task.apply(digits));
        int[] input = new int[answer.length + 1]; // <bos> + answer
        input[0] = Vocabulary.BOS_ID;
        System.arraycopy(answer, 0, input, 1, answer.length);
        AttentionMaps maps = model.attention(Nd4j.createFromArray(new int[][] {source}),
                Nd4j.createFromArray(new int[][] {input}));
        List<String> src = labels(source), in = labels(input);
        String what = task.label() + " " + SequenceTask.VOCABULARY.decode(source);
        List<Path> files = new ArrayList<>();
        files.addAll(draw(dir.resolve("encoder_self"), "Encoder self-attention, " + what, maps.encoderSelf(), src, src));
        files.addAll(draw(dir.resolve("decoder_self"), "Decoder self-attention, " + what, maps.decoderSelf(), in, in));
        files.addAll(draw(dir.resolve("cross"), "Cross-attention (rows: decoder input, columns: source), " + what,
                maps.cross(), in, src));
        return files;
    }

    /** One panel per layer and head; {@code weights} per layer {@code [1, H, Tq, Tk]}. */
    private static List<Path> draw(Path base, String title, List<INDArray> weights, List<String> rows,
            List<String> cols) throws IOException {
        List<Heatmap.Panel> panels = new ArrayList<>();
        int heads = (int) weights.get(0).size(1);
        for (int layer = 0; layer < weights.size(); layer++) {
            for (int h = 0; h < heads; h++) {
                INDArray w = weights.get(layer).get(NDArrayIndex.point(0), NDArrayIndex.point(h),
                        NDArrayIndex.all(), NDArrayIndex.all()); // [Tq, Tk]
                panels.add(new Heatmap.Panel("layer " + layer + " head " + h, rows, cols, w.toDoubleMatrix()));
            }
        }
        return Heatmap.write(base, title, panels, heads);
    }

    private static List<String> labels(int[] ids) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < ids.length; i++) {
            out.add(SequenceTask.VOCABULARY.token(ids[i]) + " @" + i);
        }
        return out;
    }
}
