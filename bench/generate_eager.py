#!/usr/bin/python3
"""Autoregressive decode speed: LayerScope's `generate` against a Hugging Face-style eager PyTorch
generation loop with a KV cache, on the same random model, the same prompt and greedy decoding.

    /usr/bin/python3 bench/generate_eager.py [--arch gpt2|llama] [--model DIR] [--small]
        [--contexts 128,512,1024] [--new-tokens 32] [--threads 0] [--cli PATH] [--repeats 2]
        [--conditions 'baseline;relu:L0,L1,L2,L3,L4,L5'] [--no-rerun] [--python-tuned]

Models are compare_eager.py's: --arch gpt2 (default) a random GPT-2 small (12 layers, dim 768, 12
heads, vocab 50257; bench_eval writes it), --arch llama a random SmolLM2-135M shape (30 layers,
dim 576, 9 query heads on 3 key/value heads, vocab 49152, RoPE). --small: a 2-layer dim-64 model
of the same architecture (vocab 1000), for trying the script out.

Per context C in --contexts: a prompt of C - new_tokens random token ids (seeded by C), then
new_tokens greedy tokens, so the sequence reaches C tokens. What is measured, per side (best of
--repeats; model load excluded on both sides):
  * python cached: the loop transformers' generate() runs with its DynamicCache, written like
                   compare_eager.py's forward (modeling_gpt2 / modeling_llama eager path: float32,
                   torch.inference_mode, repeat_kv after the cache for grouped queries). Prefill:
                   one forward over the prompt that fills the cache, head on the last position
                   only (generate's logits_to_keep=1), argmax = the first new token. Then
                   new_tokens - 1 decode steps: one token in, per layer its key and value appended
                   to the cache with torch.cat (a new tensor every step, as DynamicCache.update
                   does), the new query attending over all cached keys, argmax. Reported: prefill
                   ms; decode ms/token and tokens/s over the new_tokens - 1 decode steps only.
  * python re-run: no cache, the plain forward over the whole sequence for every new token
                   (new_tokens forwards of length C - new_tokens ... C - 1); tokens/s = new_tokens
                   / total time. What the cache buys is the ratio of the two.
  * layerscope:    `layerscope-cli generate --model DIR --prompts P.jsonl --max-new-tokens N
                   --greedy --condition ... --jsonl OUT.jsonl --json --threads T`, one process per
                   repeat, every condition of --conditions in the same process; its own
                   tokens_per_second and prefill_ms per condition. Re-run: the same with
                   --no-cache, baseline only.
--conditions is a ';'-separated list (a condition such as relu:L0,L1 holds commas); the default
is the baseline and relu on every head of the first six blocks (72 heads of GPT-2 small). For
conditions with relu heads the table shows their tokens/s over the baseline's.
Check: the baseline's greedy ids from LayerScope must equal Python's (and Python's cached ids
its re-run ids). On a random model a float32 near-tie can flip a token: a mismatch prints the
step and Python's top-2 logit gap there; it fails the run (exit 1) unless that gap is < 1e-3.
--threads 0 = os.cpu_count() (as compare_eager.py), set on torch and passed to the CLI.
LayerScope's programs set their thread pools' waiting policy at start (core/common/program_module.h);
the Python side runs with the defaults, as a researcher's script would, unless --python-tuned
(as compare_eager.py). On a small machine this matters most for decode, where every step is a
few hundred tiny parallel regions: on a 2-CPU VM, GPT-2 small's decode step took ~130 ms with
libgomp's defaults at 2 threads and ~38 ms with GOMP_SPINCOUNT=1000 (or at 1 thread).
Needs torch and numpy (Debian's /usr/bin/python3, the LibTorch the C++ side links); no
transformers, no safetensors package.
"""
import argparse, json, math, os, struct, subprocess, sys, tempfile, time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
import compare_eager as ce  # noqa: E402  (model writer, weight loader, norms, rotary helpers)

ROOT = Path(__file__).resolve().parent.parent
NEAR_TIE = 1e-3  # a top-2 logit gap below this may flip under float32 rounding differences

SMALL_GPT2 = {"model_type": "gpt2", "n_layer": 2, "n_head": 4, "n_embd": 64, "n_positions": 1024,
              "vocab_size": 1000, "activation_function": "gelu_new"}
GPT2_SMALL = {"model_type": "gpt2", "n_layer": 12, "n_head": 12, "n_embd": 768, "n_positions": 1024,
              "vocab_size": 50257, "activation_function": "gelu_new"}
SMALL_LLAMA = dict(ce.SMOLLM2_135M, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                   num_attention_heads=4, num_key_value_heads=2, vocab_size=1000)


def write_random_gpt2(model, cfg, seed=0):
    """A random GPT-2 folder written by hand like compare_eager.write_random_llama (same shapes,
    names and init as bench_support.h's writeGpt2Small; used for --small, or when bench_eval is
    not built)."""
    g = np.random.default_rng(seed)
    D, L, V, P = cfg["n_embd"], cfg["n_layer"], cfg["vocab_size"], cfg["n_positions"]
    spec = {"wte.weight": ((V, D), 0.02, 0.0), "wpe.weight": ((P, D), 0.01, 0.0)}
    for l in range(L):
        p = f"h.{l}."
        spec.update({p + "ln_1.weight": ((D,), 0.02, 1.0), p + "ln_1.bias": ((D,), 0.02, 0.0),
                     p + "attn.c_attn.weight": ((D, 3 * D), 0.02, 0.0), p + "attn.c_attn.bias": ((3 * D,), 0.02, 0.0),
                     p + "attn.c_proj.weight": ((D, D), 0.02, 0.0), p + "attn.c_proj.bias": ((D,), 0.02, 0.0),
                     p + "ln_2.weight": ((D,), 0.02, 1.0), p + "ln_2.bias": ((D,), 0.02, 0.0),
                     p + "mlp.c_fc.weight": ((D, 4 * D), 0.02, 0.0), p + "mlp.c_fc.bias": ((4 * D,), 0.02, 0.0),
                     p + "mlp.c_proj.weight": ((4 * D, D), 0.02, 0.0), p + "mlp.c_proj.bias": ((D,), 0.02, 0.0)})
    spec.update({"ln_f.weight": ((D,), 0.02, 1.0), "ln_f.bias": ((D,), 0.02, 0.0)})
    model.mkdir(parents=True, exist_ok=True)
    with open(model / "model.safetensors.partial", "wb") as f:
        f.write(ce.safetensors_header({name: shape for name, (shape, _, _) in spec.items()}, "F32"))
        for name, (shape, stdev, mean) in spec.items():
            f.write((g.standard_normal(shape, dtype=np.float32) * stdev + mean).astype("<f4").tobytes())
    (model / "config.json").write_text(json.dumps(cfg, indent=2))
    os.replace(model / "model.safetensors.partial", model / "model.safetensors")


def ensure_model(args):
    """The model folder: --model, or /tmp/layerscope-bench-<arch>[-small], written on first use."""
    model = Path(args.model or f"/tmp/layerscope-bench-{args.arch}" + ("-small" if args.small else ""))
    if (model / "model.safetensors").exists():
        return model
    if args.arch == "llama":
        ce.write_random_llama(model, SMALL_LLAMA if args.small else ce.SMOLLM2_135M)
    elif args.small:
        write_random_gpt2(model, SMALL_GPT2)
    elif (ROOT / "build/bench/bench_eval").exists():  # as compare_eager.py: bench_eval writes GPT-2 small
        subprocess.run([str(ROOT / "build/bench/bench_eval"), "--windows", "1", "--seq-len", "16",
                        "--keep", str(model)], check=True, stdout=subprocess.DEVNULL)
    else:
        write_random_gpt2(model, GPT2_SMALL)
    return model


def forward_gpt2(w, cfg, ids, cache, past):
    """Logits (B, V) at the last position of ids (B, T), which sit at positions past .. past+T-1;
    modeling_gpt2's eager path. cache: None (no cache: ids is the whole sequence) or a list with
    one entry per layer, None until filled, then [keys, values] (B, H, S, hd), grown with torch.cat
    as DynamicCache.update does."""
    B, T = ids.shape
    H, D, eps = cfg["n_head"], cfg["n_embd"], cfg.get("layer_norm_epsilon", 1e-5)
    hd = D // H
    x = w["wte.weight"][ids] + w["wpe.weight"][past:past + T]  # (B, T, D)
    for l in range(cfg["n_layer"]):
        p = f"h.{l}."
        h = ce.layer_norm(x, w, p + "ln_1", eps)
        qkv = h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]  # Conv1D layout
        q, k, v = (t.view(B, T, H, hd).transpose(1, 2) for t in qkv.split(D, dim=2))  # (B, H, T, hd)
        if cache is not None:
            if cache[l] is not None:
                k = torch.cat([cache[l][0], k], dim=-2)  # (B, H, past+T, hd)
                v = torch.cat([cache[l][1], v], dim=-2)
            cache[l] = [k, v]
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd)  # (B, H, T, past+T)
        if T > 1:  # query i (position past+i) sees keys 0 .. past+i; one new query sees all
            scores = scores.masked_fill(torch.ones(T, k.shape[-2], dtype=torch.bool).triu(past + 1), float("-inf"))
        a = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(B, T, D)
        x = x + (a @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"])
        h = ce.layer_norm(x, w, p + "ln_2", eps)
        h = F.gelu(h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"], approximate="tanh")
        x = x + (h @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"])
    x = ce.layer_norm(x[:, -1], w, "ln_f", eps)  # logits_to_keep=1: the head on the last position
    return x @ w["wte.weight"].t()  # tied head


def forward_llama(w, cfg, ids, cache, past):
    """As forward_gpt2, modeling_llama's eager path: RoPE at positions past .. past+T-1, the cache
    holds the rotated keys and the values on the key/value heads, repeat_kv after it."""
    B, T = ids.shape
    D, H, KVH = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd, eps = D // H, cfg["rms_norm_eps"]
    inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float32) / hd))
    freqs = torch.outer(torch.arange(past, past + T, dtype=torch.float32), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()  # (T, hd)
    head = w.get("lm_head.weight", w["model.embed_tokens.weight"])
    x = w["model.embed_tokens.weight"][ids]  # (B, T, D)
    for l in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{l}."
        h = ce.rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = (h @ w[p + "self_attn.q_proj.weight"].t()).view(B, T, H, hd).transpose(1, 2)  # (B, H, T, hd)
        k = (h @ w[p + "self_attn.k_proj.weight"].t()).view(B, T, KVH, hd).transpose(1, 2)
        v = (h @ w[p + "self_attn.v_proj.weight"].t()).view(B, T, KVH, hd).transpose(1, 2)
        q, k = q * cos + ce.rotate_half(q) * sin, k * cos + ce.rotate_half(k) * sin
        if cache is not None:
            if cache[l] is not None:
                k = torch.cat([cache[l][0], k], dim=-2)  # (B, KVH, past+T, hd)
                v = torch.cat([cache[l][1], v], dim=-2)
            cache[l] = [k, v]
        k, v = k.repeat_interleave(H // KVH, dim=1), v.repeat_interleave(H // KVH, dim=1)  # repeat_kv
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        if T > 1:
            scores = scores.masked_fill(torch.ones(T, k.shape[-2], dtype=torch.bool).triu(past + 1), float("-inf"))
        a = (torch.softmax(scores, dim=-1) @ v).transpose(1, 2).reshape(B, T, D)
        x = x + a @ w[p + "self_attn.o_proj.weight"].t()
        h = ce.rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        h = F.silu(h @ w[p + "mlp.gate_proj.weight"].t()) * (h @ w[p + "mlp.up_proj.weight"].t())
        x = x + h @ w[p + "mlp.down_proj.weight"].t()
    x = ce.rms_norm(x[:, -1], w["model.norm.weight"], eps)
    return x @ head.t()


def generate_cached(forward, w, cfg, prompt, new_tokens):
    """(prefill s, decode s, new ids, logits per step): prefill, then new_tokens - 1 decode steps."""
    n_layer = cfg.get("n_layer") or cfg["num_hidden_layers"]
    with torch.inference_mode():
        cache = [None] * n_layer
        steps = []
        t0 = time.perf_counter()
        logits = forward(w, cfg, prompt.unsqueeze(0), cache, 0)
        nxt = logits.argmax(-1, keepdim=True)  # (1, 1) greedy
        steps.append(logits)
        out = [nxt]
        t1 = time.perf_counter()
        past = prompt.numel()
        for _ in range(new_tokens - 1):
            logits = forward(w, cfg, nxt, cache, past)
            nxt = logits.argmax(-1, keepdim=True)
            steps.append(logits)
            out.append(nxt)
            past += 1
        t2 = time.perf_counter()
    return t1 - t0, t2 - t1, torch.cat(out, dim=1)[0].tolist(), steps


def generate_rerun(forward, w, cfg, prompt, new_tokens):
    """(seconds, new ids): the whole sequence's forward for every new token, no cache."""
    with torch.inference_mode():
        seq = prompt.unsqueeze(0)
        t0 = time.perf_counter()
        for _ in range(new_tokens):
            nxt = forward(w, cfg, seq, None, 0).argmax(-1, keepdim=True)
            seq = torch.cat([seq, nxt], dim=1)
        seconds = time.perf_counter() - t0
    return seconds, seq[0, prompt.numel():].tolist()


def top2_gap(logits):
    top = logits[0].topk(2).values
    return float(top[0] - top[1])


def compare_ids(what, ours, theirs, steps):
    """None when equal, else a loud message with the first differing step and Python's top-2 gap
    there; the bool says whether the gap is a near-tie."""
    if ours == theirs:
        return None
    if len(ours) != len(theirs) and ours[:min(len(ours), len(theirs))] == theirs[:min(len(ours), len(theirs))]:
        return f"MISMATCH {what}: {len(ours)} vs {len(theirs)} new tokens", False
    s = next(i for i, (a, b) in enumerate(zip(ours, theirs)) if a != b)
    gap = top2_gap(steps[s])
    lg = steps[s][0]
    other = float(lg[ours[s]] - lg[theirs[s]]) if theirs[s] < lg.numel() else float("nan")
    tie = gap < NEAR_TIE
    return (f"MISMATCH {what}: first differing new token at step {s} (python {ours[s]}, other {theirs[s]}); "
            f"python's top-2 logit gap there {gap:.3g}, its logit of its token minus the other's {other:.3g}"
            + (" -> a float32 near-tie, not counted as a failure" if tie else " -> NOT a near-tie")), tie


def run_cli(cmd, threads):
    """(parsed --json output, stderr) or (None, stderr). If the CLI refuses --threads, once more without it."""
    full = cmd + ["--threads", str(threads)]
    r = subprocess.run(full, capture_output=True, text=True)
    if r.returncode != 0 and "threads" in r.stderr:
        print(f"note: the CLI refused --threads ({r.stderr.strip().splitlines()[-1] if r.stderr.strip() else ''}); "
              f"again without it (its default threads)", flush=True)
        r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return None, f"exit {r.returncode}: {' '.join(full)}\n{r.stderr.strip()}"
    try:
        return json.loads(r.stdout), r.stderr
    except json.JSONDecodeError as e:
        return None, f"unreadable --json output ({e}): {r.stdout[:500]!r}\n{r.stderr.strip()}"


def condition_records(res):
    """One record per condition from `generate --json`: its "conditions" list, or (the run-file
    layout the CLI also prints) the columns of tables.generation_summary zipped into records."""
    if "conditions" in res:
        return res["conditions"]
    table = (res.get("tables") or {}).get("generation_summary") or {}
    cols = {k: v for k, v in table.items() if isinstance(v, list)}
    n = len(cols.get("condition", []))
    return [{k: v[i] for k, v in cols.items()} for i in range(n)]


def layerscope(args, model, threads, prompt, conditions, tmp, tag):
    """Best of --repeats `generate` runs: ({condition: record with the best tokens/s and prefill},
    {condition: new ids}, re-run record or None, re-run ids or None, errors)."""
    prompts = Path(tmp) / f"prompt{tag}.jsonl"
    prompts.write_text(json.dumps({"ids": prompt}) + "\n")
    base = [args.cli, "generate", "--model", str(model), "--prompts", str(prompts),
            "--max-new-tokens", str(args.new_tokens), "--greedy"]
    errors, best, ids = [], {}, {}

    def read_ids(path):
        got = {}
        for line in path.read_text().splitlines():
            if line.strip():
                rec = json.loads(line)
                got.setdefault(rec.get("condition"), rec.get("ids"))
        return got

    cond_args = [a for c in conditions for a in ("--condition", c)]
    for _ in range(args.repeats):
        out = Path(tmp) / f"out{tag}.jsonl"
        res, err = run_cli(base + cond_args + ["--jsonl", str(out), "--json"], threads)
        if res is None:
            errors.append(err)
            break
        for rec in condition_records(res):
            name = rec.get("condition")
            old = best.get(name)
            if old is None or rec.get("tokens_per_second", 0) > old.get("tokens_per_second", 0):
                prefill = min(rec.get("prefill_ms", math.inf), old.get("prefill_ms", math.inf) if old else math.inf)
                best[name] = dict(rec, prefill_ms=prefill)
            elif "prefill_ms" in rec:
                old["prefill_ms"] = min(old.get("prefill_ms", math.inf), rec["prefill_ms"])
        best.setdefault("__phases__", res.get("phases", {}))
        if not ids and out.exists():
            ids = read_ids(out)
    rerun, rerun_ids = None, None
    if not args.no_rerun and not errors:
        for _ in range(args.repeats):
            out = Path(tmp) / f"rerun{tag}.jsonl"
            res, err = run_cli(base + ["--condition", "baseline", "--no-cache", "--jsonl", str(out), "--json"], threads)
            if res is None:
                errors.append(err)
                break
            rec = next((c for c in condition_records(res) if c.get("condition") == "baseline"), None)
            if rec and (rerun is None or rec.get("tokens_per_second", 0) > rerun.get("tokens_per_second", 0)):
                rerun = rec
            if rerun_ids is None and out.exists():
                rerun_ids = read_ids(out).get("baseline")
    phases = best.pop("__phases__", {})
    return best, ids, rerun, rerun_ids, phases, errors


def machine_facts(threads):
    cpu = "?"
    try:
        cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    backend = next((l.split(":", 1)[1].strip() for l in torch.__config__.parallel_info().splitlines()
                    if l.startswith("ATen parallel backend")), "?")
    return (f"torch {torch.__version__} ({torch.__file__.rsplit('/', 2)[0]}), {backend}; "
            f"{threads} torch threads (torch's own default here {DEFAULT_THREADS}, interop "
            f"{torch.get_num_interop_threads()}); {os.cpu_count()} CPUs ({cpu})")


DEFAULT_THREADS = torch.get_num_threads()  # before main() sets it


def fmt(v, spec=".1f", width=9):
    return f"{'-':>{width}}" if v is None else f"{v:>{width}{spec}}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--arch", choices=["gpt2", "llama"], default="gpt2")
    ap.add_argument("--model", help="default: /tmp/layerscope-bench-<arch> (-small with --small), made on first use")
    ap.add_argument("--small", action="store_true", help="a 2-layer dim-64 model (vocab 1000) to try the script")
    ap.add_argument("--contexts", default="128,512,1024", help="sequence lengths reached (prompt + new tokens)")
    ap.add_argument("--new-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=0, help="0 = os.cpu_count()")
    ap.add_argument("--cli", default=str(ROOT / "build/app/cli/layerscope-cli"))
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--conditions", help="';'-separated generate conditions (default: 'baseline;relu:L0,...,L5', "
                                         "the first six blocks' heads, fewer on a smaller model)")
    ap.add_argument("--no-rerun", action="store_true", help="skip the no-cache re-run on both sides")
    ce.add_python_tuned_option(ap)
    args = ap.parse_args()
    ce.apply_python_tuned(args)
    if args.new_tokens < 2:
        raise SystemExit("--new-tokens: at least 2 (one from the prefill, the rest decoded)")
    threads = args.threads or os.cpu_count()
    torch.set_num_threads(threads)
    model = ensure_model(args)
    cfg = json.loads((model / "config.json").read_text())
    w = ce.load_safetensors(model / "model.safetensors")
    llama = cfg["model_type"] == "llama"
    forward = forward_llama if llama else forward_gpt2
    n_layer = cfg["num_hidden_layers"] if llama else cfg["n_layer"]
    max_ctx = cfg.get("max_position_embeddings") if llama else cfg.get("n_positions")
    conditions = [c.strip() for c in (args.conditions or "baseline;relu:" + ",".join(
        f"L{l}" for l in range(min(6, n_layer)))).split(";") if c.strip()]
    contexts = [int(c) for c in args.contexts.split(",")]
    for C in contexts:
        if C <= args.new_tokens or (max_ctx and C > max_ctx):
            raise SystemExit(f"--contexts: {C} must exceed --new-tokens ({args.new_tokens}) and fit the model ({max_ctx})")
    have_cli = Path(args.cli).exists()

    print(f"{'machine':<10} {machine_facts(threads)}; python thread pools: "
          + (f"tuned (GOMP_SPINCOUNT={os.environ['GOMP_SPINCOUNT']})" if "GOMP_SPINCOUNT" in os.environ else "defaults"))
    print(f"{'model':<10} {cfg['model_type']}, {n_layer} layers: {model}")
    print(f"{'work':<10} per context C: a random prompt of C - {args.new_tokens} ids, {args.new_tokens} greedy "
          f"tokens; best of {args.repeats}; decode tok/s excludes the prefill; re-run tok/s = new tokens / total")
    print(f"{'cli':<10} {args.cli}" + ("" if have_cli else "  (NOT FOUND: Python figures only)"), flush=True)

    warm = torch.randint(0, cfg["vocab_size"], (16,))  # untimed: the first calls' allocations and thread start
    generate_cached(forward, w, cfg, warm, 4)
    generate_rerun(forward, w, cfg, warm, 2)
    rows, failures = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for C in contexts:
            P = C - args.new_tokens
            prompt_ids = np.random.default_rng(C).integers(0, cfg["vocab_size"], size=P).tolist()
            prompt = torch.tensor(prompt_ids, dtype=torch.long)
            runs = [generate_cached(forward, w, cfg, prompt, args.new_tokens) for _ in range(args.repeats)]
            prefill_s = min(r[0] for r in runs)
            decode_s = min(r[1] for r in runs)
            py_ids, steps = runs[0][2], runs[0][3]
            row = {"C": C, "prefill_ms": 1e3 * prefill_s, "ms_tok": 1e3 * decode_s / (args.new_tokens - 1)}
            row["tps"] = 1e3 / row["ms_tok"]
            print(f"C={C}: python cached prefill {row['prefill_ms']:.1f} ms, decode {row['ms_tok']:.2f} ms/token "
                  f"({row['tps']:.1f} tok/s)", flush=True)
            if not args.no_rerun:
                rr = [generate_rerun(forward, w, cfg, prompt, args.new_tokens) for _ in range(args.repeats)]
                row["rerun_tps"] = args.new_tokens / min(r[0] for r in rr)
                print(f"C={C}: python re-run {row['rerun_tps']:.1f} tok/s", flush=True)
                m = compare_ids("python cached vs python re-run", py_ids, rr[0][1], steps)
                if m:
                    print(m[0], flush=True)
                    failures += not m[1]
            if have_cli:
                best, ls_ids, rerun, rerun_ids, phases, errors = layerscope(args, model, threads, prompt_ids,
                                                                            conditions, tmp, C)
                for e in errors:
                    print(f"layerscope-cli generate FAILED at C={C}:\n{e}", flush=True)
                row["ls"], row["ls_rerun"] = best, rerun
                if best:
                    print(f"C={C}: layerscope " + "; ".join(
                        f"{n}: prefill {r.get('prefill_ms', float('nan')):.1f} ms, {r.get('ms_per_token', float('nan')):.2f} "
                        f"ms/token, {r.get('tokens_per_second', float('nan')):.1f} tok/s" for n, r in best.items())
                        + (f"; re-run {rerun.get('tokens_per_second', float('nan')):.1f} tok/s" if rerun else "")
                        + (f"; phases {json.dumps(phases)}" if phases else ""), flush=True)
                    base_rec = best.get("baseline")
                    if base_rec and base_rec.get("new_tokens", args.new_tokens) != args.new_tokens:
                        print(f"NOTE C={C}: layerscope baseline made {base_rec.get('new_tokens')} tokens, asked "
                              f"{args.new_tokens}", flush=True)
                if "baseline" in ls_ids:
                    m = compare_ids(f"python vs layerscope baseline ids at C={C}", py_ids, ls_ids["baseline"], steps)
                    if m:
                        print(m[0], flush=True)
                        failures += not m[1]
                    else:
                        print(f"C={C}: layerscope's baseline greedy ids equal Python's ({len(py_ids)} tokens)")
                elif best:
                    print(f"MISMATCH C={C}: no baseline ids in layerscope's --jsonl output", flush=True)
                    failures += 1
                if rerun_ids is not None:
                    m = compare_ids(f"python vs layerscope --no-cache ids at C={C}", py_ids, rerun_ids, steps)
                    if m:
                        print(m[0], flush=True)
                        failures += not m[1]
            rows.append(row)

    # the table
    ls_names = []
    for r in rows:
        for n in r.get("ls") or {}:
            if n not in ls_names:
                ls_names.append(n)
    labels = {n: ("base" if n == "baseline" else f"c{i}") for i, n in enumerate(ls_names)}
    relu = [n for n in ls_names if n != "baseline" and "relu" in n]
    cols = ([("context", 7), ("py pre ms", 9), ("py ms/tok", 9), ("py tok/s", 9), ("py rerun", 9), ("cache x", 7),
             ("ls pre ms", 9)] + [(f"ls {labels[n]}", 9) for n in ls_names] + [("ls rerun", 9), ("ls/py", 6)]
            + [(f"{labels[n]}/base", 9) for n in relu])
    print()
    print("tokens/s (cached: decode only; re-run: new tokens / total); cache x = python cached / python re-run; "
          "ls pre ms = layerscope baseline's prefill; ls/py = layerscope baseline / python cached; "
          "cN/base = that condition's layerscope tokens/s over the baseline's")
    for n in ls_names:
        heads = next(((r.get("ls") or {}).get(n, {}).get("heads") for r in rows if n in (r.get("ls") or {})), "?")
        print(f"  {labels[n]} = {n} ({int(heads) if isinstance(heads, (int, float)) else heads} heads)")
    header = " ".join(f"{name:>{wd}}" for name, wd in cols)
    print(header)
    print("-" * len(header))
    for r in rows:
        ls = r.get("ls") or {}
        tps = {n: ls[n].get("tokens_per_second") for n in ls}
        base = tps.get("baseline")
        cells = [f"{r['C']:>7}", fmt(r["prefill_ms"]), fmt(r["ms_tok"], ".2f"), fmt(r["tps"]), fmt(r.get("rerun_tps")),
                 fmt(r["tps"] / r["rerun_tps"] if r.get("rerun_tps") else None, ".1f", 7),
                 fmt(ls["baseline"].get("prefill_ms") if "baseline" in ls else None)]
        cells += [fmt(tps.get(n)) for n in ls_names]
        cells += [fmt((r.get("ls_rerun") or {}).get("tokens_per_second")),
                  fmt(base / r["tps"] if base else None, ".2f", 6)]
        cells += [fmt(tps[n] / base if base and tps.get(n) else None, ".2f") for n in relu]
        print(" ".join(cells))
    if failures:
        print(f"\n{failures} MISMATCH(ES) beyond float32 near-ties: see above")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
