package org.attn4j.bench;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.listeners.profiler.ProfilingListener;
import org.nd4j.autodiff.samediff.SameDiff;

/**
 * Where a SameDiff step spends its time, by op type: SameDiff's own {@link ProfilingListener} records
 * every executed op's duration (a Chrome trace), and this sums them per op type. The gap between the
 * step's time and the ops' sum is SameDiff's bookkeeping between ops.
 */
final class OpProfile {
    /** Time of one op type per step. */
    record Row(String op, double msPerStep, double callsPerStep) {
    }

    /** The ops' total time per step and the rows, slowest first. */
    record Result(double opMsPerStep, List<Row> rows) {
    }

    private OpProfile() {
    }

    static Result run(SameDiff sd, Runnable step, int steps) throws IOException {
        File dir = Files.createTempDirectory("attn4j-ops").toFile();
        File trace = new File(dir, "trace.json"); // the listener refuses a file that exists
        trace.deleteOnExit();
        dir.deleteOnExit();
        ProfilingListener listener = ProfilingListener.builder(trace).recordAll().warmup(0).build();
        sd.addListeners(listener);
        try {
            for (int i = 0; i < steps; i++) {
                step.run();
            }
        } finally {
            sd.getListeners().remove(listener);
        }
        // The listener flushes after every operation and leaves the JSON array open: close it here.
        String json = Files.readString(trace.toPath()).strip();
        json = (json.endsWith(",") ? json.substring(0, json.length() - 1) : json) + "]";
        Map<String, double[]> byOp = new HashMap<>(); // op -> {microseconds, calls}
        double total = 0;
        JsonArray events = JsonParser.parseString(json).getAsJsonArray();
        for (JsonElement e : events) {
            JsonObject o = e.getAsJsonObject();
            if (!"X".equals(o.get("ph").getAsString())) {
                continue;
            }
            double us = o.get("dur").getAsDouble();
            double[] acc = byOp.computeIfAbsent(o.get("name").getAsString(), k -> new double[2]);
            acc[0] += us;
            acc[1]++;
            total += us;
        }
        List<Row> rows = new ArrayList<>();
        byOp.forEach((op, acc) -> rows.add(new Row(op, acc[0] / 1e3 / steps, acc[1] / steps)));
        rows.sort((a, b) -> Double.compare(b.msPerStep(), a.msPerStep()));
        return new Result(total / 1e3 / steps, rows);
    }
}
