package org.attn4j.samediff;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * SameDiff's gradients, without the "Added differentiated op ..." line that SameDiff M2.1 prints to
 * standard output for every op the first time it builds the gradient graph.
 */
public final class Gradients {
    private static final String NOISE = "Added differentiated op ";

    private Gradients() {
    }

    /** Builds the gradient graph of sd's loss variables once (fit and calculateGradients reuse it). */
    public static synchronized void build(SameDiff sd) {
        if (sd.getFunction("grad") != null) {
            return;
        }
        PrintStream original = System.out;
        System.setOut(new PrintStream(new LineFilter(original), true, StandardCharsets.UTF_8));
        try {
            sd.createGradFunction();
        } finally {
            System.out.flush();
            System.setOut(original);
        }
    }

    /** Gradients of sd's loss with respect to the named variables (not placeholders). */
    public static Map<String, INDArray> of(SameDiff sd, Map<String, INDArray> placeholders, String... variables) {
        build(sd);
        return sd.calculateGradients(placeholders, variables);
    }

    /** Passes every line through except SameDiff's per-op notices. */
    private static final class LineFilter extends OutputStream {
        private final PrintStream target;
        private final StringBuilder line = new StringBuilder();

        LineFilter(PrintStream target) {
            this.target = target;
        }

        @Override
        public void write(int b) {
            line.append((char) b);
            if (b == '\n') {
                if (!line.toString().startsWith(NOISE)) {
                    target.print(line);
                }
                line.setLength(0);
            }
        }

        @Override
        public void flush() {
            if (line.length() > 0 && !NOISE.startsWith(line.toString())) {
                target.print(line);
                line.setLength(0);
            }
            target.flush();
        }
    }
}
