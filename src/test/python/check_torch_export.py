"""Loads weights that attn4j exported under PyTorch's state_dict names into a PyTorch
TransformerEncoderLayer and checks that PyTorch computes what attn4j computed.

The files come from TorchExportTest, which also runs this script (mvn -B test -Dtest=TorchExportTest):
DIR/encoder_layer_weights.npz (attn4j's pre-LN GELU block, d=8, 2 heads, ff=16, float64) and
DIR/encoder_layer_io.npz (an input and attn4j's output), DIR target/torch-export unless given.
Run from the repository root: /usr/bin/python3 src/test/python/check_torch_export.py [DIR]
"""
import sys

import numpy as np
import torch

folder = sys.argv[1] if len(sys.argv) > 1 else "target/torch-export"
weights = np.load(f"{folder}/encoder_layer_weights.npz")
io = np.load(f"{folder}/encoder_layer_io.npz")
layer = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation="gelu", batch_first=True,
                                         norm_first=True).double()
layer.load_state_dict({k: torch.from_numpy(weights[k]) for k in weights.files}, strict=True)
layer.train()  # dropout is 0; train() avoids the inference fast path
out = layer(torch.from_numpy(io["src"])).detach().numpy()
err = np.abs(out - io["output"]).max() / np.abs(io["output"]).max()
print(f"loaded {len(weights.files)} tensors with strict=True; relative error {err:.2e}")
assert err < 1e-12, "PyTorch does not reproduce attn4j's output"
print("PASS")
