package org.attn4j.kernels;

/**
 * One {@link AdamKernel} step's constants: the clipping factor, the betas, alpha ({@link AdamKernel#alpha}),
 * epsilon, and the decoupled decay (the learning rate times the coefficient; 0: none).
 */
public record AdamStep(double scale, double beta1, double beta2, double alpha, double eps, double decay) {
}
