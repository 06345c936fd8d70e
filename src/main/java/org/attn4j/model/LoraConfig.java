package org.attn4j.model;

import java.util.List;
import java.util.Objects;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Low-rank adapters (LoRA, Hu et al. 2021) as PEFT configures them: each targeted linear layer {@code y = x W^T}
 * gains {@code (alpha / r) x A^T B^T} with A {@code [r, in]} and B {@code [out, r]} (rsLoRA: {@code alpha / sqrt(r)}).
 *
 * @param rank    r, the adapters' inner width
 * @param alpha   PEFT's {@code lora_alpha}
 * @param dropout PEFT's {@code lora_dropout}: dropout on the adapter's input x while training, in [0, 1)
 * @param targets which linear layers get an adapter, by their Hugging Face module names
 * @param rsLora  PEFT's {@code use_rslora}: scale by alpha / sqrt(r) instead of alpha / r
 */
public record LoraConfig(int rank, double alpha, double dropout, Targets targets, boolean rsLora) {
    public LoraConfig {
        Objects.requireNonNull(targets, "targets");
        if (rank < 1) {
            throw new IllegalArgumentException("LoRA rank r must be >= 1, got " + rank);
        }
        if (!(Double.isFinite(alpha) && alpha > 0)) {
            throw new IllegalArgumentException("LoRA alpha must be a positive number, got " + alpha);
        }
        if (!(dropout >= 0 && dropout < 1)) {
            throw new IllegalArgumentException("LoRA dropout must be in [0, 1), got " + dropout);
        }
    }

    /** Rank {@code rank}, alpha {@code alpha}, no dropout, targets as {@link Targets#parse} reads them. */
    public static LoraConfig of(int rank, double alpha, String targets) {
        return new LoraConfig(rank, alpha, 0, Targets.parse(targets), false);
    }

    /** The factor of the adapter's path: alpha / r, or alpha / sqrt(r) with rsLoRA. */
    public double scale() {
        return rsLora ? alpha / Math.sqrt(rank) : alpha / rank;
    }

    /** The same with dropout {@code v}. */
    public LoraConfig withDropout(double v) {
        return new LoraConfig(rank, alpha, v, targets, rsLora);
    }

    /** The same with rsLoRA's scale alpha / sqrt(r) ({@code true}) or alpha / r. */
    public LoraConfig withRsLora(boolean v) {
        return new LoraConfig(rank, alpha, dropout, targets, v);
    }

    /**
     * Target modules as PEFT's {@code target_modules} holds them: a list of names (a module matches a name equal to
     * its own or to its end after a dot: {@code q_proj} matches {@code model.layers.0.self_attn.q_proj}), or one
     * string, which is {@code all-linear} (every linear layer of the blocks, not the output head) or a regular
     * expression the whole module name must match.
     *
     * @param names   the list, or null when {@code pattern} is set
     * @param pattern the string, or null when {@code names} is set
     */
    public record Targets(List<String> names, String pattern) {
        public static final String ALL_LINEAR = "all-linear";

        public Targets {
            if ((names == null) == (pattern == null)) {
                throw new IllegalArgumentException("LoRA targets are a list of module names or one pattern, not "
                        + (names == null ? "neither" : "both"));
            }
            if (names != null) {
                names = List.copyOf(names);
                if (names.isEmpty() || names.stream().anyMatch(String::isBlank)) {
                    throw new IllegalArgumentException("LoRA target module names must be non-empty, got " + names);
                }
            } else if (!pattern.equals(ALL_LINEAR)) {
                try {
                    Pattern.compile(pattern);
                } catch (PatternSyntaxException e) {
                    throw new IllegalArgumentException("LoRA target pattern '" + pattern + "' is not a regular "
                            + "expression (" + e.getDescription() + ")");
                }
            }
        }

        /** {@code all-linear}, or module names separated by commas ({@code q_proj,v_proj}). */
        public static Targets parse(String text) {
            return text.strip().equals(ALL_LINEAR) ? new Targets(null, ALL_LINEAR)
                    : new Targets(List.of(text.split(",", -1)).stream().map(String::strip).toList(), null);
        }

        /** Whether {@code module} (a block linear's full Hugging Face name) is a target. */
        public boolean matches(String module) {
            if (names == null) {
                return pattern.equals(ALL_LINEAR) || Pattern.compile(pattern).matcher(module).matches();
            }
            return names.stream().anyMatch(n -> module.equals(n) || module.endsWith("." + n));
        }

        @Override
        public String toString() {
            return names == null ? pattern : String.join(",", names);
        }
    }
}
