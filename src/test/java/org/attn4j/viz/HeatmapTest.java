package org.attn4j.viz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.NodeList;

class HeatmapTest {
    @TempDir
    Path dir;

    @Test
    void drawsEveryCellInBothFormats() throws Exception {
        List<String> words = List.of("le", "chat", "<noir>");
        double[][] identity = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}};
        double[][] half = {{0.5, 0.5, 0}, {0, 0.5, 0.5}, {0.5, 0, 0.5}};
        List<Path> files = Heatmap.write(dir.resolve("sub/attn"), "a & b", List.of(
                new Heatmap.Panel("head 0", words, words, identity),
                new Heatmap.Panel("head 1", words, words, half)), 2);
        assertEquals(List.of(dir.resolve("sub/attn.png"), dir.resolve("sub/attn.svg")), files);

        BufferedImage img = ImageIO.read(files.get(0).toFile());
        int darkest = 0xff000000 | (8 << 16) | (48 << 8) | 107;
        int dark = 0;
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                dark += img.getRGB(x, y) == darkest ? 1 : 0;
            }
        }
        assertEquals(3 * 28 * 28, dark, "three full-weight cells of 28x28 pixels, in the identity panel only");

        Document svg = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(files.get(1).toFile());
        NodeList titles = svg.getElementsByTagName("title");
        assertEquals(18, titles.getLength(), "one hover value per cell of both panels");
        assertEquals("chat \u2192 chat: 1.0000", titles.item(4).getTextContent());
        assertTrue(titles.item(9).getTextContent().endsWith("0.5000"), titles.item(9).getTextContent());
    }

    @Test
    void refusesLabelsThatDoNotFitTheMatrix() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Heatmap.Panel("p", List.of("a", "b"), List.of("x"), new double[][] {{1}}));
        assertTrue(e.getMessage().contains("2 row labels for 1 rows"), e.getMessage());
    }
}
