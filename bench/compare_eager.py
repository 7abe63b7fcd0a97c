#!/usr/bin/python3
"""Side-by-side eval throughput: LayerScope's forward pass vs. a plain eager PyTorch forward.

Both sides score the same random token windows with the same weights and must agree on the
mean loss. --arch gpt2 (default): a GPT-2-small-shaped random model (12 layers, dim 768, 12 heads,
vocab 50257). --arch llama: a SmolLM2-135M-shaped random model (30 layers, dim 576, 9 query
heads sharing 3 key/value heads, SwiGLU 1536, vocab 49152, RoPE), the grouped-query case.

    /usr/bin/python3 bench/compare_eager.py [--arch gpt2|llama] [--model DIR] [--windows 2]
        [--seq-len 1024] [--threads 0] [--cli PATH] [--repeats 2] [--python-tuned]
    /usr/bin/python3 bench/compare_eager.py --whole-process [--windows 1,2,8,32] [...]

LayerScope's programs set their thread pools' waiting policy at start (core/common/program_module.h);
the Python side runs with the defaults, as a researcher's script would, unless --python-tuned.

What is measured, per side (best of --repeats):
  * layerscope:   `layerscope-cli eval --json`, one process per repeat (so each repeat is a
                  cold start: no warm-up window); time is the CLI's own `seconds` (eval only,
                  model load excluded).
  * python eager: the forward a researcher would write (Hugging Face modeling_gpt2's or
                  modeling_llama's eager path: float32, inference_mode, repeat_kv for grouped
                  queries), windows batched up to 1024 tokens like LayerScope; model load excluded.
Both sides also report where their time went (attention, MLP, head + loss; LayerScope's from
`eval --time-split`, read at the forward's observation points).
Throughput is input tokens/s = windows * seq_len / seconds on both sides (each window scores
seq_len - 1 tokens, position 0 has no context). Next to it: this machine's fp32 matmul
GFLOP/s (1024^3 torch.mm, the better of a measure before and one after both sides) and the
fraction of that roofline each side reaches.
--whole-process measures what a researcher waits for, per window count: the whole
`layerscope-cli run cossim,saturation` process (start, model load, set-up, capture, summaries,
writing the run file; wall clock from fork to exit) next to the compute time of a hook-style
Python script doing the same work (the forward keeping every hidden state, cos-sim between
consecutive ones, the 13 logit-lens projections W norm_f(h_l) with their top-1, the loss);
and the whole `layerscope-cli eval` process next to the plain Python forward's compute.
The Python side's model load is excluded, so the ratios are conservative. LayerScope runs
twice per count: first with an empty set-up cache (a new model), then with the cache the
first run left (the second run on a model). Both sides' cos-sim means and saturation
rates must agree.
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


def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def forward_loss_llama(w, cfg, ids, split):
    """Summed next-token loss of ids (B, T), modeling_llama's eager path; adds seconds per part into split."""
    B, T = ids.shape
    D, H, KVH = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd, eps = D // H, cfg["rms_norm_eps"]
    inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
    freqs = torch.outer(torch.arange(T, dtype=torch.float32), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()  # (T, hd)
    causal = torch.ones(T, T, dtype=torch.bool).triu(1)
    x = w["model.embed_tokens.weight"][ids]  # (B, T, D)
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        t0 = time.perf_counter()
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = (h @ w[p + "self_attn.q_proj.weight"].t()).view(B, T, H, hd).transpose(1, 2)  # (B, H, T, hd)
        k = (h @ w[p + "self_attn.k_proj.weight"].t()).view(B, T, KVH, hd).transpose(1, 2)
        v = (h @ w[p + "self_attn.v_proj.weight"].t()).view(B, T, KVH, hd).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k, v = k.repeat_interleave(H // KVH, dim=1), v.repeat_interleave(H // KVH, dim=1)  # repeat_kv
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        scores = scores.masked_fill(causal, float("-inf"))
        a = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(B, T, D)
        x = x + a @ w[p + "self_attn.o_proj.weight"].t()
        t1 = time.perf_counter()
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        h = F.silu(h @ w[p + "mlp.gate_proj.weight"].t()) * (h @ w[p + "mlp.up_proj.weight"].t())
        x = x + h @ w[p + "mlp.down_proj.weight"].t()
        t2 = time.perf_counter()
        split["attention"] += t1 - t0
        split["mlp"] += t2 - t1
    t0 = time.perf_counter()
    x = rms_norm(x[:, :-1], w["model.norm.weight"], eps)
    logits = x @ w["model.embed_tokens.weight"].t()  # tied head
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1), reduction="sum")
    split["head + loss"] += time.perf_counter() - t0
    return float(loss)


SMOLLM2_135M = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 576,
                "intermediate_size": 1536, "num_hidden_layers": 30, "num_attention_heads": 9,
                "num_key_value_heads": 3, "vocab_size": 49152, "max_position_embeddings": 2048,
                "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu",
                "tie_word_embeddings": True, "torch_dtype": "float32"}


def safetensors_header(shapes, dtype):
    """A safetensors file's beginning for tensors of `shapes` (name -> shape, in file order), all of
    `dtype` ("F32" or "BF16"): the u64 LE length and the JSON header, padded to 8 bytes."""
    size = {"F32": 4, "BF16": 2}[dtype]
    header, offset = {}, 0
    for name, shape in shapes.items():
        n = size * int(np.prod(shape))
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h


def write_random_llama(model, cfg=SMOLLM2_135M, seed=0, dtype="F32"):
    """A random Llama folder (config.json + model.safetensors written by hand, tensor by tensor),
    float32 or (dtype "BF16") bfloat16; with an lm_head when the config does not tie it."""
    g = np.random.default_rng(seed)
    D, F_, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    hd = D // cfg["num_attention_heads"]
    kv = cfg["num_key_value_heads"] * hd
    shapes = {"model.embed_tokens.weight": (V, D), "model.norm.weight": (D,)}
    if not cfg.get("tie_word_embeddings", True):
        shapes["lm_head.weight"] = (V, D)
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        shapes.update({p + "input_layernorm.weight": (D,), p + "post_attention_layernorm.weight": (D,),
                       p + "self_attn.q_proj.weight": (D, D), p + "self_attn.k_proj.weight": (kv, D),
                       p + "self_attn.v_proj.weight": (kv, D), p + "self_attn.o_proj.weight": (D, D),
                       p + "mlp.gate_proj.weight": (F_, D), p + "mlp.up_proj.weight": (F_, D),
                       p + "mlp.down_proj.weight": (D, F_)})
    model.mkdir(parents=True, exist_ok=True)
    with open(model / "model.safetensors.partial", "wb") as f:
        f.write(safetensors_header(shapes, dtype))
        for name, shape in shapes.items():
            a = np.ones(shape, np.float32) if name.endswith("norm.weight") else \
                (g.standard_normal(shape, dtype=np.float32) * 0.02)
            # bf16 is float32's top half (truncated)
            f.write(a.astype("<f4").tobytes() if dtype == "F32" else (a.view(np.uint32) >> 16).astype("<u2").tobytes())
    (model / "config.json").write_text(json.dumps(cfg, indent=2))
    os.replace(model / "model.safetensors.partial", model / "model.safetensors")


def forward_hidden_gpt2(w, cfg, ids):
    """Hook-style: the residual stream entering block 1 and leaving every block, [L+1 x (B, T, D)]."""
    B, T = ids.shape
    H, D, eps = cfg["n_head"], cfg["n_embd"], cfg.get("layer_norm_epsilon", 1e-5)
    hd = D // H
    x = w["wte.weight"][ids] + w["wpe.weight"][:T]
    causal = torch.ones(T, T, dtype=torch.bool).triu(1)
    hidden = [x]
    for l in range(cfg["n_layer"]):
        p = f"h.{l}."
        h = layer_norm(x, w, p + "ln_1", eps)
        qkv = h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
        q, k, v = (t.view(B, T, H, hd).transpose(1, 2) for t in qkv.split(D, dim=2))
        scores = ((q @ k.transpose(-1, -2)) / math.sqrt(hd)).masked_fill(causal, float("-inf"))
        a = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(B, T, D)
        x = x + (a @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"])
        h = layer_norm(x, w, p + "ln_2", eps)
        h = F.gelu(h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"], approximate="tanh")
        x = x + (h @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"])
        hidden.append(x)
    return hidden


def run_cossim_saturation(w, cfg, ids, seq_len):
    """The work of `run cossim,saturation`, as a hook-style script does it, window by window:
    (seconds, mean cos-sim per layer (L), saturation rate per layer (L+1))."""
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    windows = ids.view(-1, seq_len)
    L = cfg["n_layer"]
    cos_sum, agree, tokens = torch.zeros(L, dtype=torch.float64), torch.zeros(L + 1, dtype=torch.float64), 0
    t0 = time.perf_counter()
    with torch.inference_mode():
        for window in windows:
            hidden = [h[0, :-1] for h in forward_hidden_gpt2(w, cfg, window.unsqueeze(0))]  # scored positions
            for l in range(1, L + 1):
                cos_sum[l - 1] += F.cosine_similarity(hidden[l - 1], hidden[l], dim=-1).double().sum()
            top1 = []
            for l in range(L + 1):  # the logit lens: W norm_f(h_l), (T-1, V)
                logits = layer_norm(hidden[l], w, "ln_f", eps) @ w["wte.weight"].t()
                top1.append(logits.argmax(-1))
            loss = F.cross_entropy(logits, window[1:], reduction="none")  # (T-1): the saturated/unsaturated losses
            for l in range(L + 1):
                agree[l] += (top1[l] == top1[L]).double().sum()
            tokens += seq_len - 1
    seconds = time.perf_counter() - t0
    return seconds, (cos_sum / tokens).tolist(), (agree / tokens).tolist()


def whole_process(args, model, cfg, threads, w):
    """--whole-process: LayerScope's whole processes against the Python script's compute."""
    import shutil
    T = args.seq_len
    counts = [int(n) for n in str(args.windows).split(",")]
    print(f"machine: {threads} threads; model: {model} ({args.arch}); {T}-token random windows; "
          f"seconds (LayerScope: whole process, best of {args.repeats}; Python: compute only, best of "
          f"{args.repeats}, 1 run above 8 windows)")
    header = (f"{'windows':>7} | {'run: cold cache':>15} {'warm cache':>10} {'python':>8} {'ratio':>6} | "
              f"{'eval':>6} {'python':>7} {'ratio':>6} | LayerScope's phases (warm run)")
    print(header)
    print("-" * len(header))
    with tempfile.TemporaryDirectory() as tmp:
        for W in counts:
            ids = np.random.default_rng(1).integers(0, cfg["vocab_size"], size=W * T, dtype=np.int32)
            ids_path = Path(tmp) / f"ids{W}.npy"
            np.save(ids_path, ids)
            common = ["--model", str(model), "--data", str(ids_path), "--seq-len", str(T), "--threads", str(threads)]
            cache = Path(tmp) / "cache"

            def timed(cmd, env_cache):
                env = dict(os.environ, XDG_CACHE_HOME=str(env_cache))
                t0 = time.perf_counter()
                out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
                return time.perf_counter() - t0, json.loads(out)

            run_cmd = [args.cli, "run", "cossim,saturation", *common, "--json",
                       "--out", str(Path(tmp) / "run.h5")]
            cold = []
            for _ in range(args.repeats):
                shutil.rmtree(cache, ignore_errors=True)
                cold.append(timed(run_cmd, cache))
            warm = min((timed(run_cmd, cache) for _ in range(args.repeats)), key=lambda r: r[0])
            evals = min((timed([args.cli, "eval", *common, "--json"], cache) for _ in range(args.repeats)),
                        key=lambda r: r[0])
            repeats = args.repeats if W <= 8 else 1
            ids_t = torch.from_numpy(ids.astype(np.int64))
            py = min((run_cossim_saturation(w, cfg, ids_t, T) for _ in range(repeats)), key=lambda r: r[0])
            py_eval = min((run_eager(w, cfg, ids_t, T) for _ in range(repeats)), key=lambda r: r[0])
            cold_s = min(c[0] for c in cold)
            phases = warm[1].get("phases", {})
            print(f"{W:>7} | {cold_s:>15.2f} {warm[0]:>10.2f} {py[0]:>8.2f} {warm[0] / py[0]:>6.2f} | "
                  f"{evals[0]:>6.2f} {py_eval[0]:>7.2f} {evals[0] / py_eval[0]:>6.2f} | "
                  + " ".join(f"{k} {phases[k]:.2f}" for k in ("startup", "load", "setup", "capture", "summaries", "writing")
                             if k in phases), flush=True)
            check_agreement(warm[1], py)
            if abs(evals[1]["mean_loss"] - py_eval[1]) > 1e-4 * abs(py_eval[1]):
                raise SystemExit(f"MISMATCH: eval mean loss {evals[1]['mean_loss']} vs python {py_eval[1]}")
    return 0


def check_agreement(run, py):
    """The run's cos-sim means and saturation rates against the script's: the same numbers (the
    lens top-1 may differ on a float32 near-tie, so the rates within 0.2 points)."""
    tables = run["tables"]
    ours_cos = tables["cossim_layers"]["mean"]
    ours_rate = tables["saturation_layers"]["rate"]
    for l, (a, b) in enumerate(zip(ours_cos, py[1]), start=1):
        if abs(a - b) > 1e-4:
            raise SystemExit(f"MISMATCH: cos-sim mean at layer {l}: layerscope {a} vs python {b}")
    for l, (a, b) in enumerate(zip(ours_rate, py[2])):
        if abs(a - b) > 2e-3:
            raise SystemExit(f"MISMATCH: saturation rate at layer {l}: layerscope {a} vs python {b}")


def run_eager(w, cfg, ids, seq_len):
    """One timed pass over all windows: (seconds, mean loss, time split)."""
    forward = forward_loss_llama if cfg["model_type"] == "llama" else forward_loss
    windows = ids.view(-1, seq_len)  # (W, T)
    per_batch = max(1, BATCH_TOKENS // seq_len) if windows.numel() > BATCH_TOKENS else len(windows)
    split = {"attention": 0.0, "mlp": 0.0, "head + loss": 0.0}
    total = 0.0
    t0 = time.perf_counter()
    with torch.inference_mode():
        for b in range(0, len(windows), per_batch):
            total += forward(w, cfg, windows[b:b + per_batch], split)
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
    #   2 x (block weights) per layer   GPT-2: 12 D^2 (c_attn 3D^2, c_proj D^2, MLP 8D^2);
    #                                   Llama: q and o D^2 each, k and v D*kv each, 3 D*F
    # + 2 * 2 * T * D * L               attention scores q k^T and mixing @ v, full T x T
    # + 2 * V * D * (T-1) / T           the head, on the T-1 scored positions of each window
    T = seq_len
    if cfg["model_type"] == "llama":
        L, D, V, F_ = cfg["num_hidden_layers"], cfg["hidden_size"], cfg["vocab_size"], cfg["intermediate_size"]
        kv = cfg["num_key_value_heads"] * (D // cfg["num_attention_heads"])
        block = 2 * D * D + 2 * D * kv + 3 * D * F_
    else:
        L, D, V = cfg["n_layer"], cfg["n_embd"], cfg["vocab_size"]
        block = 12 * D * D
    return 2.0 * block * L + 4.0 * T * D * L + 2.0 * V * D * (T - 1) / T


def add_python_tuned_option(ap):
    ap.add_argument("--python-tuned", action="store_true",
                    help="run the Python side with LayerScope's thread-pool settings too "
                         "(GOMP_SPINCOUNT=1000, OPENBLAS_THREAD_TIMEOUT=4; core/common/program_module.h)")


def apply_python_tuned(args):
    """--python-tuned: re-run this script with LayerScope's thread-pool settings (libgomp reads
    them when it loads, so they cannot be set from inside)."""
    if args.python_tuned and "GOMP_SPINCOUNT" not in os.environ:
        env = dict(os.environ, GOMP_SPINCOUNT="1000", OPENBLAS_THREAD_TIMEOUT="4")
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", choices=["gpt2", "llama"], default="gpt2")
    ap.add_argument("--model", help="default: /tmp/layerscope-bench-<arch>, made on first use")
    ap.add_argument("--windows", default="2", help="a count; with --whole-process a list, e.g. 1,2,8,32")
    ap.add_argument("--whole-process", action="store_true",
                    help="whole LayerScope processes (run cossim,saturation and eval) against the Python "
                         "script's compute, per window count")
    ap.add_argument("--seq-len", type=int, default=1024)
    ap.add_argument("--threads", type=int, default=0, help="0 = os.cpu_count()")
    ap.add_argument("--cli", default=str(ROOT / "build/app/cli/layerscope-cli"))
    ap.add_argument("--repeats", type=int, default=2)
    add_python_tuned_option(ap)
    args = ap.parse_args()
    apply_python_tuned(args)
    threads = args.threads or os.cpu_count()
    torch.set_num_threads(threads)
    model = Path(args.model or f"/tmp/layerscope-bench-{args.arch}")

    if not (model / "model.safetensors").exists():
        if args.arch == "llama":
            write_random_llama(model)
        else:  # random GPT-2 small, written by bench_eval
            subprocess.run([str(ROOT / "build/bench/bench_eval"), "--windows", "1", "--seq-len", "16",
                            "--keep", str(model)], check=True, stdout=subprocess.DEVNULL)
    cfg = json.loads((model / "config.json").read_text())
    w = load_safetensors(model / "model.safetensors")
    if args.whole_process:
        if args.arch != "gpt2":
            raise SystemExit("--whole-process: the hook-style script is written for --arch gpt2")
        return whole_process(args, model, cfg, threads, w)
    T, W = args.seq_len, int(args.windows)
    ids = np.random.default_rng(1).integers(0, cfg["vocab_size"], size=W * T, dtype=np.int32)

    gflops = matmul_gflops()  # measured again after both sides; the best of the two is the roofline
    flops = flops_per_token(cfg, T)

    with tempfile.TemporaryDirectory() as tmp:  # LayerScope: best of --repeats CLI runs
        ids_path = Path(tmp) / "ids.npy"
        np.save(ids_path, ids)
        runs = []
        for _ in range(args.repeats):
            out = subprocess.run([args.cli, "eval", "--model", str(model), "--data", str(ids_path),
                                  "--seq-len", str(T), "--threads", str(threads), "--json", "--time-split"],
                                 check=True, capture_output=True, text=True).stdout
            runs.append(json.loads(out))
    ls = min(runs, key=lambda r: r["seconds"])
    assert ls["windows"] == W and ls["tokens"] == W * (T - 1), ls

    ids_t = torch.from_numpy(ids.astype(np.int64))  # python eager: best of --repeats
    py_seconds, py_loss, split = min((run_eager(w, cfg, ids_t, T) for _ in range(args.repeats)),
                                     key=lambda r: r[0])
    gflops = max(gflops, matmul_gflops())  # a shared machine's rate varies: the better measure

    def side(name, seconds, loss):
        tps = W * T / seconds  # input tokens/s
        pct = 100.0 * tps * flops / 1e9 / gflops
        print(f"{name:<18} {tps:.1f} tokens/s  ({tps * flops / 1e9:.1f} GFLOP/s, {pct:.0f}% of roofline)"
              f"  mean loss {loss:.6f}")
        return tps

    print(f"{'machine':<18} {threads} threads, matmul 1024^3 fp32 {gflops:.1f} GFLOP/s")
    print(f"{'model':<18} {args.arch}: {model}")
    print(f"{'data':<18} {W} windows x {T} tokens (same ids, same weights), "
          f"{flops / 1e6:.1f} MFLOP/token, throughput = input tokens/s")
    ls_tps = side("layerscope", ls["seconds"], ls["mean_loss"])
    py_tps = side("python eager" + (" (tuned)" if args.python_tuned else ""), py_seconds, py_loss)
    print(f"{'ratio':<18} {ls_tps / py_tps:.2f}x (aim >= 1.3x)")
    def time_split(name, parts, seconds):
        other = seconds - sum(parts.values())
        print(f"{name:<18} " + "  ".join(f"{k} {v:.2f} s ({100 * v / seconds:.0f}%)" for k, v in parts.items())
              + f"  other {100 * other / seconds:.0f}%")
    t = ls["time_split"]
    time_split("layerscope split", {"attention": t["attention"], "mlp": t["mlp"], "head + loss": t["head_loss"]},
               ls["seconds"])
    time_split("python split", split, py_seconds)
    rel = abs(ls["mean_loss"] - py_loss) / abs(py_loss)
    if rel > 1e-4:
        print(f"MISMATCH: mean loss layerscope {ls['mean_loss']:.6f} vs python {py_loss:.6f} (rel {rel:.2e} > 1e-4)")
        return 1
    print(f"{'check':<18} mean losses agree (rel diff {rel:.1e})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
