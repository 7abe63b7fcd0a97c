#!/usr/bin/python3
"""Side-by-side eval throughput: LayerScope's forward pass vs. a plain eager PyTorch forward.

Both sides score the same random token windows with the same weights (a GPT-2-small-shaped
random model: 12 layers, dim 768, 12 heads, vocab 50257) and must agree on the mean loss.

    /usr/bin/python3 bench/compare_eager.py [--model DIR] [--windows 2] [--seq-len 1024]
        [--threads 0] [--cli PATH] [--repeats 2]

What is measured, per side (best of --repeats):
  * layerscope:   `layerscope-cli eval --json`, one process per repeat (so each repeat is a
                  cold start: no warm-up window); time is the CLI's own `seconds` (eval only,
                  model load excluded).
  * python eager: the forward a researcher would write (Hugging Face modeling_gpt2's eager
                  path, float32, inference_mode), windows batched up to 1024 tokens like
                  LayerScope; model load excluded.
Throughput is input tokens/s = windows * seq_len / seconds on both sides (each window scores
seq_len - 1 tokens, position 0 has no context). Next to it: this machine's fp32 matmul
GFLOP/s (1024^3 torch.mm) and the fraction of that roofline each side reaches.
Needs torch and numpy (Debian's /usr/bin/python3); no safetensors package.
"""
import argparse, json, math, os, struct, subprocess, sys, tempfile, time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
BATCH_TOKENS = 1024  # LayerScope batches windows up to this many tokens


def load_safetensors(path):
    """name -> float32 tensor, read by hand: u64 LE header length, JSON header, raw data."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    raw = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", f"{name}: {info['dtype']} (only F32 supported)"
        begin, end = info["data_offsets"]
        arr = np.frombuffer(raw[begin:end], dtype="<f4").reshape(info["shape"])
        out[name.removeprefix("transformer.")] = torch.from_numpy(arr.copy())
    return out


def layer_norm(x, w, prefix, eps):
    return F.layer_norm(x, x.shape[-1:], w[prefix + ".weight"], w[prefix + ".bias"], eps)


def forward_loss(w, cfg, ids, split):
    """Summed next-token loss of ids (B, T); adds seconds per part into split."""
    B, T = ids.shape
    H, D, eps = cfg["n_head"], cfg["n_embd"], cfg.get("layer_norm_epsilon", 1e-5)
    hd = D // H
    x = w["wte.weight"][ids] + w["wpe.weight"][:T]  # (B, T, D)
    causal = torch.ones(T, T, dtype=torch.bool).triu(1)  # True above the diagonal = masked
    for l in range(cfg["n_layer"]):
        p = f"h.{l}."
        t0 = time.perf_counter()
        h = layer_norm(x, w, p + "ln_1", eps)
        qkv = h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]  # (B, T, 3D), Conv1D layout
        q, k, v = (t.view(B, T, H, hd).transpose(1, 2) for t in qkv.split(D, dim=2))  # (B, H, T, hd)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd)  # (B, H, T, T)
        scores = scores.masked_fill(causal, float("-inf"))
        a = torch.softmax(scores, dim=-1) @ v  # (B, H, T, hd)
        a = a.transpose(1, 2).reshape(B, T, D)  # merge heads
        x = x + (a @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"])
        t1 = time.perf_counter()
        h = layer_norm(x, w, p + "ln_2", eps)
        h = F.gelu(h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"], approximate="tanh")  # (B, T, 4D)
        x = x + (h @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"])
        t2 = time.perf_counter()
        split["attention"] += t1 - t0
        split["mlp"] += t2 - t1
    t0 = time.perf_counter()
    x = layer_norm(x[:, :-1], w, "ln_f", eps)  # positions 0..T-2 predict ids[:, 1:]
    logits = x @ w["wte.weight"].t()  # (B, T-1, V), tied head
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), reduction="sum")
    split["head + loss"] += time.perf_counter() - t0
    return float(loss)


def run_eager(w, cfg, ids, seq_len):
    """One timed pass over all windows: (seconds, mean loss, time split)."""
    windows = ids.view(-1, seq_len)  # (W, T)
    per_batch = max(1, BATCH_TOKENS // seq_len) if windows.numel() > BATCH_TOKENS else len(windows)
    split = {"attention": 0.0, "mlp": 0.0, "head + loss": 0.0}
    total = 0.0
    t0 = time.perf_counter()
    with torch.inference_mode():
        for b in range(0, len(windows), per_batch):
            total += forward_loss(w, cfg, windows[b:b + per_batch], split)
    seconds = time.perf_counter() - t0
    return seconds, total / (len(windows) * (seq_len - 1)), split


def matmul_gflops(n=1024, iters=10):
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)  # warm-up
    best = 0.0
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(iters):
            torch.mm(a, b)
        best = max(best, 2.0 * n ** 3 * iters / (time.perf_counter() - t0) / 1e9)
    return best


def flops_per_token(cfg, seq_len):
    # Forward FLOPs per input token, as bench/bench_eval.cpp counts them:
    #   2 * 12 D^2 * L          block matmuls (c_attn 3D^2, c_proj D^2, c_fc 4D^2, mlp c_proj 4D^2)
    # + 2 * 2 * T * D * L       attention scores q k^T and mixing @ v over the full T x T matrices
    # + 2 * V * D * (T-1) / T   the head, on the T-1 scored positions of each window
    L, D, V, T = cfg["n_layer"], cfg["n_embd"], cfg["vocab_size"], seq_len
    return 2.0 * 12 * D * D * L + 4.0 * T * D * L + 2.0 * V * D * (T - 1) / T


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="/tmp/layerscope-bench-gpt2")
    ap.add_argument("--windows", type=int, default=2)
    ap.add_argument("--seq-len", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=0, help="0 = os.cpu_count()")
    ap.add_argument("--cli", default=str(ROOT / "build/app/cli/layerscope-cli"))
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    threads = args.threads or os.cpu_count()
    torch.set_num_threads(threads)
    model = Path(args.model)

    if not (model / "model.safetensors").exists():  # random GPT-2 small, written by bench_eval
        subprocess.run([str(ROOT / "build/bench/bench_eval"), "--windows", "1", "--seq-len", "16",
                        "--keep", str(model)], check=True, stdout=subprocess.DEVNULL)
    cfg = json.loads((model / "config.json").read_text())
    w = load_safetensors(model / "model.safetensors")
    T, W = args.seq_len, args.windows
    ids = np.random.default_rng(1).integers(0, cfg["vocab_size"], size=W * T, dtype=np.int32)

    gflops = matmul_gflops()
    flops = flops_per_token(cfg, T)

    with tempfile.TemporaryDirectory() as tmp:  # LayerScope: best of --repeats CLI runs
        ids_path = Path(tmp) / "ids.npy"
        np.save(ids_path, ids)
        runs = []
        for _ in range(args.repeats):
            out = subprocess.run([args.cli, "eval", "--model", str(model), "--data", str(ids_path),
                                  "--seq-len", str(T), "--threads", str(threads), "--json"],
                                 check=True, capture_output=True, text=True).stdout
            runs.append(json.loads(out))
    ls = min(runs, key=lambda r: r["seconds"])
    assert ls["windows"] == W and ls["tokens"] == W * (T - 1), ls

    ids_t = torch.from_numpy(ids.astype(np.int64))  # python eager: best of --repeats
    py_seconds, py_loss, split = min((run_eager(w, cfg, ids_t, T) for _ in range(args.repeats)),
                                     key=lambda r: r[0])

    def side(name, seconds, loss):
        tps = W * T / seconds  # input tokens/s
        pct = 100.0 * tps * flops / 1e9 / gflops
        print(f"{name:<18} {tps:.1f} tokens/s  ({tps * flops / 1e9:.1f} GFLOP/s, {pct:.0f}% of roofline)"
              f"  mean loss {loss:.6f}")
        return tps

    print(f"{'machine':<18} {threads} threads, matmul 1024^3 fp32 {gflops:.1f} GFLOP/s")
    print(f"{'data':<18} {W} windows x {T} tokens (same ids, same weights), "
          f"{flops / 1e6:.1f} MFLOP/token, throughput = input tokens/s")
    ls_tps = side("layerscope", ls["seconds"], ls["mean_loss"])
    py_tps = side("python eager", py_seconds, py_loss)
    print(f"{'ratio':<18} {ls_tps / py_tps:.2f}x (aim >= 1.3x)")
    other = py_seconds - sum(split.values())
    print(f"{'python time split':<18} " + "  ".join(f"{k} {100 * v / py_seconds:.0f}%" for k, v in split.items())
          + f"  other {100 * other / py_seconds:.0f}%")
    rel = abs(ls["mean_loss"] - py_loss) / abs(py_loss)
    if rel > 1e-4:
        print(f"MISMATCH: mean loss layerscope {ls['mean_loss']:.6f} vs python {py_loss:.6f} (rel {rel:.2e} > 1e-4)")
        return 1
    print(f"{'check':<18} mean losses agree (rel diff {rel:.1e})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
