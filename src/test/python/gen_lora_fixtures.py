"""PEFT LoRA adapters on the small random Hugging Face models of gen_hf_fixtures.py, and what transformers + peft
compute with them in float64, for attn4j's LoRA tests (LoraAdaptersTest, LoraParityTest).

Each case is an adapter directory src/test/resources/lora/<name>/ exactly as peft's save_pretrained writes it
(adapter_config.json, adapter_model.safetensors with PEFT's tensor names, float32) on a base model of
src/test/resources/hf/ (run gen_hf_fixtures.py first), and <name>.npz beside it:
  input_ids [2, 12], target_ids [2, 12] (the next tokens), logits [2, 12, V] of base + adapter,
  loss (mean cross-entropy of the targets), and grad:<PEFT tensor name> for every lora_A / lora_B tensor,
  all computed in float64 from the weights exactly as stored (float32 in the files).

Cases: llama-qv (q_proj, v_proj; r 4, alpha 8) and llama-all ("all-linear", r 2, alpha 6, use_rslora) on the
grouped-query Llama; gpt2-all ("all-linear" on GPT-2's Conv1D layers, incl. the fused c_attn; r 4, alpha 16) on
GPT-2. B is drawn non-zero (PEFT initializes it to zero), scaled so that the adapter moves the logits by O(1):
a missing, transposed or misnamed adapter tensor, or a wrong scale, shows.

Run from the repository root: python src/test/python/gen_lora_fixtures.py
With --check DIR: loads every adapter directory DIR/<name> that attn4j wrote (LoraAdaptersTest leaves them in
target/lora-saved, each with <name>.json naming its base and <name>.npz with attn4j's float64 logits) into PEFT on
its base and compares PEFT's float64 logits with attn4j's.
"""
import argparse, json, math, os, shutil, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_hf_fixtures as hf  # noqa: E402  (float64 patches of transformers, random weights)
import numpy as np  # noqa: E402
import peft  # noqa: E402
import torch  # noqa: E402
from peft import LoraConfig, PeftModel, get_peft_model  # noqa: E402

OUT = "src/test/resources/lora"
CASES = [  # name, base directory, LoraConfig arguments, seed
    ("llama-qv", "llama-gqa-4x", dict(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], lora_dropout=0.05), 11),
    ("llama-all", "llama-gqa-4x", dict(r=2, lora_alpha=6, target_modules="all-linear", use_rslora=True), 12),
    ("gpt2-all", "gpt2", dict(r=4, lora_alpha=16, target_modules="all-linear"), 13),
]


def randomize_adapter(model, seed):
    """A ~ N(0, 1/in), B ~ N(0, 0.25/r): non-zero, of the base weights' size once scaled."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_A" in name:
                p.copy_(torch.randn(p.shape, generator=g) / math.sqrt(p.shape[1]))
            elif "lora_B" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=g) / math.sqrt(p.shape[1]))


def float64_peft(base, adapter):
    """base + adapter in PEFT, float64 throughout (gen_hf_fixtures' patches), in eval mode (no dropout)."""
    model = PeftModel.from_pretrained(hf.load_float64(base), adapter, is_trainable=True)
    return model.to(torch.float64).eval()


def reference(base, adapter, ids):
    """Logits, loss and every adapter tensor's gradient, by the names PEFT saves them under."""
    model = float64_peft(base, adapter)
    ids = torch.tensor(ids)
    inputs, targets = ids[:, :-1], ids[:, 1:]
    logits = model(inputs).logits
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
    loss.backward()
    out = dict(input_ids=inputs.numpy(), target_ids=targets.numpy(), logits=logits.detach().numpy(),
               loss=np.array(loss.item()))
    for name, p in model.named_parameters():
        if "lora_" in name:
            out["grad:" + name.replace(".default", "")] = p.grad.numpy()
    return out


def generate():
    os.makedirs(OUT, exist_ok=True)
    ids = torch.randint(0, hf.V, (2, hf.T + 1), generator=torch.Generator().manual_seed(21)).tolist()
    for name, base_name, lora, seed in CASES:
        base = os.path.join(hf.OUT, base_name)
        path = os.path.join(OUT, name)
        shutil.rmtree(path, ignore_errors=True)
        model = get_peft_model(hf.load_float64(base).to(torch.float32), LoraConfig(**lora))
        randomize_adapter(model, seed)
        model.save_pretrained(path)
        os.remove(os.path.join(path, "README.md"))  # peft's model card template: nothing attn4j reads
        ref = reference(base, path, ids)
        saved = ref["input_ids"].shape
        np.savez(os.path.join(OUT, name + ".npz"), **ref)
        grads = [k for k in ref if k.startswith("grad:")]
        with torch.no_grad():
            plain = hf.load_float64(base)(torch.tensor(ref["input_ids"])).logits.numpy()
        moved = np.abs(ref["logits"] - plain).max()
        print(f"{name}: on {base_name}, {sorted(os.listdir(path))}, inputs {saved}, loss {ref['loss']:.4f}, "
              f"{len(grads)} adapter gradients, the adapter moves the logits by up to {moved:.2f}")


def check(saved):
    worst = 0
    for name in sorted(n for n in os.listdir(saved) if os.path.isdir(os.path.join(saved, n))):
        with open(os.path.join(saved, name + ".json")) as f:
            base = json.load(f)["base"]
        own = np.load(os.path.join(saved, name + ".npz"))
        model = float64_peft(base, os.path.join(saved, name))
        with torch.no_grad():
            logits = model(torch.tensor(own["input_ids"])).logits.numpy()
        err = np.abs(logits - own["logits"]).max() / np.abs(own["logits"]).max()
        worst = max(worst, err)
        print(f"{name}: PEFT loads attn4j's adapter on {base}; relative logit error {err:.2e}")
        assert err < 1e-10, name
    print(f"PASS (worst {worst:.2e})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", help="a directory of attn4j-written adapter directories to load in PEFT")
    args = parser.parse_args()
    print(f"peft {peft.__version__}, transformers {hf.transformers.__version__}, torch {torch.__version__}")
    check(args.check) if args.check else generate()
