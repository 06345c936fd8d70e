package org.attn4j.nn;

/** For tests outside {@code nn}: how many attention pairs have run on the vector lanes in this JVM. */
public final class LanesProbe {
    private LanesProbe() {
    }

    public static long pairs() {
        return org.attn4j.kernels.AttentionKernel.LANE_PAIRS.sum();
    }
}
