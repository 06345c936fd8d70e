"""PyTorch's float32 -> bfloat16 rounding, as a reference for attn4j's BFloat16: one safetensors file with
the float32 inputs ("input", F32) and what torch's .to(torch.bfloat16) made of them ("rounded", BF16).
Inputs: hand-picked bit patterns (exact values, ties to even either way, just above and below ties, the
largest finite values and their overflow to infinity, infinities, NaNs of both signs and payloads, signed
zeros, subnormals and the subnormal/normal boundary), then ties and random values over the whole range.

The file is written by hand from the format's definition (torch 1.13 has no safetensors writer).
Rerun from the repository root: /usr/bin/python3 src/test/python/gen_bf16_fixture.py [--out DIR]
"""
import reproducible

reproducible.pin_environment()

import json, os, struct  # noqa: E402 (the environment must be pinned before torch loads)
import numpy as np  # noqa: E402
import torch  # noqa: E402

reproducible.check_blas()
torch.set_num_threads(1)
out = reproducible.out_dir(os.path.join(os.path.dirname(__file__), "..", "resources", "bf16"))
os.makedirs(out, exist_ok=True)

HAND = [
    0x3F800000, 0xBF800000,  # 1, -1: exact
    0x3F808000, 0x3F818000,  # 1 + 2^-8 (tie, down to even), 1 + 2^-7 + 2^-8 (tie, up to even)
    0x3F807FFF, 0x3F808001,  # just below and just above a tie
    0xBF808000, 0xBF818000,  # the same ties, negative
    0x7F7F7FFF, 0x7F7F8000, 0x7F7FFFFF,  # below the overflow tie, the tie (odd: up to infinity), float max
    0xFF7FFFFF,  # -float max
    0x7F800000, 0xFF800000,  # infinities
    0x7FC00000, 0xFFC00000, 0x7F800001, 0xFFFFFFFF, 0x7FBFFFFF,  # NaNs: quiet, negative, signalling, payloads
    0x00000000, 0x80000000,  # zeros
    0x00000001, 0x00008000, 0x00018000, 0x0000FFFF, 0x80018000,  # subnormals: below, at ties, above
    0x007FFFFF, 0x00800000, 0x007F8000,  # the largest subnormal rounds up to the smallest normal
]
rng = np.random.default_rng(19)
ties = (rng.integers(0, 1 << 16, 64, dtype=np.uint32) << 16) | 0x8000  # every exponent, half odd and half even
ties = ties[(ties & 0x7F800000) != 0x7F800000]  # ties only between finite values
randoms = rng.integers(0, 1 << 32, 512, dtype=np.uint64).astype(np.uint32)
bits = np.concatenate([np.array(HAND, dtype=np.uint32), ties, randoms])
inputs = bits.view(np.float32)
rounded = torch.from_numpy(inputs.copy()).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)

def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, (dtype, array) in tensors.items():
        raw = array.astype(array.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header).encode("utf-8")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

write_safetensors(os.path.join(out, "rounding.safetensors"), {"input": ("F32", inputs), "rounded": ("BF16", rounded)})
print("wrote", len(inputs), "values to", os.path.join(out, "rounding.safetensors"), "torch", torch.__version__)
print("hand-picked:", " ".join(f"{b:08X}->{r:04X}" for b, r in zip(HAND, rounded[:len(HAND)])))
