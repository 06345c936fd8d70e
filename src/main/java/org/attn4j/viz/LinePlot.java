package org.attn4j.viz;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import javax.imageio.ImageIO;

/** A PNG line plot of one or more series against a shared x axis, each series scaled to its own y range. */
public final class LinePlot {
    private static final Color[] COLORS = {new Color(31, 119, 180), new Color(214, 39, 40), new Color(44, 160, 44),
        new Color(148, 103, 189)};
    private static final int W = 900, H = 300, LEFT = 70, RIGHT = 20, TOP = 30, BOTTOM = 40;

    private LinePlot() {
    }

    /**
     * Writes one panel per series, stacked.
     *
     * @param series name to (x, y) points; NaN y values are skipped
     */
    public static void write(Path png, String title, String xLabel, Map<String, double[][]> series) throws IOException {
        if (series.isEmpty()) {
            throw new IllegalArgumentException("Nothing to plot: no series given for " + png);
        }
        BufferedImage img = new BufferedImage(W, H * series.size(), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, img.getWidth(), img.getHeight());
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        int panel = 0;
        for (Map.Entry<String, double[][]> e : new LinkedHashMap<>(series).entrySet()) {
            draw(g, panel * H, panel == 0 ? title : null, e.getKey(), xLabel, e.getValue(), COLORS[panel % COLORS.length]);
            panel++;
        }
        g.dispose();
        Path parent = png.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        ImageIO.write(img, "png", png.toFile());
    }

    private static void draw(Graphics2D g, int y0, String title, String name, String xLabel, double[][] points, Color c) {
        double minX = Double.POSITIVE_INFINITY, maxX = Double.NEGATIVE_INFINITY;
        double minY = Double.POSITIVE_INFINITY, maxY = Double.NEGATIVE_INFINITY;
        for (double[] p : points) {
            if (!Double.isNaN(p[1])) {
                minX = Math.min(minX, p[0]);
                maxX = Math.max(maxX, p[0]);
                minY = Math.min(minY, p[1]);
                maxY = Math.max(maxY, p[1]);
            }
        }
        int pw = W - LEFT - RIGHT, ph = H - TOP - BOTTOM;
        g.setColor(Color.BLACK);
        if (title != null) {
            g.drawString(title, LEFT, y0 + 18);
        }
        g.drawRect(LEFT, y0 + TOP, pw, ph);
        g.drawString(name, LEFT + 8, y0 + TOP + 16);
        g.drawString(xLabel, LEFT + pw / 2 - 20, y0 + H - 8);
        if (minX > maxX) {
            g.drawString("(no data)", LEFT + pw / 2 - 25, y0 + TOP + ph / 2);
            return;
        }
        if (maxY == minY) {
            maxY = minY + 1;
        }
        if (maxX == minX) {
            maxX = minX + 1;
        }
        g.drawString(String.format(Locale.ROOT, "%.3g", maxY), 5, y0 + TOP + 10);
        g.drawString(String.format(Locale.ROOT, "%.3g", minY), 5, y0 + TOP + ph);
        g.drawString(String.format(Locale.ROOT, "%.0f", minX), LEFT, y0 + TOP + ph + 15);
        g.drawString(String.format(Locale.ROOT, "%.0f", maxX), LEFT + pw - 30, y0 + TOP + ph + 15);
        g.setColor(c);
        g.setStroke(new BasicStroke(1.5f));
        int px = -1, py = -1;
        for (double[] p : points) {
            if (Double.isNaN(p[1])) {
                continue;
            }
            int x = LEFT + (int) Math.round((p[0] - minX) / (maxX - minX) * pw);
            int y = y0 + TOP + ph - (int) Math.round((p[1] - minY) / (maxY - minY) * ph);
            if (px >= 0) {
                g.drawLine(px, py, x, y);
            } else {
                g.fillOval(x - 2, y - 2, 4, 4);
            }
            px = x;
            py = y;
        }
    }
}
