package org.attn4j.examples.translate;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.attn4j.viz.Heatmap;

/**
 * The demo's pictures: for each sentence a cross-attention heatmap (PNG and SVG: every head of every layer
 * and each layer's average, English words down the side, French along the top), and one self-contained
 * HTML page with every layer's and head's attention of those sentences (encoder self-attention, decoder
 * self-attention, cross-attention), showing the value under the pointer. No network: the page carries its
 * own styles and a few lines of script.
 */
final class Pictures {
    private Pictures() {
    }

    /** Writes {@code out/cross-N.png|svg} for each pair and {@code out/report.html}; returns the files. */
    static List<Path> write(Path out, List<ToyFrench.Pair> pairs, List<Translator.Weights> weights,
            AttentionAligner.Choice choice) throws IOException {
        List<Path> files = new ArrayList<>();
        if (pairs.isEmpty()) {
            return files;
        }
        for (int n = 0; n < pairs.size(); n++) {
            ToyFrench.Pair p = pairs.get(n);
            double[][][][] cross = weights.get(n).cross();
            List<Heatmap.Panel> panels = new ArrayList<>();
            for (int l = 0; l < cross.length; l++) {
                for (int h = 0; h < cross[l].length; h++) {
                    panels.add(new Heatmap.Panel("layer " + l + " head " + h, p.target(), p.source(),
                            AttentionAligner.combine(cross, new AttentionAligner.Choice(l, h), p.target().size())));
                }
                panels.add(new Heatmap.Panel("layer " + l + " average", p.target(), p.source(),
                        AttentionAligner.combine(cross, new AttentionAligner.Choice(l, -1), p.target().size())));
            }
            files.addAll(Heatmap.write(out.resolve("cross-" + (n + 1)), "Cross-attention: " + p.sourceText() + " -> "
                    + p.targetText() + "   (alignment read from " + choice.describe() + ")", panels, cross[0].length + 1));
        }
        Path html = out.resolve("report.html");
        Translate.write(html, html(pairs, weights, choice));
        files.add(html);
        return files;
    }

    static String html(List<ToyFrench.Pair> pairs, List<Translator.Weights> weights, AttentionAligner.Choice choice) {
        StringBuilder page = new StringBuilder(HEAD);
        page.append("<h1>attn4j: where a toy translator looks</h1>\n<p>Every attention weight of the model for ")
                .append(pairs.size()).append(" sentence(s), read while the decoder is given the reference translation. ")
                .append("Darker = more weight; hover a cell for its value. The alignment is read from <b>")
                .append(esc(choice.describe())).append("</b> (chosen on the validation split): each English word ")
                .append("links to the French word with the largest weight in its row (outlined).</p>\n");
        for (int n = 0; n < pairs.size(); n++) {
            ToyFrench.Pair p = pairs.get(n);
            Translator.Weights w = weights.get(n);
            List<String> src = p.source();
            List<String> predicts = new ArrayList<>(p.target());
            predicts.add("<eos>");
            List<String> reads = new ArrayList<>(List.of("<bos>"));
            reads.addAll(p.target());
            page.append("<h2>").append(esc(p.sourceText())).append(" &rarr; ").append(esc(p.targetText())).append("</h2>\n");
            section(page, "Cross-attention (rows: the English word each decoder position writes; columns: French words)",
                    w.cross(), predicts, src, choice);
            section(page, "Encoder self-attention (rows: French words; columns: the French words they look at)",
                    w.encoderSelf(), src, src, null);
            section(page, "Decoder self-attention (rows: the word each position writes; columns: the words it has read, "
                    + "causal)", w.decoderSelf(), predicts, reads, null);
        }
        return page.append(TAIL).toString();
    }

    private static void section(StringBuilder page, String title, double[][][][] layers, List<String> rows,
            List<String> cols, AttentionAligner.Choice choice) {
        page.append("<h3>").append(esc(title)).append("</h3>\n");
        for (int l = 0; l < layers.length; l++) {
            page.append("<div class=\"layer\"><div class=\"lname\">layer ").append(l).append("</div>\n");
            int heads = layers[l].length;
            for (int h = 0; h <= heads; h++) {
                double[][] m = h < heads ? layers[l][h] : average(layers[l]);
                boolean outline = choice != null && choice.layer() == l && (h < heads ? choice.head() == h
                        : choice.head() < 0);
                table(page, h < heads ? "head " + h : "average", m, rows, cols, outline);
            }
            page.append("</div>\n");
        }
    }

    private static void table(StringBuilder page, String name, double[][] m, List<String> rows, List<String> cols,
            boolean outline) {
        page.append("<table><caption>").append(name).append("</caption><tr><th></th>");
        cols.forEach(c -> page.append("<th class=\"col\">").append(esc(c)).append("</th>"));
        page.append("</tr>\n");
        for (int r = 0; r < m.length; r++) {
            page.append("<tr><th>").append(esc(rows.get(r))).append("</th>");
            int best = 0;
            for (int c = 1; c < m[r].length; c++) {
                best = m[r][c] > m[r][best] ? c : best;
            }
            for (int c = 0; c < m[r].length; c++) {
                double v = m[r][c];
                page.append(String.format(Locale.ROOT, "<td style=\"background:rgba(20,60,170,%.3f)\"%s title=\"%s → %s: %.4f\"></td>",
                        Math.max(0, Math.min(1, v)), outline && c == best && r < rows.size() - 1 ? " class=\"best\"" : "",
                        esc(rows.get(r)), esc(cols.get(c)), v));
            }
            page.append("</tr>\n");
        }
        page.append("</table>\n");
    }

    private static double[][] average(double[][][] heads) {
        double[][] out = new double[heads[0].length][heads[0][0].length];
        for (double[][] h : heads) {
            for (int r = 0; r < out.length; r++) {
                for (int c = 0; c < out[r].length; c++) {
                    out[r][c] += h[r][c] / heads.length;
                }
            }
        }
        return out;
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }

    private static final String HEAD = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>attn4j translation attention</title>
            <style>
            body { font-family: sans-serif; margin: 1.5em; color: #222; }
            .layer { display: flex; flex-wrap: wrap; align-items: flex-start; gap: 14px; margin-bottom: 10px; }
            .lname { width: 4.5em; font-weight: bold; padding-top: 4em; }
            table { border-collapse: collapse; font-size: 11px; }
            caption { font-weight: bold; padding-bottom: 2px; }
            td { width: 18px; height: 18px; border: 1px solid #eee; padding: 0; }
            td.best { outline: 2px solid #e0301e; outline-offset: -2px; }
            th { font-weight: normal; text-align: right; padding-right: 3px; }
            th.col { writing-mode: vertical-rl; transform: rotate(180deg); text-align: left; padding: 2px 0; }
            #readout { position: fixed; top: 8px; right: 8px; background: #fff8d0; border: 1px solid #cc9;
                       padding: 6px 10px; font: 14px monospace; min-width: 16em; }
            </style></head><body>
            <div id="readout">hover a cell</div>
            """;

    private static final String TAIL = """
            <script>
            const readout = document.getElementById('readout');
            document.addEventListener('mouseover', e => {
              if (e.target.tagName === 'TD') {
                const caption = e.target.closest('table').caption.textContent;
                const layer = e.target.closest('.layer').querySelector('.lname').textContent;
                    readout.textContent = layer + ', ' + caption + ': ' + e.target.title;
              }
            });
            </script>
            </body></html>
            """;
}
