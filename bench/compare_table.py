"""Builds bench/compare's table from the BENCH lines of BlockBenchmark.java, torch_block.py, torch_lm.py and
torch_seq2seq.py.

Usage: /usr/bin/python3 bench/compare_table.py LOG

Times are medians in ms, one column per implementation and thread count: attn4j, torch (Debian's
1.13) and torch2 (a PyTorch 2.x build) where the log has it. A row measured in several rounds (bench/compare
runs the model rows lm_train_step and seq2seq_train_step in three) shows each implementation's lowest median of
its rounds, and the "Rounds" lines list them all. ratio = attn4j / PyTorch, attn4j at its
best thread count over the fastest PyTorch build at its best (< 1: attn4j is faster). peak = the
machine's measured GEMM peak, the fastest 1024^3 float GEMM of either library at any thread count;
a training step's fraction of peak = its matmul FLOPs / its best time / peak.
The last line is RESULT train_step_ratio=... forward_ratio=... toy_train_step_ratio=...
gemm_peak_fraction=... kv_cache_speedup=... lm_train_step_ratio=... seq2seq_train_step_ratio=... (standard
size unless named toy; lm_train_step is the char_gpt language model, seq2seq_train_step the sequence example's
encoder-decoder; the latter has no FLOPs count, its batches' lengths vary).
"""
import re
import sys

LINE = re.compile(r"BENCH impl=(\S+) size=(\S+) threads=(\S+) workload=(\S+) median_ms=(\S+) min_ms=(\S+) "
                  r"iters=(\d+)(.*)")
WORKLOADS = ["forward", "train_step", "forward_samediff", "train_step_samediff", "mha_forward",
             "mha_forward_samediff", "decode_cached", "decode_recompute", "lm_train_step", "seq2seq_train_step"]
TORCH_IMPLS = ["torch", "torch2"]
TRAINING = ("train_step", "lm_train_step")


def parse(path):
    """{(impl, size, workload, threads): {'median': ms, 'min': ms, 'rounds': [median, ...], extra key: value}}:
    a row measured in several rounds keeps the round with the lowest median, and every round's median."""
    runs = {}
    with open(path) as f:
        for line in f:
            m = LINE.match(line.strip())
            if m:
                impl, size, threads, workload, median, minimum, _, extra = m.groups()
                row = {"median": float(median), "min": float(minimum)}
                row.update(kv.split("=", 1) for kv in extra.split())
                key = (impl, size, workload, threads)
                rounds = runs[key]["rounds"] if key in runs else []
                row["rounds"] = rounds + [row["median"]]
                if key not in runs or row["median"] < runs[key]["median"]:
                    runs[key] = row
                else:
                    runs[key]["rounds"] = row["rounds"]
    return runs


def thread_counts(runs):
    return sorted({k[3] for k in runs}, key=lambda t: (not t.isdigit(), int(t) if t.isdigit() else 0, t))


def best(runs, impl, size, workload):
    """The fastest median over thread counts, and its thread count; (None, None) if not measured."""
    found = [(r["median"], k[3]) for k, r in runs.items() if k[:3] == (impl, size, workload)]
    return min(found) if found else (None, None)


def fmt(x, digits=1):
    return "—" if x is None else f"{x:.{digits}f}"


def num(x, digits):
    """A RESULT value: nan when not measured."""
    return "nan" if x is None else f"{x:.{digits}f}"


def memory_lines(path):
    """TrainMemory's RESULT lines (bench/compare --memory, --lm-memory), without their RESULT word."""
    with open(path) as f:
        return [line.split(" ", 1)[1].strip() for line in f if line.startswith("RESULT size=")]


def ratio(runs, size, workload):
    """attn4j's best over the fastest PyTorch build's best; None unless both were measured."""
    a, _ = best(runs, "attn4j", size, workload)
    torch = [t for t, _ in (best(runs, i, size, workload) for i in TORCH_IMPLS) if t is not None]
    return None if a is None or not torch else a / min(torch)


def main(path):
    runs = parse(path)
    threads = thread_counts(runs)
    gemm = {k: float(r["gflops"]) for k, r in runs.items() if k[2] == "gemm"}
    peak = max(gemm.values()) if gemm else None
    sizes = [s for s in ("toy", "standard", "tiny", "char_gpt", "lm_tiny", "sequence", "s2s_tiny")
             if any(k[1] == s for k in runs)]
    impls = ["attn4j"] + [i for i in TORCH_IMPLS if any(k[0] == i for k in runs)]

    head = ["size", "workload"] + [f"{i} {t}t ms" for i in impls for t in threads] + ["ratio attn4j/torch",
                                                                                      "fraction of GEMM peak"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for size in sizes:
        for w in WORKLOADS:
            if not any(k[1:3] == (size, w) for k in runs):
                continue
            cells = [fmt(runs.get((i, size, w, t), {}).get("median")) for i in impls for t in threads]
            frac = ""
            if w in TRAINING and peak:
                parts = []
                for i in impls:
                    ms, _ = best(runs, i, size, w)
                    if ms is not None:
                        flops = float(runs[(i, size, w, best(runs, i, size, w)[1])]["flops"])
                        parts.append(f"{i} {flops / ms / 1e6 / peak:.3f}")
                frac = ", ".join(parts)
            print(f"| {size} | {w} | " + " | ".join(cells) + f" | {fmt(ratio(runs, size, w), 2)} | {frac} |")
    print()
    for (impl, _, _, t), g in sorted(gemm.items()):
        print(f"GEMM 1024^3 float, {impl}, {t} thread(s): {g:.1f} GFLOP/s")
    print(f"GEMM peak (fastest of the above): {fmt(peak)} GFLOP/s")
    for size in sizes:
        for impl in impls:
            c, _ = best(runs, impl, size, "decode_cached")
            r, _ = best(runs, impl, size, "decode_recompute")
            if c and r:
                tokens = runs[(impl, size, "decode_cached", best(runs, impl, size, "decode_cached")[1])]["tokens"]
                print(f"KV cache, {size}, {impl}: {tokens} tokens cached {c:.0f} ms, recomputed {r:.0f} ms, "
                      f"speedup {r / c:.2f}x")

    for (impl, size, workload, t), r in sorted(runs.items()):
        if len(r["rounds"]) > 1:
            print(f"Rounds, {size} {workload}, {impl} {t}t: medians " + ", ".join(f"{x:.1f}" for x in r["rounds"])
                  + f" ms (best {r['median']:.1f})")
    for memory in memory_lines(path):
        print(f"Memory, {memory.replace(' ', ', ')}")
    for impl in TORCH_IMPLS:
        builds = sorted({r["torch"] for k, r in runs.items() if k[0] == impl and "torch" in r})
        if builds:
            print(f"{impl}: PyTorch {', '.join(builds)}")

    train_ms, train_t = best(runs, "attn4j", "standard", "train_step")
    peak_fraction = None
    if train_ms is not None and peak:
        flops = float(runs[("attn4j", "standard", "train_step", train_t)]["flops"])
        peak_fraction = flops / train_ms / 1e6 / peak
    cached, _ = best(runs, "attn4j", "standard", "decode_cached")
    recomputed, _ = best(runs, "attn4j", "standard", "decode_recompute")
    speedup = recomputed / cached if cached and recomputed else None
    print(f"RESULT train_step_ratio={num(ratio(runs, 'standard', 'train_step'), 3)} "
          f"forward_ratio={num(ratio(runs, 'standard', 'forward'), 3)} "
          f"toy_train_step_ratio={num(ratio(runs, 'toy', 'train_step'), 3)} "
          f"gemm_peak_fraction={num(peak_fraction, 3)} kv_cache_speedup={num(speedup, 2)} "
          f"lm_train_step_ratio={num(ratio(runs, 'char_gpt', 'lm_train_step'), 3)} "
          f"seq2seq_train_step_ratio={num(ratio(runs, 'sequence', 'seq2seq_train_step'), 3)}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: compare_table.py LOG")
    main(sys.argv[1])
