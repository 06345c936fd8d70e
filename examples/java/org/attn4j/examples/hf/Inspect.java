package org.attn4j.examples.hf;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.attn4j.examples.Args;
import org.attn4j.examples.Cli;
import org.attn4j.model.AttentionMaps;
import org.attn4j.model.LanguageModel;
import org.attn4j.text.Tokenizer;
import org.attn4j.viz.Heatmap;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Every layer's and head's attention of a Hugging Face model over a text, as one HTML page: a layer and head picker
 * over the project's heatmaps (SVG, the token strings on both axes, each weight shown on hover), and a grid of all
 * heads per layer, the view researchers use bertviz for. Everything is local files; the page loads nothing from the
 * network.
 *
 * <p>Run: {@code mvn -q test-compile exec:java@inspect -Dexec.args="--model DIR --text 'text' [--out target/inspect]"}
 * (without {@code --model}: the committed {@code models/shakespeare-bpe} on a line of Romeo's).
 * It writes {@code OUT/index.html}, {@code OUT/layer<l>-head<h>.svg} (and {@code .png}) and
 * {@code OUT/layer<l>.svg} (all heads). A bad option or model directory ends the run with one line on standard error
 * and exit status 2. The last line is {@code RESULT tokens=... layers=... heads=... page=...}.
 */
public final class Inspect {
    static final Map<String, String> DEFAULTS = defaults();

    private Inspect() {
    }

    private static Map<String, String> defaults() {
        Map<String, String> d = new LinkedHashMap<>();
        d.put("model", "models/shakespeare-bpe");
        d.put("text", "ROMEO:\nBut soft, what light through yonder window breaks?");
        d.put("out", "target/inspect");
        return d;
    }

    public static void main(String[] args) throws Exception {
        Cli.main("inspect", args, Inspect::run);
    }

    static void run(String[] args) throws IOException {
        Map<String, String> o = Args.parse(args, DEFAULTS);
        Path dir = Path.of(o.get("model")), out = Path.of(o.get("out"));
        ModelText opened = ModelText.open(dir, o.get("text"), "text");
        LanguageModel lm = opened.lm();
        Tokenizer tokenizer = opened.tokenizer();
        int[] ids = opened.ids();
        List<String> tokens = new ArrayList<>();
        for (int id : ids) {
            tokens.add(tokenizer.decode(new int[] {id}));
        }
        // 1. One forward pass; every layer's weights [1, H, T, T].
        AttentionMaps maps = lm.attention(null, Nd4j.createFromArray(ids).castTo(DataType.INT).reshape(1, ids.length));
        Files.createDirectories(out);
        int layers = maps.decoderSelf().size(), heads = lm.config().heads();
        // 2. One heatmap per head, and one grid of all heads per layer.
        for (int l = 0; l < layers; l++) {
            List<Heatmap.Panel> panels = new ArrayList<>();
            for (int h = 0; h < heads; h++) {
                INDArray w = maps.decoderSelf().get(l).get(NDArrayIndex.point(0), NDArrayIndex.point(h));
                Heatmap.Panel panel = new Heatmap.Panel("layer " + l + ", head " + h, tokens, tokens,
                        w.castTo(DataType.DOUBLE).toDoubleMatrix());
                panels.add(panel);
                Heatmap.write(out.resolve("layer" + l + "-head" + h), "layer " + l + ", head " + h, List.of(panel), 1);
            }
            Heatmap.write(out.resolve("layer" + l), "layer " + l + ", all heads", panels, Math.min(heads, 4));
        }
        Path page = out.resolve("index.html");
        Files.writeString(page, page(o.get("text"), dir, layers, heads), StandardCharsets.UTF_8);
        System.out.printf(Locale.ROOT, "RESULT tokens=%d layers=%d heads=%d page=%s%n", ids.length, layers, heads, page);
    }

    /** The page: a layer picker, a head picker ("all" shows the layer's grid) and the chosen heatmap. */
    private static String page(String text, Path model, int layers, int heads) {
        StringBuilder layerOptions = new StringBuilder(), headOptions = new StringBuilder("<option value=\"all\">all</option>");
        for (int l = 0; l < layers; l++) {
            layerOptions.append("<option value=\"").append(l).append("\">").append(l).append("</option>");
        }
        for (int h = 0; h < heads; h++) {
            headOptions.append("<option value=\"").append(h).append("\">").append(h).append("</option>");
        }
        return """
                <!DOCTYPE html>
                <html lang="en"><head><meta charset="utf-8"><title>attention of %s</title>
                <style>body { font-family: sans-serif; margin: 24px; } label { margin-right: 16px; }
                img { display: block; margin-top: 16px; max-width: 100%%; }</style></head>
                <body><h1>Attention over the text</h1><p>%s</p><p>Model: %s. Rows: queries (each token), columns: the
                tokens it attends to; darker is more weight (hover a cell for its value).</p>
                <label>layer <select id="layer">%s</select></label>
                <label>head <select id="head">%s</select></label>
                <img id="map" alt="attention heatmap" src="layer0.svg">
                <script>
                const layer = document.getElementById('layer'), head = document.getElementById('head');
                function show() {
                  document.getElementById('map').src = head.value === 'all' ? 'layer' + layer.value + '.svg'
                      : 'layer' + layer.value + '-head' + head.value + '.svg';
                }
                layer.onchange = show; head.onchange = show;
                </script></body></html>
                """.formatted(escape(model.getFileName().toString()), escape(text), escape(model.toString()),
                layerOptions, headOptions);
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
