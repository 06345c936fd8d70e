/**
 * File formats below the models: Hugging Face's safetensors ({@link org.attn4j.formats.Safetensors}: whole
 * files, or one tensor at a time into a caller's array) and bfloat16 ({@link org.attn4j.kernels.BFloat16}).
 * Files may come from anyone: every size is computed with overflow checks and a header's shapes must match
 * the data exactly before anything is read. The models ({@code org.attn4j.model}) load Hugging Face
 * directories through these; checkpoints ({@code org.attn4j.io}) store bfloat16 weights with them.
 */
package org.attn4j.formats;
