package org.attn4j.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.attn4j.data.Vocabulary;
import org.attn4j.io.Checkpoint;
import org.attn4j.io.CheckpointException;
import org.attn4j.model.LanguageModel;
import org.attn4j.model.ModelConfig;
import org.attn4j.testing.CraftedFiles;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Hundreds of crafted checkpoints that are internally consistent (every checksum recomputed after the
 * change) but lie about sizes: each is refused with one CheckpointException that names the file and
 * says what was expected and found, before any model is built, with little allocated. Seeded.
 */
class CraftedCheckpointTest {
    private static final Gson GSON = new GsonBuilder().setPrettyPrinting().create();
    private static final Pattern SHAPE_MISMATCH = Pattern.compile("weights\\.npz does not fit .*model\\.json: parameter '"
            + "[\\w.]+' (expected shape \\[[\\d, ]+\\], found \\[[\\d, -]*\\]|is missing \\(expected shape \\[[\\d, ]+\\]\\)"
            + "|expected floating point, found \\w+)");
    private static final List<String> BUILDERS = List.of("org.attn4j.model.TransformerModel",
            "org.attn4j.model.LanguageModel", "org.attn4j.model.Seq2SeqTransformer");
    private static final String[] SIZES = {"dModel", "ffDim", "heads", "sourceVocab", "targetVocab", "encoderLayers",
        "decoderLayers", "maxLen"};

    /** A checkpoint taken apart: its model.json and its weights' npy entries, in file order. */
    private record Base(String name, JsonObject json, LinkedHashMap<String, byte[]> entries) {
        JsonObject config() {
            return json.getAsJsonObject("config");
        }
    }

    /** One variant: a description, the files it changes, and what its refusal must say. */
    private record Variant(String what, JsonObject json, LinkedHashMap<String, byte[]> entries, Pattern says) {
    }

    @Test
    void everyCraftedCheckpointIsRefusedBeforeAnythingIsBuilt(@TempDir Path root) throws IOException {
        Nd4j.getRandom().setSeed(22);
        Path lmDir = root.resolve("lm-base");
        Vocabulary vocab = new Vocabulary(List.of("a", "b", "c", "d", "e"));
        Checkpoint.save(lmDir, new LanguageModel(ModelConfig.languageModel(vocab.size(), 8, 2, 16, 2, 12)), null,
                vocab, 1, null);
        List<Base> bases = List.of(base("translate", Path.of("models/translate")), base("lm", lmDir));
        Random rnd = new Random(22);
        List<Variant> variants = new ArrayList<>();
        for (Base b : bases) {
            configVariants(b, rnd, variants);
            npzVariants(b, rnd, variants);
        }
        assertTrue(variants.size() >= 400, variants.size() + " variants");
        long start = System.nanoTime();
        Map<String, Integer> kinds = new java.util.TreeMap<>();
        int n = 0;
        long mostUsed = 0, largest = 0;
        for (Variant v : variants) {
            Path dir = root.resolve("v" + n++);
            long bytes = write(dir, v);
            long before = allocated();
            try {
                Checkpoint.load(dir);
                fail(v.what() + ": a crafted checkpoint loaded");
            } catch (CheckpointException e) {
                long used = allocated() - before;
                assertTrue(e.getMessage().contains(dir.toString()), v.what() + ": no file named in " + e.getMessage());
                assertTrue(v.says().matcher(e.getMessage()).find(), v.what() + ": '" + e.getMessage()
                        + "' should match " + v.says());
                assertEquals(1, e.getMessage().lines().count(), v.what() + ": one line");
                for (Throwable t = e; t != null; t = t.getCause()) {
                    assertTrue(Arrays.stream(t.getStackTrace()).noneMatch(f -> BUILDERS.contains(f.getClassName())),
                            v.what() + ": refused only after building the model: " + e.getMessage());
                }
                // Heap allocated while loading: the files are read about three times (checksum, zip entry,
                // typed array); a built model or a computed table would be far more.
                assertTrue(used < 4 * bytes + (8 << 20), v.what() + ": allocated " + used + " bytes for files of " + bytes);
                kinds.merge(v.what().replaceAll("^(\\S+ [^ =]+).*", "$1"), 1, Integer::sum);
                mostUsed = Math.max(mostUsed, used);
                largest = Math.max(largest, bytes);
            }
            deleteTree(dir);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("%d crafted checkpoints refused before building, in %.1f s, each allocating at most %.1f MB "
                + "(files up to %.1f MB): %s%n", variants.size(), seconds, mostUsed / 1e6, largest / 1e6, kinds);
        assertTrue(seconds < 60, seconds + " s");
    }

    /** Each size field set to other values, and every structural choice flipped, one change at a time. */
    private static void configVariants(Base b, Random rnd, List<Variant> out) {
        JsonObject c = b.config();
        int dModel = c.get("dModel").getAsInt(), heads = c.get("heads").getAsInt();
        String positions = c.get("positions").getAsString();
        for (String field : SIZES) {
            int original = c.get(field).getAsInt();
            for (int i = 0; i < 21; i++) {
                long candidate = switch (i % 7) {
                    case 0 -> original + 1 + rnd.nextInt(3);
                    case 1 -> original - 1 - rnd.nextInt(3);
                    case 2 -> (long) original * (2 + rnd.nextInt(3));
                    case 3 -> 1L << (20 + rnd.nextInt(11));
                    case 4 -> Integer.MAX_VALUE - rnd.nextInt(3);
                    case 5 -> -rnd.nextInt(1 << 20);
                    default -> rnd.nextInt(Math.max(1, original * 3));
                };
                int value = (int) candidate;
                boolean rotary = positions.equals("ROTARY");
                boolean harmless = value == original
                        || field.equals("heads") && value > 0 && dModel % value == 0 && (!rotary || dModel / value % 2 == 0)
                        || field.equals("maxLen") && !positions.equals("LEARNED") && value > 0
                                && (long) value * dModel <= 1 << 20;
                if (harmless) { // a valid model of the same shapes: nothing to refuse
                    continue;
                }
                boolean invalid = value <= 0 || (field.equals("sourceVocab") || field.equals("encoderLayers")) && original == 0
                        || field.equals("heads") && (dModel % value != 0 || rotary && dModel / value % 2 != 0)
                        || field.equals("dModel") && (value % heads != 0 || rotary && value / heads % 2 != 0);
                boolean vocabulary = field.endsWith("Vocab") && b.json().has(field.replace("Vocab", "Vocabulary"));
                String says = invalid ? "model\\.json: invalid config \\(.+\\)" // ModelConfig's own reason
                        : vocabulary ? "model\\.json: " + field.replace("Vocab", "Vocabulary") + " has \\d+ tokens, the "
                                + "config's vocabulary " + value
                        : field.equals("maxLen") && !positions.equals("LEARNED") ? "model\\.json: sinusoidal positions "
                                + "\\[maxLen " + value + ", dModel " + dModel + "\\] would be computed"
                        : SHAPE_MISMATCH.pattern() + "|unexpected parameter";
                out.add(config(b, "config " + field + "=" + value, says, o -> o.addProperty(field, value)));
            }
        }
        out.add(config(b, "config dModel=1048576 ffDim=4194304 (as reported)", SHAPE_MISMATCH.pattern(), o -> {
            o.addProperty("dModel", 1_048_576);
            o.addProperty("ffDim", 4_194_304);
        }));
        for (String p : List.of("SINUSOIDAL", "LEARNED", "ROTARY", "NONE")) {
            boolean learned = positions.equals("LEARNED");
            if (!p.equals(positions) && (learned || p.equals("LEARNED"))) {
                out.add(config(b, "config positions=" + p, learned ? "unexpected parameter 'positions\\.weight'"
                        : "parameter 'positions\\.weight' is missing", o -> o.addProperty("positions", p)));
            }
        }
        String activation = c.get("activation").getAsString();
        out.add(config(b, "config activation=" + (activation.equals("SWIGLU") ? "GELU" : "SWIGLU"),
                activation.equals("SWIGLU") ? "unexpected parameter '.*gate" : "parameter '.*ff\\.gate\\.weight' is missing",
                o -> o.addProperty("activation", activation.equals("SWIGLU") ? "GELU" : "SWIGLU")));
        out.add(config(b, "config activation=BOGUS", "invalid config \\(activation is required", o -> o.addProperty("activation", "BOGUS")));
        boolean normFirst = c.get("normFirst").getAsBoolean(), tied = c.get("tieEmbeddings").getAsBoolean();
        out.add(config(b, "config normFirst flipped", normFirst ? "unexpected parameter '(encoder|decoder)\\.norm\\.(weight|bias)'"
                : "parameter '(encoder|decoder)\\.norm\\.weight' is missing", o -> o.addProperty("normFirst", !normFirst)));
        out.add(config(b, "config tieEmbeddings flipped", tied ? "parameter 'head\\.weight' is missing"
                : "unexpected parameter 'head\\.", o -> o.addProperty("tieEmbeddings", !tied)));
        for (String type : List.of("INT", "LONG", "BOOL", "UTF8", "BYTE", "bogus", "")) {
            String says = type.equals("bogus") || type.isEmpty() ? "malformed \\(No enum constant"
                    : "dataType " + type + " is not a floating-point type";
            out.add(json(b, "dataType=" + type, says, j -> j.addProperty("dataType", type)));
        }
        boolean seq2seq = b.json().get("kind").getAsString().equals("seq2seq");
        out.add(json(b, "kind flipped", "kind " + (seq2seq ? "language_model has no" : "seq2seq needs") + " encoder",
                j -> j.addProperty("kind", seq2seq ? "language_model" : "seq2seq")));
        out.add(json(b, "kind=bogus", "expected a config and kind", j -> j.addProperty("kind", "bogus")));
        out.add(json(b, "config removed", "expected a config and kind .* found no config", j -> j.remove("config")));
        out.add(json(b, "step removed", "model\\.json: has no \"step\"", j -> j.remove("step")));
    }

    /** Entries re-shaped, re-typed, removed, added, or given headers their data cannot fill. */
    private static void npzVariants(Base b, Random rnd, List<Variant> out) {
        List<String> names = new ArrayList<>(b.entries().keySet());
        for (int i = 0; i < 140; i++) {
            String name = names.get(rnd.nextInt(names.size()));
            Npy npy = Npy.of(b.entries().get(name));
            long[] shape = npy.shape();
            long count = Arrays.stream(shape).reduce(1, (x, y) -> x * y);
            String param = Pattern.quote(name);
            switch (i % 7) {
                case 0 -> { // the same bytes under another consistent shape
                    long[] other = shape.length == 2 && shape[0] != shape[1] ? new long[] {shape[1], shape[0]}
                            : new long[] {count, 1};
                    out.add(npz(b, "npz reshape " + name, "parameter '" + param + "' expected shape "
                            + Pattern.quote(Arrays.toString(shape)) + ", found " + Pattern.quote(Arrays.toString(other)),
                            name, npy.withHeader("<f4", other)));
                }
                case 1 -> out.add(npz(b, "npz int32 " + name, "parameter '" + param
                        + "' expected floating point, found INT", name, npy.withHeader("<i4", shape)));
                case 2 -> { // another supported dtype that the same bytes fill with another shape
                    String[] types = {"<f8", "<f2", "|b1", "|u1", "|i1", "<i2", "<i8"};
                    int[] widths = {8, 2, 1, 1, 1, 2, 8};
                    int t = rnd.nextInt(types.length);
                    long[] other = {count * 4 / widths[t]};
                    if (count * 4 % widths[t] != 0) {
                        continue;
                    }
                    out.add(npz(b, "npz dtype " + types[t] + " " + name, "parameter '" + param + "' expected "
                            + "shape " + Pattern.quote(Arrays.toString(shape)) + ", found \\[" + other[0] + "\\]", name,
                            npy.withHeader(types[t], other)));
                }
                case 3 -> {
                    String type = List.of("<u4", "<c8", "|O", "<U1", "<M8[s]", ">u2").get(rnd.nextInt(6));
                    out.add(npz(b, "npz unsupported " + type + " " + name, "weights\\.npz: entry '"
                            + param + "\\.npy' has dtype '" + Pattern.quote(type) + "'", name,
                            npy.withHeader(type, shape)));
                }
                case 4 -> { // a shape the data cannot fill, often with a byte count past any long
                    long[] other = new long[1 + rnd.nextInt(3)];
                    for (int d = 0; d < other.length; d++) {
                        other[d] = rnd.nextBoolean() ? 1L << (16 + rnd.nextInt(46)) : 1 + rnd.nextInt(1000);
                    }
                    if (Arrays.stream(other).reduce(1, (x, y) -> x * y) == count) {
                        continue;
                    }
                    out.add(npz(b, "npz shape " + Arrays.toString(other) + " " + name, "entry '" + param
                            + "\\.npy' \\(<f4 " + Pattern.quote(Arrays.toString(other)) + "\\) needs (more than 2\\^63|\\d+) "
                            + "bytes", name, npy.withHeader("<f4", other)));
                }
                case 5 -> {
                    LinkedHashMap<String, byte[]> e = new LinkedHashMap<>(b.entries());
                    e.remove(name);
                    out.add(new Variant(b.name() + " npz remove " + name, b.json(), e, Pattern.compile("parameter '" + param
                            + "' is missing \\(expected shape " + Pattern.quote(Arrays.toString(shape)) + "\\)")));
                }
                default -> {
                    LinkedHashMap<String, byte[]> e = new LinkedHashMap<>(b.entries());
                    e.put(name + ".extra", b.entries().get(name));
                    out.add(new Variant(b.name() + " npz extra " + name, b.json(), e, Pattern.compile("unexpected parameter '"
                            + param + "\\.extra' " + Pattern.quote(Arrays.toString(shape)))));
                }
            }
        }
    }

    /** A base's npy entry: header fields and data. */
    private record Npy(String header, byte[] data) {
        static Npy of(byte[] npy) {
            ByteBuffer b = ByteBuffer.wrap(npy).order(ByteOrder.LITTLE_ENDIAN);
            int start = npy[6] == 1 ? 10 : 12, length = npy[6] == 1 ? b.getShort(8) & 0xffff : b.getInt(8);
            return new Npy(new String(npy, start, length, StandardCharsets.ISO_8859_1),
                    Arrays.copyOfRange(npy, start + length, npy.length));
        }

        long[] shape() {
            Matcher m = Pattern.compile("'shape': \\(([^)]*)\\)").matcher(header);
            assertTrue(m.find(), header);
            return Arrays.stream(m.group(1).split(",")).filter(s -> !s.isBlank()).mapToLong(s -> Long.parseLong(s.strip()))
                    .toArray();
        }

        byte[] withHeader(String descr, long[] shape) {
            String dims = String.join(", ", Arrays.stream(shape).mapToObj(Long::toString).toList());
            return CraftedFiles.npy(CraftedFiles.header(descr, false, shape.length == 1 ? dims + "," : dims), data);
        }
    }

    private static Variant config(Base b, String what, String says, Consumer<JsonObject> change) {
        return json(b, what, says, j -> change.accept(j.getAsJsonObject("config")));
    }

    private static Variant json(Base b, String what, String says, Consumer<JsonObject> change) {
        JsonObject j = b.json().deepCopy();
        change.accept(j);
        return new Variant(b.name() + " " + what, j, b.entries(), Pattern.compile(says));
    }

    private static Variant npz(Base b, String what, String says, String entry, byte[] npy) {
        LinkedHashMap<String, byte[]> e = new LinkedHashMap<>(b.entries());
        e.put(entry, npy);
        return new Variant(b.name() + " " + what, b.json(), e, Pattern.compile(says));
    }

    private static Base base(String name, Path dir) throws IOException {
        Path folder = dir.resolve(Files.readString(dir.resolve(Checkpoint.LATEST)).split(" ")[0]);
        JsonObject json = JsonParser.parseString(Files.readString(folder.resolve("model.json"))).getAsJsonObject();
        LinkedHashMap<String, byte[]> entries = new LinkedHashMap<>();
        try (ZipFile zip = new ZipFile(folder.resolve("weights.npz").toFile())) {
            for (Enumeration<? extends ZipEntry> e = zip.entries(); e.hasMoreElements();) {
                ZipEntry entry = e.nextElement();
                entries.put(entry.getName().replaceFirst("\\.npy$", ""), zip.getInputStream(entry).readAllBytes());
            }
        }
        return new Base(name, json, entries);
    }

    /** Writes a self-consistent checkpoint: weights, their checksum in model.json, its checksum in LATEST. */
    private static long write(Path dir, Variant v) throws IOException {
        byte[] weights = CraftedFiles.npz(v.entries());
        JsonObject json = v.json().deepCopy();
        JsonObject files = new JsonObject();
        files.addProperty("weights.npz", CraftedFiles.sha256(weights));
        json.add("files", files);
        byte[] model = GSON.toJson(json).getBytes(StandardCharsets.UTF_8);
        Path folder = Files.createDirectories(dir.resolve("ckpt-00000001-0000abcd"));
        Files.write(folder.resolve("weights.npz"), weights);
        Files.write(folder.resolve("model.json"), model);
        Files.writeString(dir.resolve(Checkpoint.LATEST), folder.getFileName() + " " + CraftedFiles.sha256(model) + "\n");
        return weights.length + model.length;
    }

    private static long allocated() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
