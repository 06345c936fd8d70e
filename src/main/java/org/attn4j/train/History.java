package org.attn4j.train;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

/** What a training run did, step by step: loss, learning rate, gradient norm, speed, and evaluations. */
public final class History {
    /**
     * @param metric the validation metric when this step was evaluated, else NaN
     */
    public record Row(int step, double loss, double learningRate, double gradNorm, double tokensPerSecond,
            double seconds, double metric) {
    }

    private final List<Row> rows = new ArrayList<>();

    void add(Row row) {
        rows.add(row);
    }

    void setMetric(double metric) {
        Row last = rows.remove(rows.size() - 1);
        rows.add(new Row(last.step(), last.loss(), last.learningRate(), last.gradNorm(), last.tokensPerSecond(),
                last.seconds(), metric));
    }

    public List<Row> rows() {
        return Collections.unmodifiableList(rows);
    }

    /** The loss, learning rate and (where evaluated) metric by step, for plotting. */
    public java.util.Map<String, double[][]> series() {
        java.util.Map<String, double[][]> out = new java.util.LinkedHashMap<>();
        out.put("loss", rows.stream().map(r -> new double[] {r.step(), r.loss()}).toArray(double[][]::new));
        out.put("learning rate", rows.stream().map(r -> new double[] {r.step(), r.learningRate()}).toArray(double[][]::new));
        double[][] metric = rows.stream().filter(r -> !Double.isNaN(r.metric()))
                .map(r -> new double[] {r.step(), r.metric()}).toArray(double[][]::new);
        if (metric.length > 0) {
            out.put("validation metric", metric);
        }
        return out;
    }

    /** One line per step: {@code step,loss,learning_rate,grad_norm,tokens_per_second,seconds,metric}. */
    public String toCsv() {
        StringBuilder s = new StringBuilder("step,loss,learning_rate,grad_norm,tokens_per_second,seconds,metric\n");
        for (Row r : rows) {
            s.append(String.format(Locale.ROOT, "%d,%.6g,%.6g,%.6g,%.1f,%.3f,%s%n", r.step(), r.loss(), r.learningRate(),
                    r.gradNorm(), r.tokensPerSecond(), r.seconds(), Double.isNaN(r.metric()) ? ""
                            : String.format(Locale.ROOT, "%.6g", r.metric())));
        }
        return s.toString();
    }
}
