package org.attn4j.viz;

import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.geom.AffineTransform;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * Attention heatmaps: one or more panels (say, one per head), each a matrix of weights in [0, 1] with the
 * query words down the side and the key words along the top, written as PNG and as SVG from the same
 * layout. Darker means more weight; every cell's value is in the SVG (hover shows it in a browser).
 */
public final class Heatmap {
    /**
     * One matrix to draw.
     *
     * @param title     shown above the panel
     * @param rowLabels one label per row (the queries: the words that look)
     * @param colLabels one label per column (the keys: the words looked at)
     * @param values    {@code [rows][cols]}, expected in [0, 1]; values outside are clamped for colour
     */
    public record Panel(String title, List<String> rowLabels, List<String> colLabels, double[][] values) {
        public Panel {
            if (values.length != rowLabels.size()) {
                throw new IllegalArgumentException("Heatmap panel '" + title + "': " + rowLabels.size()
                        + " row labels for " + values.length + " rows");
            }
            for (int i = 0; i < values.length; i++) {
                if (values[i].length != colLabels.size()) {
                    throw new IllegalArgumentException("Heatmap panel '" + title + "': row " + i + " has "
                            + values[i].length + " values for " + colLabels.size() + " column labels");
                }
            }
        }
    }

    private static final int CELL = 28, PAD = 16, TITLE = 22, FONT = 12;

    private Heatmap() {
    }

    /**
     * Writes {@code base + ".png"} and {@code base + ".svg"} with the panels in a grid of {@code columns}
     * panels per row, under one title.
     *
     * @return the two files written
     */
    public static List<Path> write(Path base, String title, List<Panel> panels, int columns) throws IOException {
        if (panels.isEmpty()) {
            throw new IllegalArgumentException("Nothing to draw: no panels given for " + base);
        }
        if (columns < 1) {
            throw new IllegalArgumentException("columns must be at least 1, given " + columns);
        }
        Layout layout = new Layout(panels, columns);
        Path png = base.resolveSibling(base.getFileName() + ".png");
        Path svg = base.resolveSibling(base.getFileName() + ".svg");
        Path parent = png.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        writePng(png, title, panels, layout);
        Files.writeString(svg, svg(title, panels, layout), StandardCharsets.UTF_8);
        return List.of(png, svg);
    }

    /** Where everything goes: a label margin fitted to the longest word, the same for every panel. */
    private static final class Layout {
        final int columns, rows, labelLeft, labelTop, panelW, panelH, width, height;
        final int maxRows, maxCols;

        Layout(List<Panel> panels, int columns) {
            this.columns = Math.min(columns, panels.size());
            this.rows = (panels.size() + this.columns - 1) / this.columns;
            int longestRow = 1, longestCol = 1, r = 1, c = 1;
            for (Panel p : panels) {
                for (String s : p.rowLabels()) {
                    longestRow = Math.max(longestRow, s.length());
                }
                for (String s : p.colLabels()) {
                    longestCol = Math.max(longestCol, s.length());
                }
                r = Math.max(r, p.values().length);
                c = Math.max(c, p.colLabels().size());
            }
            maxRows = r;
            maxCols = c;
            labelLeft = 8 + longestRow * 7;
            labelTop = 8 + longestCol * 7;
            panelW = labelLeft + maxCols * CELL + PAD;
            panelH = TITLE + labelTop + maxRows * CELL + PAD;
            width = this.columns * panelW + PAD;
            height = TITLE + this.rows * panelH + PAD;
        }

        int x(int panel) {
            return PAD + (panel % columns) * panelW;
        }

        int y(int panel) {
            return TITLE + (panel / columns) * panelH;
        }
    }

    private static Color color(double v) {
        double t = Double.isNaN(v) ? 0 : Math.max(0, Math.min(1, v));
        // white -> dark blue
        int r = (int) Math.round(255 - t * (255 - 8)), g = (int) Math.round(255 - t * (255 - 48));
        int b = (int) Math.round(255 - t * (255 - 107));
        return new Color(r, g, b);
    }

    private static void writePng(Path png, String title, List<Panel> panels, Layout l) throws IOException {
        BufferedImage img = new BufferedImage(l.width, l.height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, l.width, l.height);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
        g.drawString(title, PAD, 16);
        Font font = new Font(Font.SANS_SERIF, Font.PLAIN, FONT);
        for (int p = 0; p < panels.size(); p++) {
            Panel panel = panels.get(p);
            int x0 = l.x(p), y0 = l.y(p);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, FONT));
            g.setColor(Color.BLACK);
            g.drawString(panel.title(), x0, y0 + 14);
            g.setFont(font);
            FontMetrics fm = g.getFontMetrics();
            int gx = x0 + l.labelLeft, gy = y0 + TITLE + l.labelTop;
            for (int i = 0; i < panel.values().length; i++) {
                String s = panel.rowLabels().get(i);
                g.setColor(Color.BLACK);
                g.drawString(s, gx - 4 - fm.stringWidth(s), gy + i * CELL + CELL / 2 + FONT / 2 - 1);
                for (int j = 0; j < panel.colLabels().size(); j++) {
                    g.setColor(color(panel.values()[i][j]));
                    g.fillRect(gx + j * CELL, gy + i * CELL, CELL, CELL);
                }
            }
            g.setColor(Color.LIGHT_GRAY);
            g.drawRect(gx - 1, gy - 1, panel.colLabels().size() * CELL + 1, panel.values().length * CELL + 1);
            g.setColor(Color.BLACK);
            for (int j = 0; j < panel.colLabels().size(); j++) {
                AffineTransform saved = g.getTransform();
                g.translate(gx + j * CELL + CELL / 2 + FONT / 2 - 1, gy - 4);
                g.rotate(-Math.PI / 2);
                g.drawString(panel.colLabels().get(j), 0, 0);
                g.setTransform(saved);
            }
        }
        g.dispose();
        ImageIO.write(img, "png", png.toFile());
    }

    private static String svg(String title, List<Panel> panels, Layout l) {
        StringBuilder s = new StringBuilder();
        s.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                + "font-family=\"sans-serif\" font-size=\"%d\">%n", l.width, l.height, FONT));
        s.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", l.width, l.height));
        s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"16\" font-size=\"14\" font-weight=\"bold\">%s</text>%n",
                PAD, escape(title)));
        for (int p = 0; p < panels.size(); p++) {
            Panel panel = panels.get(p);
            int x0 = l.x(p), y0 = l.y(p), gx = x0 + l.labelLeft, gy = y0 + TITLE + l.labelTop;
            s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">%s</text>%n",
                    x0, y0 + 14, escape(panel.title())));
            for (int i = 0; i < panel.values().length; i++) {
                s.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>%n",
                        gx - 4, gy + i * CELL + CELL / 2 + FONT / 2 - 1, escape(panel.rowLabels().get(i))));
                for (int j = 0; j < panel.colLabels().size(); j++) {
                    double v = panel.values()[i][j];
                    Color c = color(v);
                    s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
                            + "fill=\"#%02x%02x%02x\"><title>%s \u2192 %s: %.4f</title></rect>%n",
                            gx + j * CELL, gy + i * CELL, CELL, CELL, c.getRed(), c.getGreen(), c.getBlue(),
                            escape(panel.rowLabels().get(i)), escape(panel.colLabels().get(j)), v));
                }
            }
            s.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
                    + "stroke=\"lightgray\"/>%n", gx, gy, panel.colLabels().size() * CELL, panel.values().length * CELL));
            for (int j = 0; j < panel.colLabels().size(); j++) {
                int x = gx + j * CELL + CELL / 2 + FONT / 2 - 1, y = gy - 4;
                s.append(String.format(Locale.ROOT, "<text transform=\"translate(%d,%d) rotate(-90)\">%s</text>%n",
                        x, y, escape(panel.colLabels().get(j))));
            }
        }
        return s.append("</svg>\n").toString();
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
