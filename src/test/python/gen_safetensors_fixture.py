"""A safetensors fixture for attn4j's reader, written by hand from the format's definition
(8-byte little-endian header length, JSON header, raw little-endian data), with the same tensors
in a plain npz for comparison. Also writes a PyTorch TransformerEncoderLayer's weights as
safetensors, to be loaded into attn4j.

Rerun from the repository root: /usr/bin/python3 src/test/python/gen_safetensors_fixture.py [--out DIR]
(reproducible.py makes the bytes the same on every x86-64 machine).
"""
import reproducible

reproducible.pin_environment()

import json, os, struct  # noqa: E402 (the environment must be pinned before torch loads)
import numpy as np  # noqa: E402
import torch  # noqa: E402

reproducible.check_blas()
torch.set_num_threads(1)
out = reproducible.out_dir(os.path.join(os.path.dirname(__file__), "..", "resources", "safetensors"))
os.makedirs(out, exist_ok=True)

def write_safetensors(path, tensors):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, (dtype, array) in tensors.items():
        raw = array.astype(array.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header).encode("utf-8")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

rng = np.random.default_rng(3)
tensors = {
    "f64": ("F64", rng.standard_normal((2, 3))),
    "f32": ("F32", rng.standard_normal((4,)).astype(np.float32)),
    "f16": ("F16", np.array([[1.5, -2.25], [65504.0, 6.1e-5]], dtype=np.float16)),
    "i64": ("I64", np.array([1, -2, 3], dtype=np.int64)),
    "i32": ("I32", np.array([[7, 8]], dtype=np.int32)),
    "scalar": ("F32", np.array(3.5, dtype=np.float32)),
}
# bfloat16: the top 16 bits of a float32
bf = np.array([1.0, -0.5, 3.140625], dtype=np.float32)
tensors["bf16"] = ("BF16", (bf.view(np.uint32) >> 16).astype(np.uint16))
write_safetensors(os.path.join(out, "mixed.safetensors"), tensors)
expected = {k: np.ascontiguousarray(v.astype(np.float32) if k in ("f16",) else v) for k, (_, v) in tensors.items() if k != "bf16"}
expected["bf16"] = bf
reproducible.savez(os.path.join(out, "mixed_expected.npz"), **expected)

torch.manual_seed(4)
layer = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True, norm_first=True).double()
write_safetensors(os.path.join(out, "encoder_layer.safetensors"),
                  {k: ("F64", v.detach().numpy()) for k, v in layer.state_dict().items()})
x = torch.randn(2, 3, 8, dtype=torch.float64)
layer.train()
reproducible.savez(os.path.join(out, "encoder_layer_io.npz"), src=x.numpy(), output=layer(x).detach().numpy())
print("wrote", sorted(os.listdir(out)))
