package org.attn4j.config;

/**
 * The frequencies of rotary position embeddings: head dimension i (paired with i + D/2) turns by
 * {@code position * f_i} with {@code f_i = theta^(-2i/D)}. The original RoPE and Llama 1/2 use theta 10,000,
 * Llama 3 500,000; Llama 3.1/3.2 also rescale the frequencies ({@link #llama3}).
 *
 * @param theta                the base; 10,000 unless a model says otherwise
 * @param factor               Llama 3 scaling: how much longer the context is than the pretraining one (0: no
 *                             scaling)
 * @param lowFreqFactor        Llama 3 scaling: wavelengths above {@code originalContext / lowFreqFactor} are
 *                             divided by {@code factor}
 * @param highFreqFactor       Llama 3 scaling: wavelengths below {@code originalContext / highFreqFactor} are kept;
 *                             those between are blended
 * @param originalContext      Llama 3 scaling: the pretraining context ({@code original_max_position_embeddings})
 */
public record Rope(double theta, double factor, double lowFreqFactor, double highFreqFactor, int originalContext) {
    /** theta 10,000, no scaling: what every rotary model of attn4j used before the base could be set. */
    public static final Rope DEFAULT = new Rope(10_000, 0, 0, 0, 0);

    public Rope {
        if (!(theta > 1) || Double.isInfinite(theta)) {
            throw new IllegalArgumentException("rotary theta must be a finite number above 1, got " + theta);
        }
        if (factor != 0 && !(factor >= 1 && lowFreqFactor > 0 && highFreqFactor > lowFreqFactor
                && originalContext > 0)) {
            throw new IllegalArgumentException("Llama 3 rotary scaling needs factor >= 1, 0 < lowFreqFactor < "
                    + "highFreqFactor and originalContext > 0; got factor " + factor + ", lowFreqFactor "
                    + lowFreqFactor + ", highFreqFactor " + highFreqFactor + ", originalContext " + originalContext);
        }
    }

    /** Base {@code theta}, no scaling. */
    public static Rope theta(double theta) {
        return new Rope(theta, 0, 0, 0, 0);
    }

    /** The same base with Llama 3.1's frequency scaling ({@code rope_scaling} of type {@code llama3}). */
    public Rope llama3(double factor, double lowFreqFactor, double highFreqFactor, int originalContext) {
        return new Rope(theta, factor, lowFreqFactor, highFreqFactor, originalContext);
    }

    /** Whether the frequencies are rescaled as Llama 3.1's. */
    public boolean scaled() {
        return factor != 0;
    }

    /**
     * f_i for i &lt; D/2. With Llama 3 scaling, as transformers' {@code _compute_llama3_parameters}: long
     * wavelengths (low frequencies) are stretched by the factor, short ones kept, and those between blended
     * linearly in {@code originalContext / wavelength}.
     */
    public double[] inverseFrequencies(int headDim) {
        double[] f = new double[headDim / 2];
        double lowWavelength = originalContext / lowFreqFactor, highWavelength = originalContext / highFreqFactor;
        for (int i = 0; i < f.length; i++) {
            f[i] = Math.pow(theta, -2.0 * i / headDim);
            if (!scaled()) {
                continue;
            }
            double wavelength = 2 * Math.PI / f[i];
            if (wavelength > lowWavelength) {
                f[i] /= factor;
            } else if (wavelength >= highWavelength) {
                double smooth = (originalContext / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
                f[i] = (1 - smooth) * f[i] / factor + smooth * f[i];
            }
        }
        return f;
    }
}
