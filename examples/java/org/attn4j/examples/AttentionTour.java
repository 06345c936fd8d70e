package org.attn4j.examples;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import org.attn4j.nn.ScaledDotProductAttention;

/**
 * Writes the visual tour of {@link Basics}: one self-contained HTML page (inline CSS, SVG and a few lines
 * of JavaScript; no network) that steps through softmax(Q K^T / sqrt(d_k)) V on a small example, with
 * a heatmap of every matrix, its numbers in the cells, and Next/Back buttons (or the arrow keys).
 */
final class AttentionTour {
    private static final int CELL_W = 64, CELL_H = 36, LABEL_W = 40, TITLE_H = 40;

    private AttentionTour() {
    }

    /** Computes each step of attention for q, k, v and writes the page to {@code html}. */
    static Path write(double[][] q, double[][] k, double[][] v, Path html) throws IOException {
        int dk = q[0].length;
        double[][] scores = new double[q.length][k.length];
        for (int i = 0; i < q.length; i++) {
            for (int j = 0; j < k.length; j++) {
                for (int c = 0; c < dk; c++) {
                    scores[i][j] += q[i][c] * k[j][c];
                }
            }
        }
        double scale = 1 / Math.sqrt(dk);
        double[][] scaled = new double[q.length][k.length];
        double[][] weights = new double[q.length][];
        for (int i = 0; i < q.length; i++) {
            for (int j = 0; j < k.length; j++) {
                scaled[i][j] = scores[i][j] * scale;
            }
            weights[i] = ScaledDotProductAttention.attentionWeights(q[i], k);
        }
        double[][] out = ScaledDotProductAttention.attention(q, k, v);

        StringBuilder page = new StringBuilder(HEAD);
        step(page, "1. The inputs", "Each of the " + q.length + " tokens has a query (what it looks for), a key "
                + "(what it offers to be found by) and a value (what it passes on), each a row of " + dk
                + " numbers. Here every token's query equals its key.",
                heatmap("Q (queries)", q, "q", "%.0f") + heatmap("K (keys)", k, "k", "%.0f")
                        + heatmap("V (values)", v, "v", "%.0f"));
        step(page, "2. Dot products Q K<sup>T</sup>", "Every query meets every key: score[i][j] is the dot "
                + "product of query i and key j, large when they point the same way. For example score[0][0] = "
                + dot(q[0], k[0]) + " = " + fmt(scores[0][0], "%.0f") + ".",
                heatmap("Q K^T (query i, key j)", scores, "q", "%.0f"));
        step(page, "3. Scaling by 1/&radic;d<sub>k</sub>", "Dividing by &radic;" + dk + " = " + fmt(Math.sqrt(dk), "%.0f")
                + " keeps the scores' spread the same whatever the width d<sub>k</sub>, so the softmax does not "
                + "saturate on wide vectors.", heatmap("Q K^T / sqrt(" + dk + ")", scaled, "q", "%.2f"));
        step(page, "4. Softmax over each row", "Each row becomes weights: exp of each score divided by the row's "
                + "sum of exps. They are positive and each row sums to 1. Row 0: " + softmaxRow(scaled[0], weights[0])
                + ".", heatmap("weights = softmax(scaled scores)", weights, "q", "%.3f"));
        step(page, "5. Weighted sum of the values", "Each output row mixes the value rows with that token's "
                + "weights. Row 0 = " + mix(weights[0], v) + " = " + Basics.row(out[0], "%.3f") + ".",
                heatmap("weights", weights, "q", "%.3f") + heatmap("V", v, "v", "%.0f")
                        + heatmap("output = weights V", out, "out", "%.3f"));
        page.append(TAIL);
        Files.writeString(html, page, StandardCharsets.UTF_8);
        return html;
    }

    private static void step(StringBuilder page, String title, String text, String figures) {
        page.append("<section class=\"step\"><h2>").append(title).append("</h2><p>").append(text)
                .append("</p><div class=\"figs\">").append(figures).append("</div></section>\n");
    }

    /** An SVG heatmap of m, white (the matrix's minimum) to dark blue (its maximum), numbers in the cells. */
    private static String heatmap(String title, double[][] m, String rowLabel, String format) {
        double min = Double.POSITIVE_INFINITY, max = Double.NEGATIVE_INFINITY;
        for (double[] r : m) {
            for (double x : r) {
                min = Math.min(min, x);
                max = Math.max(max, x);
            }
        }
        int cols = m[0].length, height = TITLE_H + m.length * CELL_H + 2;
        int width = LABEL_W + Math.max(cols * CELL_W, 8 * title.length()) + 2; // room for the title
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT,
                "<svg width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"%s\"><text x=\"%d\" y=\"16\" class=\"t\">%s</text>",
                width, height, title, LABEL_W, title));
        for (int j = 0; j < cols; j++) {
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" class=\"l\">%d</text>",
                    LABEL_W + j * CELL_W + CELL_W / 2, TITLE_H - 6, j));
        }
        for (int i = 0; i < m.length; i++) {
            int y = TITLE_H + i * CELL_H;
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" class=\"l\">%s%d</text>", LABEL_W / 2,
                    y + CELL_H / 2 + 5, rowLabel, i));
            for (int j = 0; j < cols; j++) {
                double t = max > min ? (m[i][j] - min) / (max - min) : 0.5;
                s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                                + "fill=\"rgb(%d,%d,%d)\"/><text x=\"%d\" y=\"%d\" class=\"%s\">%s</text>",
                        LABEL_W + j * CELL_W, y, CELL_W, CELL_H, Math.round(255 * (1 - 0.8 * t)),
                        Math.round(255 * (1 - 0.55 * t)), Math.round(255 * (1 - 0.2 * t)),
                        LABEL_W + j * CELL_W + CELL_W / 2, y + CELL_H / 2 + 5, t > 0.6 ? "v w" : "v",
                        fmt(m[i][j], format)));
            }
        }
        return s.append("</svg>").toString();
    }

    private static String dot(double[] a, double[] b) {
        StringBuilder s = new StringBuilder();
        for (int c = 0; c < a.length; c++) {
            s.append(c > 0 ? " + " : "").append(fmt(a[c], "%.0f")).append("&middot;").append(fmt(b[c], "%.0f"));
        }
        return s.toString();
    }

    private static String softmaxRow(double[] scores, double[] weights) {
        StringBuilder sum = new StringBuilder();
        for (int j = 0; j < scores.length; j++) {
            sum.append(j > 0 ? " + " : "").append("e<sup>").append(fmt(scores[j], "%.2f")).append("</sup>");
        }
        return "weight[0][0] = e<sup>" + fmt(scores[0], "%.2f") + "</sup> / (" + sum + ") = "
                + fmt(weights[0], "%.3f") + ", and the row is " + Basics.row(weights, "%.3f");
    }

    private static String mix(double[] w, double[][] v) {
        StringBuilder s = new StringBuilder();
        for (int j = 0; j < v.length; j++) {
            s.append(j > 0 ? " + " : "").append(fmt(w[j], "%.3f")).append("&middot;").append(Basics.row(v[j], "%.0f"));
        }
        return s.toString();
    }

    private static String fmt(double x, String format) {
        return String.format(Locale.ROOT, format, x);
    }

    private static final String HEAD = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Attention, step by step</title>
            <style>
            body { font-family: sans-serif; max-width: 980px; margin: 24px auto; color: #222; }
            .figs { display: flex; flex-wrap: wrap; gap: 24px; align-items: flex-start; }
            nav { margin: 16px 0; display: flex; gap: 12px; align-items: center; }
            button { font-size: 16px; padding: 6px 18px; }
            svg text.t { font-size: 14px; font-weight: bold; }
            svg text.l { font-size: 13px; fill: #555; text-anchor: middle; }
            svg text.v { font-size: 14px; font-family: monospace; text-anchor: middle; }
            svg text.w { fill: #fff; }
            svg rect { stroke: #ccc; }
            </style></head><body>
            <h1>Attention, step by step: softmax(Q K<sup>T</sup> / &radic;d<sub>k</sub>) V</h1>
            <nav><button id="back">&larr; Back</button><button id="next">Next &rarr;</button>
            <span id="counter"></span></nav>
            """;

    /** Shows one step at a time; the buttons are disabled at either end. */
    private static final String TAIL = """
            <script>
            const steps = document.querySelectorAll('.step');
            const back = document.getElementById('back'), next = document.getElementById('next');
            let current = 0;
            function show(n) {
              current = Math.max(0, Math.min(steps.length - 1, n));
              steps.forEach((s, k) => { s.hidden = k !== current; });
              back.disabled = current === 0;
              next.disabled = current === steps.length - 1;
              document.getElementById('counter').textContent = 'Step ' + (current + 1) + ' of ' + steps.length;
            }
            back.addEventListener('click', () => show(current - 1));
            next.addEventListener('click', () => show(current + 1));
            document.addEventListener('keydown', e => {
              if (e.key === 'ArrowLeft') show(current - 1);
              if (e.key === 'ArrowRight') show(current + 1);
            });
            show(0);
            </script>
            </body></html>
            """;
}
