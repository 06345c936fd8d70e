package org.attn4j.train;

import java.io.PrintStream;
import java.util.Locale;

/** A one-line terminal progress bar: steps done, loss, tokens per second and time left. */
public final class ProgressBar {
    private static final int WIDTH = 24;
    private final PrintStream out;
    private final int total;
    private final long start = System.nanoTime();
    private long lastDraw;
    private int done;
    private double loss, tokensPerSecond;
    private String extra = "";

    /** A bar for {@code total} steps, drawn on {@code out}. */
    public ProgressBar(PrintStream out, int total) {
        this.out = out;
        this.total = total;
    }

    /** Records step {@code done} and redraws at most five times a second; {@code extra} ends the line. */
    public void update(int done, double loss, double tokensPerSecond, String extra) {
        this.done = done;
        this.loss = loss;
        this.tokensPerSecond = tokensPerSecond;
        this.extra = extra;
        if (System.nanoTime() - lastDraw >= 200_000_000L || done == total) { // at most five redraws a second
            draw();
        }
    }

    private void draw() {
        long now = System.nanoTime();
        lastDraw = now;
        double elapsed = (now - start) / 1e9;
        double left = done == 0 ? 0 : elapsed / done * (total - done);
        int filled = (int) Math.round((double) WIDTH * done / total);
        out.printf(Locale.ROOT, "\r[%s%s] %d/%d loss %.4f %.0f tok/s left %d:%02d %s", "#".repeat(filled),
                "-".repeat(WIDTH - filled), done, total, loss, tokensPerSecond, (int) left / 60, (int) left % 60, extra);
        out.flush();
    }

    /** Draws the last state (a run can stop early) and ends the line. */
    public void finish() {
        draw();
        out.println();
    }
}
