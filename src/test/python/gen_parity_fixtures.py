"""Generate PyTorch reference cases ("parity fixtures") for attn4j's Java tests.

What it generates
-----------------
Small, seeded runs of three PyTorch modules, each in float64 and float32:

* ``torch.nn.MultiheadAttention``        (kind ``"mha"``)
* ``torch.nn.TransformerEncoderLayer``   (kind ``"encoder_layer"``)
* ``torch.nn.TransformerDecoderLayer``   (kind ``"decoder_layer"``)

For each case it records the parameters, the inputs, the forward output and
the gradients of ``sum(output * grad_output)`` with respect to every parameter
and every float input, so the Java side can check both forward and backward.
Sizes are tiny (B=2, T=3..5, d_model=8, nhead=2, dim_feedforward=16).

Output: ``src/test/resources/parity/`` (relative to the repository root), two
files per case NAME (``NAME`` ends in ``_f64`` or ``_f32``):

``NAME.json``
    ``kind``, ``d_model``, ``nhead`` and, where they apply, ``dim_feedforward``,
    ``norm_first``, ``activation`` ("relu"/"gelu"), ``causal``,
    ``layer_norm_eps`` (layers only), ``bias``, ``kdim``, ``vdim`` (mha only),
    plus ``dtype`` and ``description`` (informative).

``NAME.npz``
    Written with plain ``np.savez`` (uncompressed); every array C-contiguous
    and in the case's float dtype. Keys:

    * ``param/<state_dict key>``  every entry of the module's state_dict
    * ``in/<forward arg>``        mha: query, key, value[, key_padding_mask];
                                  encoder: src[, src_key_padding_mask];
                                  decoder: tgt, memory[, tgt_key_padding_mask]
                                  [, memory_key_padding_mask]
    * ``in/grad_output``          random tensor shaped like the output
    * ``out/output``              [B, Tq, d_model]
    * ``out/weights``             mha only: per-head weights [B, H, Tq, Tk]
    * ``grad/<state_dict key>``   d sum(output*grad_output) / d parameter
    * ``grad/<input name>``       same, per float input (never the masks)

    Inputs are batch-first, [B, T, C]. Padding masks are stored as floats with
    PyTorch's meaning (1.0 = padded/ignored, 0.0 = real token), shape [B, T].
    Causal masks are not stored: ``"causal": true`` means the self-attention
    got an upper-triangular mask (mha ``attn_mask``, encoder ``src_mask``,
    decoder ``tgt_mask``). Every input name is its own leaf tensor, so a
    self-attention case stores query == key == value but three separate
    gradients ``grad/query``, ``grad/key``, ``grad/value``.

How to rerun (from the repository root, with Debian's PyTorch 1.13)::

    /usr/bin/python3 src/test/python/gen_parity_fixtures.py             # rewrites the committed files
    /usr/bin/python3 src/test/python/gen_parity_fixtures.py --out DIR   # writes them to DIR instead

Every case seeds torch itself, and ``reproducible.py`` pins the BLAS library,
torch's CPU kernels, the thread count and the zip timestamps, so a rerun on any
x86-64 machine rewrites byte-identical files (FixtureGeneratorsTest checks
that). The float32 variant of a case is the float64 problem (same seed, same
parameters and inputs) rounded to float32 and then computed in float32.
"""

import reproducible

reproducible.pin_environment()

import dataclasses  # noqa: E402 (the environment must be pinned before torch loads)
import json  # noqa: E402
import os  # noqa: E402
import zipfile  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Dict, Optional, Tuple  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

reproducible.check_blas()

REPO_ROOT = Path(__file__).resolve().parents[3]
OUT_DIR = Path(reproducible.out_dir(str(REPO_ROOT / "src" / "test" / "resources" / "parity"))).resolve()

# Shared sizes for every case.
B = 2
D_MODEL = 8
NHEAD = 2
DIM_FF = 16

DTYPES = {"f64": torch.float64, "f32": torch.float32}
NP_DTYPES = {torch.float64: np.float64, torch.float32: np.float32}

# Keep the fixtures folder small enough to live in git.
MAX_TOTAL_BYTES = 1_500_000


# ---------------------------------------------------------------------------
# Case definitions
# ---------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Case:
    """One reference configuration; dtype is added when it is generated."""

    name: str
    kind: str  # "mha" | "encoder_layer" | "decoder_layer"
    seed: int
    description: str
    # Sequence lengths: tq for query/src/tgt; tk for key/value or memory.
    tq: int
    tk: Optional[int] = None
    causal: bool = False
    # mha only
    bias: bool = True
    kdim: int = D_MODEL
    vdim: int = D_MODEL
    self_attention: bool = True
    # layers only
    norm_first: bool = False
    activation: str = "relu"
    layer_norm_eps: float = 1e-5
    # Padding masks: per batch row, how many trailing positions are padded.
    # None means "no mask passed at all" (different from all zeros).
    key_padding: Optional[Tuple[int, ...]] = None      # mha key_padding_mask
    src_padding: Optional[Tuple[int, ...]] = None      # encoder
    tgt_padding: Optional[Tuple[int, ...]] = None      # decoder
    memory_padding: Optional[Tuple[int, ...]] = None   # decoder


CASES = [
    # ---- MultiheadAttention ------------------------------------------------
    Case("mha_self", "mha", seed=101, tq=4,
         description="MHA self-attention, bias, no masks, B=2 T=4"),
    Case("mha_self_nobias", "mha", seed=102, tq=4, bias=False,
         description="MHA self-attention without any bias, no masks, B=2 T=4"),
    Case("mha_cross_kvdim", "mha", seed=103, tq=3, tk=5, kdim=6, vdim=5,
         self_attention=False, key_padding=(0, 2),
         description="MHA cross-attention Tq=3 Tk=5, kdim=6 vdim=5 (separate "
                     "q/k/v_proj_weight), key_padding_mask: row 1 last 2 keys padded"),
    Case("mha_causal", "mha", seed=104, tq=4, causal=True,
         description="MHA self-attention with causal attn_mask, B=2 T=4"),
    Case("mha_padding", "mha", seed=105, tq=5, key_padding=(1, 2),
         description="MHA self-attention, key_padding_mask: row 0 last key "
                     "padded, row 1 last 2 padded, T=5"),
    Case("mha_causal_padding", "mha", seed=106, tq=5, causal=True,
         key_padding=(1, 2),
         description="MHA self-attention, causal attn_mask plus key_padding_mask "
                     "(row 0 last key padded, row 1 last 2), T=5"),

    # ---- TransformerEncoderLayer ------------------------------------------
    Case("enc_post_relu", "encoder_layer", seed=201, tq=5,
         norm_first=False, activation="relu", src_padding=(1, 2),
         description="Encoder layer post-norm, relu, src_key_padding_mask "
                     "(row 0 last padded, row 1 last 2), T=5"),
    Case("enc_pre_gelu", "encoder_layer", seed=202, tq=5,
         norm_first=True, activation="gelu", src_padding=(0, 3),
         description="Encoder layer pre-norm, exact (erf) gelu, "
                     "src_key_padding_mask (row 1 last 3 padded), T=5"),
    Case("enc_pre_relu_causal", "encoder_layer", seed=203, tq=4,
         norm_first=True, activation="relu", causal=True,
         description="Encoder layer pre-norm, relu, causal src_mask, no padding, T=4"),
    Case("enc_post_gelu", "encoder_layer", seed=204, tq=4,
         norm_first=False, activation="gelu", layer_norm_eps=1e-6,
         description="Encoder layer post-norm, exact (erf) gelu, no masks, "
                     "layer_norm_eps=1e-6, T=4"),

    # ---- TransformerDecoderLayer ------------------------------------------
    Case("dec_post_relu", "decoder_layer", seed=301, tq=4, tk=5,
         norm_first=False, activation="relu", causal=True,
         memory_padding=(0, 2),
         description="Decoder layer post-norm, relu, causal tgt_mask, "
                     "memory_key_padding_mask (row 1 last 2 padded); tgt T=4, memory T=5"),
    Case("dec_pre_gelu", "decoder_layer", seed=302, tq=4, tk=5,
         norm_first=True, activation="gelu", causal=True,
         tgt_padding=(1, 0), memory_padding=(1, 2),
         description="Decoder layer pre-norm, exact (erf) gelu, causal tgt_mask, "
                     "tgt_key_padding_mask (row 0 last padded), "
                     "memory_key_padding_mask (row 0 last padded, row 1 last 2); "
                     "tgt T=4, memory T=5"),
    Case("dec_post_gelu_nocausal", "decoder_layer", seed=303, tq=4, tk=5,
         norm_first=False, activation="gelu", causal=False,
         description="Decoder layer post-norm, exact (erf) gelu, no masks at all; "
                     "tgt T=4, memory T=5"),
    Case("dec_pre_relu", "decoder_layer", seed=304, tq=4, tk=5,
         norm_first=True, activation="relu", causal=True,
         description="Decoder layer pre-norm, relu, causal tgt_mask, no padding; "
                     "tgt T=4, memory T=5"),
]


# ---------------------------------------------------------------------------
# Building modules, inputs and masks
# ---------------------------------------------------------------------------

def build_module(case: Case) -> nn.Module:
    """Construct the PyTorch module for a case, in float64."""
    if case.kind == "mha":
        module = nn.MultiheadAttention(
            D_MODEL, NHEAD, dropout=0.0, bias=case.bias,
            kdim=case.kdim, vdim=case.vdim, batch_first=True)
    elif case.kind == "encoder_layer":
        module = nn.TransformerEncoderLayer(
            D_MODEL, NHEAD, dim_feedforward=DIM_FF, dropout=0.0,
            activation=case.activation, layer_norm_eps=case.layer_norm_eps,
            batch_first=True, norm_first=case.norm_first)
    elif case.kind == "decoder_layer":
        module = nn.TransformerDecoderLayer(
            D_MODEL, NHEAD, dim_feedforward=DIM_FF, dropout=0.0,
            activation=case.activation, layer_norm_eps=case.layer_norm_eps,
            batch_first=True, norm_first=case.norm_first)
    else:
        raise ValueError(f"unknown kind {case.kind!r}")
    return module.double()


@torch.no_grad()
def randomize_parameters(module: nn.Module) -> None:
    """Replace PyTorch's default init with values that exercise every term.

    Default init leaves biases at zero and LayerNorm at the identity, which
    would let a Java implementation pass while ignoring them.
    """
    layer_norm_params = set()
    for sub in module.modules():
        if isinstance(sub, nn.LayerNorm):
            layer_norm_params.add(id(sub.weight))
            layer_norm_params.add(id(sub.bias))
    # named_parameters() has a fixed order, so the RNG draws are reproducible.
    for name, p in module.named_parameters():
        if id(p) in layer_norm_params:
            if name.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn_like(p))
            else:
                p.copy_(0.1 * torch.randn_like(p))
        else:
            p.normal_(0.0, 0.3)


def padding_mask(trailing: Tuple[int, ...], length: int) -> torch.Tensor:
    """Float [B, T] mask, 1.0 on the last `trailing[b]` positions of row b."""
    assert len(trailing) == B
    mask = torch.zeros(B, length, dtype=torch.float64)
    for b, n in enumerate(trailing):
        # Position 0 must stay real, or a query row could see no key at all
        # and PyTorch would produce NaN (softmax over all -inf).
        assert 0 <= n < length, (trailing, length)
        if n:
            mask[b, length - n:] = 1.0
    return mask


def causal_mask(length: int) -> torch.Tensor:
    """Bool [T, T] mask, True above the diagonal (= may not attend).

    A bool mask rather than generate_square_subsequent_mask's float one: in
    torch 1.13 a float32 -inf mask added to float64 scores is a dtype clash,
    and bool masks combine with bool key padding masks by logical_or.
    """
    return torch.triu(torch.ones(length, length, dtype=torch.bool), diagonal=1)


def make_inputs(case: Case) -> Dict[str, torch.Tensor]:
    """Float64 inputs (and float padding masks) keyed by forward-argument name."""
    tq = case.tq
    tk = case.tk if case.tk is not None else case.tq
    inputs: Dict[str, torch.Tensor] = {}
    if case.kind == "mha":
        if case.self_attention:
            x = torch.randn(B, tq, D_MODEL, dtype=torch.float64)
            # Same values for all three; they become separate leaves later.
            inputs["query"], inputs["key"], inputs["value"] = x, x.clone(), x.clone()
        else:
            inputs["query"] = torch.randn(B, tq, D_MODEL, dtype=torch.float64)
            inputs["key"] = torch.randn(B, tk, case.kdim, dtype=torch.float64)
            inputs["value"] = torch.randn(B, tk, case.vdim, dtype=torch.float64)
        if case.key_padding is not None:
            inputs["key_padding_mask"] = padding_mask(case.key_padding, tk)
    elif case.kind == "encoder_layer":
        inputs["src"] = torch.randn(B, tq, D_MODEL, dtype=torch.float64)
        if case.src_padding is not None:
            inputs["src_key_padding_mask"] = padding_mask(case.src_padding, tq)
    else:
        inputs["tgt"] = torch.randn(B, tq, D_MODEL, dtype=torch.float64)
        inputs["memory"] = torch.randn(B, tk, D_MODEL, dtype=torch.float64)
        if case.tgt_padding is not None:
            inputs["tgt_key_padding_mask"] = padding_mask(case.tgt_padding, tq)
        if case.memory_padding is not None:
            inputs["memory_key_padding_mask"] = padding_mask(case.memory_padding, tk)
    return inputs


def is_mask(name: str) -> bool:
    return name.endswith("_mask")


def forward(case: Case, module: nn.Module, inputs: Dict[str, torch.Tensor]):
    """Run the module; returns (output, per-head weights or None)."""
    # PyTorch wants bool padding masks (True = ignore); we store floats.
    masks = {k: v > 0.5 for k, v in inputs.items() if is_mask(k)}
    causal = causal_mask(case.tq) if case.causal else None
    if case.kind == "mha":
        output, weights = module(
            inputs["query"], inputs["key"], inputs["value"],
            key_padding_mask=masks.get("key_padding_mask"),
            need_weights=True, attn_mask=causal, average_attn_weights=False)
        return output, weights
    if case.kind == "encoder_layer":
        output = module(inputs["src"], src_mask=causal,
                        src_key_padding_mask=masks.get("src_key_padding_mask"))
        return output, None
    output = module(inputs["tgt"], inputs["memory"], tgt_mask=causal,
                    tgt_key_padding_mask=masks.get("tgt_key_padding_mask"),
                    memory_key_padding_mask=masks.get("memory_key_padding_mask"))
    return output, None


# ---------------------------------------------------------------------------
# Generating one case
# ---------------------------------------------------------------------------

def generate(case: Case, suffix: str) -> Tuple[str, dict, Dict[str, np.ndarray]]:
    dtype = DTYPES[suffix]
    name = f"{case.name}_{suffix}"

    # Everything random is drawn in float64 under the case's own seed, in a
    # fixed order (params, inputs, grad_output), so both dtypes of a case
    # share the same problem and reruns are reproducible.
    torch.manual_seed(case.seed)
    module = build_module(case)
    randomize_parameters(module)
    inputs64 = make_inputs(case)

    module = module.to(dtype)
    # train() mode (dropout is 0 anyway) keeps torch 1.13 off the inference
    # "fast path", which can return nested tensors and skips autograd.
    module.train()

    # Every float input is its own leaf so each name gets its own gradient,
    # even when query/key/value hold equal values.
    inputs = {}
    for key, value in inputs64.items():
        value = value.to(dtype)
        if not is_mask(key):
            value = value.clone().requires_grad_(True)
        inputs[key] = value

    output, weights = forward(case, module, inputs)
    grad_output = torch.randn(output.shape, dtype=torch.float64).to(dtype)
    (output * grad_output).sum().backward()

    arrays: Dict[str, torch.Tensor] = {}
    for key, value in module.state_dict().items():
        arrays[f"param/{key}"] = value
    for key, value in inputs.items():
        arrays[f"in/{key}"] = value
    arrays["in/grad_output"] = grad_output
    arrays["out/output"] = output
    if weights is not None:
        arrays["out/weights"] = weights
    for key, p in module.named_parameters():
        assert p.grad is not None, f"{name}: parameter {key} got no gradient"
        arrays[f"grad/{key}"] = p.grad
    for key, value in inputs.items():
        if not is_mask(key):
            arrays[f"grad/{key}"] = value.grad

    np_dtype = NP_DTYPES[dtype]
    np_arrays = {k: np.ascontiguousarray(v.detach().cpu().numpy(), dtype=np_dtype)
                 for k, v in arrays.items()}

    meta = {"kind": case.kind, "d_model": D_MODEL, "nhead": NHEAD}
    if case.kind == "mha":
        meta.update(causal=case.causal, bias=case.bias,
                    kdim=case.kdim, vdim=case.vdim)
    else:
        meta.update(dim_feedforward=DIM_FF, norm_first=case.norm_first,
                    activation=case.activation, causal=case.causal,
                    layer_norm_eps=case.layer_norm_eps)
    meta["dtype"] = "float64" if dtype == torch.float64 else "float32"
    meta["description"] = f"{case.description} (seed {case.seed}, torch {torch.__version__})"
    return name, meta, np_arrays


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------

def write_case(name: str, meta: dict, arrays: Dict[str, np.ndarray]) -> None:
    with open(OUT_DIR / f"{name}.json", "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")
    reproducible.savez(OUT_DIR / f"{name}.npz", **arrays)


# ---------------------------------------------------------------------------
# Verification (independent of the writing code: reads the files back)
# ---------------------------------------------------------------------------

def expected_shapes(case: Case, meta: dict) -> Dict[str, Tuple[int, ...]]:
    """Every key the npz must hold, with its shape, derived from the spec."""
    tq = case.tq
    tk = case.tk if case.tk is not None else case.tq
    shapes: Dict[str, Tuple[int, ...]] = {}
    # A fresh module gives the state_dict keys and parameter shapes.
    for key, value in build_module(case).state_dict().items():
        shapes[f"param/{key}"] = tuple(value.shape)
        shapes[f"grad/{key}"] = tuple(value.shape)

    float_inputs: Dict[str, Tuple[int, ...]] = {}
    masks: Dict[str, Tuple[int, ...]] = {}
    if case.kind == "mha":
        float_inputs = {"query": (B, tq, D_MODEL), "key": (B, tk, case.kdim),
                        "value": (B, tk, case.vdim)}
        if case.key_padding is not None:
            masks["key_padding_mask"] = (B, tk)
        shapes["out/weights"] = (B, NHEAD, tq, tk)
        # Parameters that must be there for this configuration.
        separate = case.kdim != D_MODEL or case.vdim != D_MODEL
        must = (["q_proj_weight", "k_proj_weight", "v_proj_weight"] if separate
                else ["in_proj_weight"]) + ["out_proj.weight"]
        if case.bias:
            must += ["in_proj_bias", "out_proj.bias"]
        for key in must:
            assert f"param/{key}" in shapes, f"{case.name}: missing {key}"
        if not case.bias:
            assert not any("bias" in k for k in shapes), f"{case.name}: unexpected bias"
    elif case.kind == "encoder_layer":
        float_inputs = {"src": (B, tq, D_MODEL)}
        if case.src_padding is not None:
            masks["src_key_padding_mask"] = (B, tq)
    else:
        float_inputs = {"tgt": (B, tq, D_MODEL), "memory": (B, tk, D_MODEL)}
        if case.tgt_padding is not None:
            masks["tgt_key_padding_mask"] = (B, tq)
        if case.memory_padding is not None:
            masks["memory_key_padding_mask"] = (B, tk)

    for key, shape in float_inputs.items():
        shapes[f"in/{key}"] = shape
        shapes[f"grad/{key}"] = shape
    for key, shape in masks.items():
        shapes[f"in/{key}"] = shape
    shapes["out/output"] = (B, tq, D_MODEL)
    shapes["in/grad_output"] = (B, tq, D_MODEL)
    return shapes


def verify(case: Case, suffix: str) -> Tuple[str, int, int]:
    name = f"{case.name}_{suffix}"
    npz_path = OUT_DIR / f"{name}.npz"
    json_path = OUT_DIR / f"{name}.json"
    with open(json_path, encoding="utf-8") as f:
        meta = json.load(f)
    np_dtype = np.float64 if suffix == "f64" else np.float32
    assert meta["dtype"] == np.dtype(np_dtype).name, name
    assert meta["kind"] == case.kind and meta["causal"] == case.causal, name

    # Plain np.savez means every entry is stored, not deflated.
    with zipfile.ZipFile(npz_path) as zf:
        assert all(i.compress_type == zipfile.ZIP_STORED for i in zf.infolist()), name

    want = expected_shapes(case, meta)
    with np.load(npz_path, allow_pickle=False) as data:
        got_keys = set(data.files)
        assert got_keys == set(want), (
            f"{name}: missing {sorted(set(want) - got_keys)}, "
            f"extra {sorted(got_keys - set(want))}")
        arrays = {k: data[k] for k in data.files}

    for key, arr in arrays.items():
        assert arr.shape == want[key], f"{name}: {key} {arr.shape} != {want[key]}"
        assert arr.dtype == np_dtype, f"{name}: {key} dtype {arr.dtype}"
        assert arr.flags.c_contiguous, f"{name}: {key} not C order"
        assert np.all(np.isfinite(arr)), f"{name}: {key} has NaN/inf"

    for key, arr in arrays.items():
        if key.endswith("_mask"):
            assert set(np.unique(arr)) <= {0.0, 1.0}, f"{name}: {key} not 0/1"
            assert np.all(arr[:, 0] == 0.0), f"{name}: {key} pads position 0"
    if case.kind == "mha":
        w = arrays["out/weights"]
        tol = 1e-12 if suffix == "f64" else 1e-5
        assert np.allclose(w.sum(-1), 1.0, atol=tol), f"{name}: weights rows != 1"
        if case.self_attention:
            assert np.array_equal(arrays["in/query"], arrays["in/key"])
            assert np.array_equal(arrays["in/query"], arrays["in/value"])

    size = npz_path.stat().st_size + json_path.stat().st_size
    return name, len(arrays), size


def main() -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)

    generated = []
    for case in CASES:
        for suffix in DTYPES:
            name, meta, arrays = generate(case, suffix)
            write_case(name, meta, arrays)
            generated.append(name)

    rows = [verify(case, suffix) for case in CASES for suffix in DTYPES]

    print(f"{'case':34s} {'arrays':>6s} {'bytes':>8s}")
    for name, n_arrays, size in rows:
        print(f"{name:34s} {n_arrays:6d} {size:8d}")

    expected_files = {f"{n}{ext}" for n in generated for ext in (".json", ".npz")}
    stray = sorted(p.name for p in OUT_DIR.iterdir() if p.name not in expected_files)
    if stray:
        print(f"warning: files in {OUT_DIR} not written by this script: {stray}")

    total = sum(p.stat().st_size for p in OUT_DIR.iterdir() if p.is_file())
    print(f"{len(rows)} cases, {2 * len(rows)} files, total {total} bytes "
          f"({total / 1e6:.3f} MB) in {os.path.relpath(OUT_DIR)}")
    assert total < MAX_TOTAL_BYTES, f"fixtures too big: {total} bytes"


if __name__ == "__main__":
    main()
