"""Writes a GPT-2-small-shaped model with random weights in ggml's examples/gpt-2 file format, the anchor that
bench/ggml decodes with (ggml is the C library under llama.cpp). Same shape and seed as bench/torch_realsize.py.

    python bench/ggml_gpt2.py OUT.bin [--f16]

ggml's own convert-h5-to-ggml.py reads a TensorFlow-era checkpoint and needs the real vocabulary; this writes the
transformers model's state directly: Conv1D weights ([in, out] in transformers) transposed to [out, in], the
shape ggml's matrix product expects, and a stand-in vocabulary (the 256 bytes, " the", then placeholders) that is
enough to tokenize the prompt bench/ggml gives (" the" repeated) and print the sampled ids.
"""
import argparse
import re
import struct

import numpy as np
import torch
from transformers import GPT2Config, GPT2LMHeadModel

FIXED = {"transformer.ln_f.weight": "model/ln_f/g", "transformer.ln_f.bias": "model/ln_f/b",
         "transformer.wte.weight": "model/wte", "transformer.wpe.weight": "model/wpe"}
LAYER = {"ln_1.weight": "ln_1/g", "ln_1.bias": "ln_1/b", "ln_2.weight": "ln_2/g", "ln_2.bias": "ln_2/b",
         "attn.c_attn.weight": "attn/c_attn/w", "attn.c_attn.bias": "attn/c_attn/b",
         "attn.c_proj.weight": "attn/c_proj/w", "attn.c_proj.bias": "attn/c_proj/b",
         "mlp.c_fc.weight": "mlp/c_fc/w", "mlp.c_fc.bias": "mlp/c_fc/b",
         "mlp.c_proj.weight": "mlp/c_proj/w", "mlp.c_proj.bias": "mlp/c_proj/b"}


def ggml_name(name):
    if name in FIXED:
        return FIXED[name]
    m = re.fullmatch(r"transformer\.h\.(\d+)\.(.+)", name)
    if m and m.group(2) in LAYER:
        return f"model/h{m.group(1)}/{LAYER[m.group(2)]}"
    return None  # lm_head.weight: tied to wte, which ggml's loader reuses


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--f16", action="store_true", help="2-D weights in float16 (ggml ftype 1)")
    args = parser.parse_args()

    torch.manual_seed(1)
    config = GPT2Config()
    model = GPT2LMHeadModel(config)
    vocab = [bytes([b]) for b in range(256)] + [b" the"]
    vocab += [f"<{i}>".encode() for i in range(len(vocab), config.vocab_size)]

    with open(args.out, "wb") as f:
        f.write(struct.pack("iiiiiii", 0x67676D6C, config.vocab_size, config.n_positions, config.n_embd,
                            config.n_head, config.n_layer, 1 if args.f16 else 0))
        f.write(struct.pack("i", len(vocab)))
        for token in vocab:
            f.write(struct.pack("i", len(token)))
            f.write(token)
        for name, tensor in model.state_dict().items():
            target = ggml_name(name)
            if target is None:
                continue
            data = tensor.detach().numpy()
            if re.search(r"\.(c_attn|c_proj|c_fc)\.weight$", name):
                data = data.T  # Conv1D [in, out] -> [out, in]
            data = np.ascontiguousarray(data)
            half = args.f16 and data.ndim == 2 and target != "model/wpe"
            data = data.astype(np.float16 if half else np.float32)
            encoded = target.encode()
            f.write(struct.pack("iii", data.ndim, len(encoded), 1 if half else 0))
            for dim in reversed(data.shape):
                f.write(struct.pack("i", dim))
            f.write(encoded)
            data.tofile(f)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
