"""The weights the README's and interop.md's PyTorch example loads, so ReadmeTest can run that example as
printed: an nn.TransformerEncoderLayer(64, 4, 256, norm_first=True, activation="gelu", batch_first=True)
saved as safetensors (layer.safetensors, PyTorch's state_dict names, float32), and an input with the
layer's output in eval mode (layer_io.npz: x [2, 10, 64], output [2, 10, 64]).

Rerun from the repository root: /usr/bin/python3 src/test/python/gen_readme_fixture.py [--out DIR]
(reproducible.py makes the bytes the same on every x86-64 machine).
"""
import reproducible

reproducible.pin_environment()

import json, os, struct  # noqa: E402 (the environment must be pinned before torch loads)
import torch  # noqa: E402

reproducible.check_blas()
torch.set_num_threads(1)
out = reproducible.out_dir(os.path.join(os.path.dirname(__file__), "..", "resources", "readme"))
os.makedirs(out, exist_ok=True)

def write_safetensors(path, tensors):  # as gen_safetensors_fixture.py writes them
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, (dtype, array) in tensors.items():
        raw = array.astype(array.dtype.newbyteorder("<")).tobytes()
        header[name] = {"dtype": dtype, "shape": list(array.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header).encode("utf-8")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


torch.manual_seed(5)
layer = torch.nn.TransformerEncoderLayer(64, 4, 256, dropout=0.0, activation="gelu", batch_first=True,
                                         norm_first=True).eval()
write_safetensors(os.path.join(out, "layer.safetensors"),
                  {k: ("F32", v.detach().numpy()) for k, v in layer.state_dict().items()})
x = torch.randn(2, 10, 64)
with torch.no_grad():
    # float64 for the output: the layer's own float32 path would add its round-off to the reference
    output = layer.double()(x.double()).numpy()
reproducible.savez(os.path.join(out, "layer_io.npz"), x=x.numpy(), output=output)
print("wrote", sorted(os.listdir(out)))
