"""The Python side of TokenizerBenchmark: HF tokenizers (Python binding, one thread) and tiktoken encode the same
1 MiB of Shakespeare and 1 MiB of this repository's Java with the real GPT-2 vocabulary; load time of GPT-2's
tokenizer.json; optionally BpeTrainer on a corpus (time and peak memory, as BpeTrainerBenchmark reports for Java).

  python bench/tokenizers_hf.py                       # encode and load
  python bench/tokenizers_hf.py --train FILE --vocab 32000
  python bench/tokenizers_hf.py --make-corpus target/bench/bpe-corpus.txt --mb 10
      (Shakespeare, then Python's standard library sources in sorted order, cut at that size: a corpus any machine
      with Python can rebuild)
Last line: RESULT ...
"""
import argparse, json, os, resource, statistics, sys, time

os.environ["RAYON_NUM_THREADS"] = "1"  # one thread, as the Java side
os.environ["TOKENIZERS_PARALLELISM"] = "false"

from tokenizers import Tokenizer, models, pre_tokenizers, decoders, trainers  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))


def inputs(mib):
    n = mib << 20
    with open(os.path.join(ROOT, "examples", "data", "tinyshakespeare.txt"), encoding="utf-8") as f:
        prose = f.read()[:n]
    parts, size = [], 0
    files = []
    for d, _, names in os.walk(os.path.join(ROOT, "src")):
        files += [os.path.join(d, x) for x in names if x.endswith(".java")]
    for path in sorted(files, key=lambda p: os.path.relpath(p, os.path.join(ROOT, "src"))):
        with open(path, encoding="utf-8") as f:
            parts.append(f.read())
        size += len(parts[-1])
        if size >= n:
            break
    return {"prose": prose, "code": "".join(parts)[:n]}


def tiktoken_gpt2(hf):
    """tiktoken's GPT-2 encoding built from the same vocabulary (get_encoding would download it)."""
    try:
        import tiktoken
    except ImportError:
        print("tiktoken not installed: not measured")
        return None
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    cs, n = bs[:], 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    byte_of = {chr(c): b for b, c in zip(bs, cs)}
    ranks = {bytes(byte_of[ch] for ch in token): i for token, i in hf.get_vocab(with_added_tokens=False).items()}
    pattern = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
    return tiktoken.Encoding("gpt2-local", pat_str=pattern, mergeable_ranks=ranks, special_tokens={})


def make_corpus(path, size):
    import sysconfig
    with open(os.path.join(ROOT, "examples", "data", "tinyshakespeare.txt"), encoding="utf-8") as f:
        parts = [f.read()]
    total = len(parts[0].encode("utf-8"))
    stdlib = sysconfig.get_paths()["stdlib"]
    files = sorted(os.path.join(d, x) for d, _, names in os.walk(stdlib) for x in names if x.endswith(".py"))
    for name in files:
        if total >= size:
            break
        with open(name, encoding="utf-8", errors="replace") as f:
            parts.append(f.read())
        total += len(parts[-1].encode("utf-8"))
    data = "".join(parts).encode("utf-8")[:size].decode("utf-8", errors="ignore")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(data)
    print(f"wrote {path}: {len(data.encode('utf-8')) / 1e6:.1f} MB")


def median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--tokenizer", default=os.path.join(ROOT, "src/test/resources/tokenizers/gpt2/tokenizer.json"))
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--mib", type=int, default=1)
    p.add_argument("--train", help="a text file to train a byte-level BPE vocabulary on")
    p.add_argument("--vocab", type=int, default=32000)
    p.add_argument("--make-corpus", help="write a training corpus to this file and stop")
    p.add_argument("--mb", type=int, default=10)
    args = p.parse_args()
    if args.make_corpus:
        make_corpus(args.make_corpus, args.mb * 1_000_000)
        return
    result = ["RESULT"]
    if args.train:
        tok = Tokenizer(models.BPE())
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(vocab_size=args.vocab, show_progress=False,
                                      initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        t = time.perf_counter()
        tok.train([args.train], trainer)
        seconds = time.perf_counter() - t
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"HF BpeTrainer: vocab {tok.get_vocab_size()} on {os.path.getsize(args.train) / 1e6:.1f} MB in "
              f"{seconds:.1f} s, peak RSS {peak_mb:.0f} MB (the whole process)")
        out = os.path.join(ROOT, "target", "bench", "bpe-trained-hf")
        os.makedirs(out, exist_ok=True)
        tok.save(os.path.join(out, "tokenizer.json"))
        java = os.path.join(ROOT, "target", "bench", "bpe-trained", "tokenizer.json")
        agree = ""
        if os.path.exists(java):  # BpeTrainerBenchmark's vocabulary from the same corpus
            with open(java, encoding="utf-8") as f:
                theirs = json.load(f)["model"]["merges"]
            ours = json.loads(tok.to_str())["model"]["merges"]
            same = next((i for i, (x, y) in enumerate(zip(ours, theirs)) if x != y), min(len(ours), len(theirs)))
            print(f"merges: HF {len(ours)}, attn4j {len(theirs)}, equal before the first difference: {same}")
            agree = f" merges_agreeing={same} merges_hf={len(ours)}"
        print(f"RESULT hf_train_s={seconds:.1f} hf_train_peak_rss_mb={peak_mb:.0f}" + agree)
        return
    Tokenizer.from_file(args.tokenizer)
    load = median_time(lambda: Tokenizer.from_file(args.tokenizer), args.repeats)
    print(f"HF tokenizers: load GPT-2 tokenizer.json {load * 1e3:.1f} ms")
    result.append(f"hf_load_ms={load * 1e3:.1f}")
    hf = Tokenizer.from_file(args.tokenizer)
    tk = tiktoken_gpt2(hf)
    for name, text in inputs(args.mib).items():
        mb = len(text.encode("utf-8")) / 1e6
        hf.encode(text)
        t_hf = median_time(lambda: hf.encode(text), args.repeats)
        line = f"encode {name:5s} {mb:.2f} MB: HF tokenizers {mb / t_hf:.2f} MB/s ({len(hf.encode(text).ids)} tokens)"
        result.append(f"hf_{name}_mb_s={mb / t_hf:.2f}")
        if tk is not None:
            tk.encode_ordinary(text)
            t_tk = median_time(lambda: tk.encode_ordinary(text), args.repeats)
            line += f", tiktoken {mb / t_tk:.2f} MB/s ({len(tk.encode_ordinary(text))} tokens)"
            result.append(f"tiktoken_{name}_mb_s={mb / t_tk:.2f}")
        print(line)
    print(" ".join(result))


if __name__ == "__main__":
    sys.exit(main())
