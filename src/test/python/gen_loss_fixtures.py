"""Reference values for attn4j's label-smoothed cross-entropy, from PyTorch.

Writes src/test/resources/loss/cross_entropy.npz (plain np.savez, C order): for each case k,
  case<k>/logits      [B, T, V] float64
  case<k>/targets     [B, T]    int64, with padding id 0 in some positions
  case<k>/smoothing   []        float64, label smoothing
  case<k>/loss        []        float64, CrossEntropyLoss(ignore_index=0, label_smoothing=s) (mean)
  case<k>/grad        [B, T, V] float64, d loss / d logits
Rerun from the repository root: /usr/bin/python3 src/test/python/gen_loss_fixtures.py [--out DIR]
(reproducible.py makes the bytes the same on every x86-64 machine).
"""
import reproducible

reproducible.pin_environment()

import os  # noqa: E402 (the environment must be pinned before torch loads)
import numpy as np  # noqa: E402
import torch  # noqa: E402

reproducible.check_blas()
torch.set_num_threads(1)

torch.manual_seed(5)
PAD = 0
out = {}
cases = [(2, 3, 5, 0.0), (2, 3, 5, 0.1), (3, 4, 7, 0.25), (1, 5, 4, 0.1)]
for k, (b, t, v, s) in enumerate(cases):
    logits = (3 * torch.randn(b, t, v, dtype=torch.float64)).requires_grad_()
    targets = torch.randint(1, v, (b, t))
    targets[0, -1] = PAD                 # a padded position in every case
    if b > 1:
        targets[1, 0] = PAD
    loss = torch.nn.CrossEntropyLoss(ignore_index=PAD, label_smoothing=s)(logits.reshape(-1, v), targets.reshape(-1))
    loss.backward()
    for name, value in [("logits", logits.detach()), ("targets", targets), ("smoothing", torch.tensor(s, dtype=torch.float64)),
                        ("loss", loss.detach()), ("grad", logits.grad)]:
        out[f"case{k}/{name}"] = np.ascontiguousarray(value.numpy())

path = os.path.join(reproducible.out_dir(os.path.join(os.path.dirname(__file__), "..", "resources", "loss")),
                    "cross_entropy.npz")
os.makedirs(os.path.dirname(path), exist_ok=True)
reproducible.savez(path, **out)
print("wrote", os.path.normpath(path), "with", len(cases), "cases")
