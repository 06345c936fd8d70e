"""Small random-weight Hugging Face model directories, and their logits from transformers in float64, for
attn4j's LanguageModel.fromPretrained / savePretrained tests (HuggingFaceModelsTest).

Each directory under src/test/resources/hf/<name>/ is what transformers' save_pretrained writes (config.json,
model.safetensors or shards + model.safetensors.index.json, generation_config.json), sometimes rewritten the way
other files on the hub are (a transformers 4.x config.json; GPT-2 tensors without the "transformer." prefix, in
float16, with the causal-mask buffers old files carry). Beside it, <name>.npz holds "input_ids" [2, 12] and the
"logits" [2, 12, V] that transformers computes in float64 from the weights exactly as stored in the file.

Weights are drawn so that logits are far from zero (std ~1 per unit of fan-in, embeddings std 1) and norm
weights away from 1 (1 + 0.3 N(0, 1)), biases N(0, 0.1^2), so that a swapped, transposed or missing tensor moves
the logits by O(1). transformers computes RMSNorm, the eager softmax and the rotary angles in float32 even in a
float64 model; those three are patched here to float64 (the patched inverse frequencies are checked against
transformers' own to 1e-6), so the reference is float64 throughout.

Run from the repository root: python src/test/python/gen_hf_fixtures.py
With --reload DIR: loads every attn4j-written directory DIR/<name> (HuggingFaceModelsTest leaves them in
target/hf-saved) in transformers and checks its float64 logits against <name>.npz: the fixture's, or for models
attn4j made from a ModelConfig (fresh-*), DIR/<name>.npz with attn4j's own float64 logits.
With --gpt2-small DIR: writes a GPT-2-small-shaped random model (124 M parameters, float32, not committed) for
bench/java/org/attn4j/bench/PretrainedLoad.java, and times transformers' from_pretrained on it.
"""
import argparse, json, math, os, shutil, sys

os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402
from transformers import (AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM,  # noqa: E402
                          MistralConfig, MistralForCausalLM, Qwen2Config, Qwen2ForCausalLM)
from transformers.models.llama import modeling_llama  # noqa: E402
from transformers.models.mistral import modeling_mistral  # noqa: E402
from transformers.models.qwen2 import modeling_qwen2  # noqa: E402

torch.set_num_threads(1)
OUT = "src/test/resources/hf"
V, T = 64, 12


def float64_eager_attention(module, query, key, value, attention_mask, scaling, dropout=0.0, **kwargs):
    """transformers' eager_attention_forward without its float32 softmax."""
    key = modeling_llama.repeat_kv(key, module.num_key_value_groups)
    value = modeling_llama.repeat_kv(value, module.num_key_value_groups)
    scores = torch.matmul(query, key.transpose(2, 3)) * scaling
    if attention_mask is not None:
        scores = scores + attention_mask
    weights = torch.softmax(scores, dim=-1)
    return torch.matmul(weights, value).transpose(1, 2).contiguous(), weights


def rms_norm_float64(self, hidden):
    variance = hidden.pow(2).mean(-1, keepdim=True)
    return self.weight * (hidden * torch.rsqrt(variance + self.variance_epsilon))


def inverse_frequencies(config):
    """The rotary frequencies in float64, as transformers' compute_default/llama3 rope parameters."""
    rope = dict(config.rope_parameters)
    dim = config.hidden_size // config.num_attention_heads
    inv = 1.0 / (rope["rope_theta"] ** (torch.arange(0, dim, 2, dtype=torch.float64) / dim))
    if rope.get("rope_type", "default") == "llama3":
        factor, low, high = rope["factor"], rope["low_freq_factor"], rope["high_freq_factor"]
        old = rope["original_max_position_embeddings"]
        wavelen = 2 * math.pi / inv
        scaled = torch.where(wavelen > old / low, inv / factor, inv)
        smooth = (old / wavelen - low) / (high - low)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < old / high) & ~(wavelen > old / low)
        inv = torch.where(medium, smoothed, scaled)
    return inv


def rotary_float64(self, x, position_ids):
    freqs = position_ids[:, :, None].to(torch.float64) * self.inv_freq64[None, None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    return (emb.cos() * self.attention_scaling).to(x.dtype), (emb.sin() * self.attention_scaling).to(x.dtype)


for m in (modeling_llama, modeling_mistral, modeling_qwen2):
    m.eager_attention_forward = float64_eager_attention
modeling_llama.LlamaRMSNorm.forward = rms_norm_float64
modeling_mistral.MistralRMSNorm.forward = rms_norm_float64
modeling_qwen2.Qwen2RMSNorm.forward = rms_norm_float64
for cls in (modeling_llama.LlamaRotaryEmbedding, modeling_mistral.MistralRotaryEmbedding,
            modeling_qwen2.Qwen2RotaryEmbedding):
    cls.forward = rotary_float64


def load_float64(path):
    """The directory in transformers, float64 throughout (the patches above)."""
    model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float64, attn_implementation="eager").eval()
    rotary = getattr(getattr(model, "model", None), "rotary_emb", None)
    if rotary is not None:
        inv = inverse_frequencies(model.config)
        assert torch.allclose(inv, rotary.inv_freq.to(torch.float64), rtol=1e-6, atol=0), (inv, rotary.inv_freq)
        rotary.inv_freq64 = inv
    return model


def logits_of(path, ids):
    with torch.no_grad():
        return load_float64(path)(torch.tensor(ids)).logits.numpy()


def randomize(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name or ".ln_" in name or name.endswith("ln_f.weight"):
                p.copy_((1 + 0.3 * torch.randn(p.shape, generator=g)) if name.endswith("weight")
                        else 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif "wte" in name or "wpe" in name or "embed_tokens" in name:
                p.copy_(torch.randn(p.shape, generator=g))
            else:
                p.copy_(1.5 * torch.randn(p.shape, generator=g) / math.sqrt(p.shape[1]))  # [out, in] in memory
    return model


def save(name, model, ids, dtype=torch.float32, **kwargs):
    path = os.path.join(OUT, name)
    shutil.rmtree(path, ignore_errors=True)
    model.to(dtype).save_pretrained(path, **kwargs)
    return path


def write_reference(name, path, ids):
    np.savez(os.path.join(OUT, name + ".npz"), input_ids=np.array(ids, dtype=np.int64), logits=logits_of(path, ids))


def rewrite_config(path, change):
    with open(os.path.join(path, "config.json")) as f:
        config = json.load(f)
    change(config)
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config, f, indent=2, sort_keys=True)


def as_4x(config):
    """A config.json as transformers 4.x wrote them (most of the hub): top-level rope_theta and rope_scaling,
    torch_dtype."""
    rope = config.pop("rope_parameters", None)
    if rope is not None:
        config["rope_theta"] = rope.pop("rope_theta")
        config["rope_scaling"] = None if rope.get("rope_type", "default") == "default" else rope
    config["torch_dtype"] = config.pop("dtype")
    config["transformers_version"] = "4.45.2"


def ids_for(seed):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, V, (2, T), generator=g).tolist()


def llama_config(**kw):
    base = dict(vocab_size=V, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
                num_key_value_heads=2, max_position_embeddings=32, rms_norm_eps=1e-5, tie_word_embeddings=False,
                bos_token_id=1, eos_token_id=2)
    base.update(kw)
    return base


def generate():
    os.makedirs(OUT, exist_ok=True)
    ids = ids_for(7)
    cases = []

    gpt2 = randomize(GPT2LMHeadModel(GPT2Config(vocab_size=V, n_embd=32, n_head=4, n_layer=2, n_positions=32,
                                                bos_token_id=0, eos_token_id=0)), 1)
    cases.append(("gpt2", save("gpt2", gpt2, ids)))

    # As the hub's own GPT-2 file: names without "transformer.", the causal-mask buffers, here in float16.
    path = os.path.join(OUT, "gpt2-noprefix-f16")
    shutil.copytree(os.path.join(OUT, "gpt2"), path, dirs_exist_ok=True)
    tensors = load_file(os.path.join(path, "model.safetensors"))
    tensors = {k.removeprefix("transformer."): v.to(torch.float16) for k, v in tensors.items()}
    for i in range(2):
        tensors[f"h.{i}.attn.bias"] = torch.tril(torch.ones(32, 32, dtype=torch.float16)).view(1, 1, 32, 32)
    save_file(tensors, os.path.join(path, "model.safetensors"), metadata={"format": "pt"})
    rewrite_config(path, lambda c: c.update(dtype="float16"))
    cases.append(("gpt2-noprefix-f16", path))

    llama = randomize(LlamaForCausalLM(LlamaConfig(**llama_config())), 2)
    path = save("llama-gqa-4x", llama, ids)
    rewrite_config(path, as_4x)
    cases.append(("llama-gqa-4x", path))

    mqa = randomize(LlamaForCausalLM(LlamaConfig(**llama_config(
        num_key_value_heads=1, tie_word_embeddings=True, rms_norm_eps=1e-6, eos_token_id=[2, 3],
        rope_parameters={"rope_type": "default", "rope_theta": 500000.0}))), 3)
    cases.append(("llama-mqa-tied", save("llama-mqa-tied", mqa, ids)))

    llama3 = randomize(LlamaForCausalLM(LlamaConfig(**llama_config(
        num_attention_heads=2, num_key_value_heads=1, eos_token_id=[2, 3], max_position_embeddings=512,
        rope_parameters={"rope_type": "llama3", "rope_theta": 500000.0, "factor": 8.0, "low_freq_factor": 1.0,
                         "high_freq_factor": 4.0, "original_max_position_embeddings": 64}))), 4)
    path = save("llama3-scaled-4x", llama3, ids)
    rewrite_config(path, as_4x)
    cases.append(("llama3-scaled-4x", path))

    mistral = randomize(MistralForCausalLM(MistralConfig(**llama_config(sliding_window=4))), 5)
    cases.append(("mistral-window", save("mistral-window", mistral, ids)))

    qwen = randomize(Qwen2ForCausalLM(Qwen2Config(**llama_config(tie_word_embeddings=True))), 6)
    cases.append(("qwen2", save("qwen2", qwen, ids)))

    bf16 = randomize(LlamaForCausalLM(LlamaConfig(**llama_config())), 8)
    cases.append(("llama-bf16", save("llama-bf16", bf16, ids, dtype=torch.bfloat16)))

    sharded = randomize(LlamaForCausalLM(LlamaConfig(**llama_config())), 9)
    cases.append(("llama-sharded", save("llama-sharded", sharded, ids, max_shard_size="40KB")))

    for name, path in cases:
        write_reference(name, path, ids)
        logits = np.load(os.path.join(OUT, name + ".npz"))["logits"]
        files = sorted(os.listdir(path))
        print(f"{name}: {files}, logits std {logits.std():.2f}, max |logit| {np.abs(logits).max():.2f}")


def reload(saved):
    worst = 0
    for name in sorted(n for n in os.listdir(saved) if os.path.isdir(os.path.join(saved, n))):
        # a fixture saved back, or a model attn4j made, whose attn4j logits the test left beside it
        own = os.path.join(saved, name + ".npz")
        reference = np.load(own if os.path.exists(own) else os.path.join(OUT, name + ".npz"))
        logits = logits_of(os.path.join(saved, name), reference["input_ids"].tolist())
        err = np.abs(logits - reference["logits"]).max() / np.abs(reference["logits"]).max()
        worst = max(worst, err)
        print(f"{name}: transformers loads attn4j's directory; relative logit error {err:.2e}")
        assert err < 1e-10, name
    print(f"PASS (worst {worst:.2e})")


def gpt2_small(path):
    """The benchmark's directory, then transformers' own load of it: wall time and peak resident memory."""
    import resource, subprocess, time
    if not os.path.exists(os.path.join(path, "model.safetensors")):
        GPT2LMHeadModel(GPT2Config()).save_pretrained(path)
    code = ("import time, resource, torch; from transformers import AutoModelForCausalLM; t = time.time(); "
            f"m = AutoModelForCausalLM.from_pretrained({path!r}, dtype=torch.float32); "
            "print(f'transformers from_pretrained: {time.time() - t:.2f} s, peak rss '"
            "f'{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB, '"
            "f'{sum(p.numel() for p in m.parameters()) / 1e6:.1f} M parameters')")
    for _ in range(3):
        subprocess.run([sys.executable, "-c", code], check=True)
    print(f"file {os.path.getsize(os.path.join(path, 'model.safetensors')) / 1e6:.0f} MB")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--reload", help="a directory of attn4j-written model directories to check")
    parser.add_argument("--gpt2-small", help="write a 124 M GPT-2 here and time transformers loading it")
    args = parser.parse_args()
    print(f"transformers {transformers.__version__}, torch {torch.__version__}")
    if args.gpt2_small:
        gpt2_small(args.gpt2_small)
    else:
        reload(args.reload) if args.reload else generate()
