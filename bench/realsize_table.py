"""Reads a bench/realsize log: attn4j's and PyTorch's RESULT lines per shape, a table, and one RESULT line of
attn4j's figures with their ratios to PyTorch's (decode: attn4j tokens/s in each format over the faster of torch's
float32 generate and plain loop; prefill and training: torch time over attn4j time, so above 1 means attn4j is faster)."""
import sys


def fields(line):
    return dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)


def main(path):
    java, torch = {}, {}
    with open(path) as f:
        for line in f:
            if not line.startswith("RESULT "):
                continue
            r = fields(line)
            # attn4j's phases may come in two lines of a shape (two JVMs): merged, the first line's machine figures
            # kept (each line's MFU and bounds are against its own)
            merged = (java if "read_gbps" in r else torch).setdefault(r["shape"], {})
            for key, value in r.items():
                merged.setdefault(key, value)
    out = []
    for shape, j in java.items():
        t = torch.get(shape, {})
        print(f"\n{shape}: {int(j['parameters']) / 1e6:.1f} M parameters, weights {j['weights_mb']} MB; read bandwidth "
              f"{j['read_gbps']} GB/s (OpenBLAS's sasum; a Java vector loop {j.get('java_read_gbps', '-')}), GEMM peak "
              f"{j['gemm_gflops']} GFLOP/s")
        print(f"{'row':<28}{'attn4j':>12}{'of bound':>10}{'torch':>12}{'ratio':>8}")
        for key in sorted(k for k in j if "_decode_tps_b" in k):
            fmt, b = key.split("_decode_tps_b")
            anchors = [float(t[k]) for k in (f"float32_loop_tps_b{b}", f"float32_generate_tps_b{b}") if k in t]
            best = max(anchors) if anchors else float("nan")
            ratio = float(j[key]) / best
            bound = j[f"{fmt}_decode_bound_b{b}"]
            print(f"{fmt + ' decode tok/s b' + b:<28}{j[key]:>12}{bound:>10}{best:>12.1f}{ratio:>8.2f}")
            out += [f"{shape}_{key}={j[key]}", f"{shape}_{fmt}_decode_bound_b{b}={bound}",
                    f"{shape}_{fmt}_decode_vs_torch_f32_b{b}={ratio:.2f}"]
            for kind in ("loop", "generate"):
                k = f"{fmt}_{kind}_tps_b{b}"
                if k in t:
                    print(f"{'  torch ' + fmt + ' ' + kind:<28}{'':>12}{'':>10}{t[k]:>12}")
        for key, unit in (("prefill_ms", "prefill ms (mfu)"), ("train_step_ms", "train step ms (mfu)")):
            if key in j:
                mfu = j.get(key.replace("_ms", "_mfu").replace("_step", ""), "")
                ratio = float(t[key]) / float(j[key]) if key in t else float("nan")
                print(f"{unit:<28}{j[key]:>12}{mfu:>10}{t.get(key, '-'):>12}{ratio:>8.2f}")
                out += [f"{shape}_{key}={j[key]}", f"{shape}_{key}_torch_over_attn4j={ratio:.2f}"]
        for key in sorted(k for k in j if "peak_mb" in k):
            print(f"{key:<28}{j[key]:>12}{'':>10}{t.get(key, '-'):>12}")
        out += [f"{shape}_train_mfu={j.get('train_mfu', 'nan')}", f"{shape}_prefill_mfu={j.get('prefill_mfu', 'nan')}"]
    print("RESULT " + " ".join(out))


if __name__ == "__main__":
    main(sys.argv[1])
