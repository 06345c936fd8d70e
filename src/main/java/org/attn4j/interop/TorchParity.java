package org.attn4j.interop;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;
import org.attn4j.config.Activation;
import org.attn4j.config.AttentionMask;
import org.attn4j.nn.AttentionGradients;
import org.attn4j.nn.BlockGradients;
import org.attn4j.nn.BlockPass;
import org.attn4j.nn.AttentionPass;
import org.attn4j.nn.Module;
import org.attn4j.nn.MultiHeadAttention;
import org.attn4j.nn.TransformerBlock;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Checks attn4j against PyTorch layers exported as {@link ParityCase}s: loads the weights, runs the
 * case's inputs in its precision on the engine, and compares the output, the attention weights and the gradients.
 *
 * <pre>
 * mvn -q test-compile exec:java -Dexec.mainClass=org.attn4j.interop.TorchParity -Dexec.args="CASE.json ..."
 * </pre>
 * A directory argument checks every {@code *.json} in it. Prints one line per case, {@code PASS} or
 * {@code FAIL}, and exits 0 only if every case passes. Errors are relative to the reference's scale:
 * {@code max|attn4j - torch| / max|torch|} per tensor, the largest over the tensors of each group.
 */
public final class TorchParity {
    /** Relative error allowed for float64 cases. */
    public static final double TOLERANCE_F64 = 1e-8;
    /** Relative error allowed for float32 cases. */
    public static final double TOLERANCE_F32 = 1e-4;

    private static final Map<String, List<String>> FLOAT_INPUTS = Map.of(
            "mha", List.of("query", "key", "value"),
            "encoder_layer", List.of("src"),
            "decoder_layer", List.of("tgt", "memory"));

    /**
     * Errors of one case; a group that the case has no reference for is NaN.
     *
     * @param worst the tensor with the largest error
     */
    public record Result(String name, DataType dataType, double outputErr, double weightsErr, double gradErr,
            String worst) {
        public double tolerance() {
            return dataType == DataType.DOUBLE ? TOLERANCE_F64 : TOLERANCE_F32;
        }

        public boolean passed() {
            return ok(outputErr) && ok(weightsErr) && ok(gradErr);
        }

        private boolean ok(double err) {
            return Double.isNaN(err) || err <= tolerance();
        }

        /** {@code PASS name output_err=... weights_err=... grad_err=...}, or FAIL with the worst tensor. */
        public String line() {
            String s = String.format(Locale.ROOT, "%s %s output_err=%s weights_err=%s grad_err=%s",
                    passed() ? "PASS" : "FAIL", name, fmt(outputErr), fmt(weightsErr), fmt(gradErr));
            return passed() ? s : s + " worst=" + worst + " tolerance=" + fmt(tolerance());
        }

        private static String fmt(double x) {
            return Double.isNaN(x) ? "n/a" : String.format(Locale.ROOT, "%.2e", x);
        }
    }

    private TorchParity() {
    }

    /**
     * Runs one case on the engine (what {@code apply} and {@code Trainer} run): the layer's training pass for the
     * output and weights, its backward for the gradients. Throws {@link ParityCase.FormatException} when the case
     * is malformed.
     */
    public static Result check(ParityCase c) {
        String kind = c.kind();
        DataType type = c.dataType();

        // 1. The inputs, in the case's precision.
        int d = c.integer("d_model"), h = c.integer("nhead");
        Map<String, Integer> widths = Map.of("key", c.integer("kdim", d), "value", c.integer("vdim", d));
        Map<String, INDArray> in = new LinkedHashMap<>();
        for (String input : FLOAT_INPUTS.get(kind)) {
            INDArray x = c.array("in/" + input, 3);
            int width = widths.getOrDefault(input, d);
            if (x.size(2) != width) {
                throw new ParityCase.FormatException(c.name() + ".npz: 'in/" + input + "' has shape "
                        + Arrays.toString(x.shape()) + "; expected [B, T, " + width + "] from the json");
            }
            in.put(input, x.castTo(type));
        }
        INDArray gradOutput = c.has("in/grad_output") ? c.array("in/grad_output", -1).castTo(type) : null;

        // 2. The layer with the case's weights; its forward, and its backward of sum(output * grad_output).
        boolean causal = c.flag("causal", false);
        INDArray output, weights = null;
        Map<String, INDArray> grads = new LinkedHashMap<>(); // attn4j parameter names and input names
        if (kind.equals("mha")) {
            MultiHeadAttention mha = load(c, kind, MultiHeadAttention.create(MultiHeadAttention.Config.of(d, h)
                    .withKeyValueDims(c.integer("kdim", d), c.integer("vdim", d)).withBias(c.flag("bias", true))
                    .withCausal(causal), type));
            AttentionPass pass = mha.train(in.get("query"), in.get("key"), in.get("value"),
                    paddingMask(c, "key_padding_mask", "key", type));
            output = pass.output();
            weights = pass.weights();
            if (gradOutput != null) {
                AttentionGradients g = pass.backward(gradOutput);
                grads.putAll(g.parameters());
                grads.put("query", g.query());
                grads.put("key", g.key());
                grads.put("value", g.value());
            }
        } else {
            boolean decoder = kind.equals("decoder_layer");
            TransformerBlock block = load(c, kind, TransformerBlock.create(TransformerBlock.Config
                    .encoder(d, h, c.integer("dim_feedforward", 2048)).withCrossAttention(decoder)
                    .withActivation(Activation.parse(c.string("activation", "relu")))
                    .withNormFirst(c.flag("norm_first", false)).withCausal(causal)
                    .withEps(c.number("layer_norm_eps", 1e-5)).withBias(c.flag("bias", true)), type));
            try (BlockPass pass = decoder
                    ? block.train(in.get("tgt"), in.get("memory"), paddingMask(c, "tgt_key_padding_mask", "tgt", type),
                            paddingMask(c, "memory_key_padding_mask", "memory", type))
                    : block.train(in.get("src"), paddingMask(c, "src_key_padding_mask", "src", type))) {
                output = pass.output();
                if (gradOutput != null) {
                    BlockGradients g = pass.backward(gradOutput);
                    grads.putAll(g.parameters()); // copies: they outlive the pass
                    grads.put(decoder ? "tgt" : "src", g.input());
                    if (decoder) {
                        grads.put("memory", g.memory());
                    }
                }
            }
        }

        // 3. Compare outputs and weights.
        Errors errors = new Errors();
        double outputErr = errors.add("out/output", output, c.array("out/output", -1));
        double weightsErr = weights != null && c.has("out/weights")
                ? errors.add("out/weights", weights, c.array("out/weights", 4)) : Double.NaN;

        // 4. Gradients of sum(output * grad_output) for every parameter and input, compared per PyTorch tensor as
        //    stored: q, k and v parts of in_proj_* are joined again, so the analytically-zero key-bias gradient is
        //    measured against the whole tensor's scale.
        double gradErr = Double.NaN;
        if (gradOutput != null) {
            gradErr = 0;
            for (Map.Entry<String, INDArray> e : c.group("grad").entrySet()) {
                List<String> parts = in.containsKey(e.getKey()) ? List.of(e.getKey())
                        : new ArrayList<>(TorchNames.toAttn4j(Map.of(e.getKey(), e.getValue()), "").keySet());
                INDArray[] pieces = parts.stream().map(grads::get).toArray(INDArray[]::new);
                INDArray actual = pieces.length == 1 ? pieces[0] : Nd4j.concat(0, pieces);
                gradErr = Math.max(gradErr, errors.add("grad/" + e.getKey(), actual, e.getValue()));
            }
        }
        return new Result(c.name(), type, outputErr, weightsErr, gradErr, errors.worst);
    }

    /** {@code layer} with the case's param/ entries loaded (a FormatException when they do not fit). */
    private static <M extends Module> M load(ParityCase c, String kind, M layer) {
        try {
            layer.loadParameters(TorchNames.toAttn4j(c.group("param"), ""));
        } catch (IllegalArgumentException e) {
            throw new ParityCase.FormatException(c.name() + ".npz: the param/ entries do not fit a " + kind
                    + " with this configuration: " + e.getMessage());
        }
        return layer;
    }

    /** A PyTorch key padding mask (1.0 = padded) as attn4j's keep mask (1 = real token). */
    private static AttentionMask<INDArray> paddingMask(ParityCase c, String input, String keys, DataType type) {
        if (!c.has("in/" + input)) {
            return AttentionMask.none();
        }
        INDArray padded = c.array("in/" + input, 2).castTo(type);
        long[] keyShape = c.array("in/" + keys, 3).shape();
        if (padded.size(0) != keyShape[0] || padded.size(1) != keyShape[1]) {
            throw new ParityCase.FormatException(c.name() + ".npz: 'in/" + input + "' has shape "
                    + Arrays.toString(padded.shape()) + "; expected [" + keyShape[0] + ", " + keyShape[1]
                    + "] to match 'in/" + keys + "'");
        }
        return AttentionMask.ofPadding(padded.rsub(1.0));
    }

    /** Largest relative errors seen so far, and where. */
    private static final class Errors {
        double max = -1;
        String worst = "none";

        double add(String what, INDArray actual, INDArray expected) {
            if (actual == null || !Arrays.equals(actual.shape(), expected.shape())) {
                throw new IllegalStateException(what + ": attn4j gave shape "
                        + (actual == null ? "nothing" : Arrays.toString(actual.shape()))
                        + ", PyTorch " + Arrays.toString(expected.shape()));
            }
            INDArray e = expected.castTo(DataType.DOUBLE);
            double scale = Math.max(e.amaxNumber().doubleValue(), 1e-12);
            double err = actual.castTo(DataType.DOUBLE).sub(e).amaxNumber().doubleValue() / scale;
            if (Double.isNaN(err)) {
                err = Double.POSITIVE_INFINITY;
            }
            if (err > max) {
                max = err;
                worst = what;
            }
            return err;
        }
    }

    /** Checks each case named (or each *.json in each directory named); exits 1 if any fails. */
    public static void main(String[] args) {
        System.exit(run(args, System.out));
    }

    /** What {@link #main} does, printing to {@code out}; returns the exit code. */
    public static int run(String[] args, PrintStream out) {
        if (args.length == 0) {
            out.println("Usage: TorchParity CASE.json|DIRECTORY ...");
            return 2;
        }
        List<Path> cases = new ArrayList<>();
        for (String arg : args) {
            Path p = Path.of(arg);
            if (Files.isDirectory(p)) {
                try (Stream<Path> s = Files.list(p)) {
                    s.filter(f -> f.toString().endsWith(".json")).sorted().forEach(cases::add);
                } catch (IOException e) {
                    out.println("FAIL " + p + ": cannot list the directory (" + e.getMessage() + ")");
                    return 1;
                }
            } else {
                cases.add(p);
            }
        }
        int failed = 0;
        for (Path p : cases) {
            try {
                Result r = check(ParityCase.load(p));
                out.println(r.line());
                failed += r.passed() ? 0 : 1;
            } catch (RuntimeException e) {
                out.println("FAIL " + p + ": " + e.getMessage());
                failed++;
            }
        }
        out.printf(Locale.ROOT, "%d passed, %d failed%n", cases.size() - failed, failed);
        return failed == 0 ? 0 : 1;
    }
}
