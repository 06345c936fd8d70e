/**
 * Weights and reference checks shared with PyTorch: the state_dict name mapping
 * ({@link org.attn4j.interop.TorchNames}) and the parity tool ({@link org.attn4j.interop.TorchParity}).
 */
package org.attn4j.interop;
