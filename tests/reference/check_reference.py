#!/usr/bin/python3
"""Self-consistency check of make_model.py's reference forward passes.

1. Independent second formulations, float64:
   - GPT-2 through torch.nn modules (nn.LayerNorm, nn.MultiheadAttention with a causal mask,
     F.gelu(approximate='tanh')) instead of the functional code;
   - Llama in Meta's original formulation: q/k weights un-permuted from the HF layout,
     complex-number (interleaved-pair) rotary embedding, Meta's loop-based llama3
     apply_scaling, repeat_interleave for GQA, additive -inf mask.
   Both must agree with make_model.py's forward to ~1e-12.
2. Reading back what make_model.py wrote (its own safetensors writer parsed by a separate
   reader here) and recomputing ref_logits.npy from the file bytes.
3. Sensitivity: the plausible implementation mistakes (erf GELU instead of gelu_new,
   interleaved RoPE on HF weights, no llama3 scaling, wrong GQA head mapping, original
   weights instead of the stored rounded ones, ...) must move the logits by much more than
   the tolerance the C++ tests use, while a float32 forward stays well inside it.

Exit status 0 when everything holds; prints one line per check.
"""
import json
import math
import os
import struct
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_model as mm  # noqa: E402

# The C++ tests' tolerance: max |got - ref| <= REL_TOL * max(1, max |ref|).
REL_TOL = 5e-5
failures = []


def check(cond, msg):
    print(("ok    " if cond else "FAIL  ") + msg)
    if not cond:
        failures.append(msg)


# ----------------------------------------------------------------------------------------
# Independent reader for the files make_model.py writes
# ----------------------------------------------------------------------------------------
def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        buf = data[b:end]
        shape = e["shape"]
        if e["dtype"] == "F32":
            arr = np.frombuffer(buf, dtype="<f4").astype(np.float64)
        elif e["dtype"] == "F16":
            arr = np.frombuffer(buf, dtype="<f2").astype(np.float64)
        elif e["dtype"] == "BF16":
            u = np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16
            arr = u.view(np.float32).astype(np.float64)
        else:
            raise ValueError(e["dtype"])
        assert arr.size == int(np.prod(shape)) if shape else arr.size == 1
        out[name] = torch.from_numpy(arr.reshape(shape).copy())
    return out


def read_folder(d):
    cfg = json.load(open(os.path.join(d, "config.json")))
    w = {}
    idx = os.path.join(d, "model.safetensors.index.json")
    if os.path.exists(idx):
        for f in sorted(set(json.load(open(idx))["weight_map"].values())):
            w.update(read_safetensors(os.path.join(d, f)))
    else:
        w.update(read_safetensors(os.path.join(d, "model.safetensors")))
    clean = {}
    for k, v in w.items():
        if k.endswith("attn.bias") and v.dim() == 4 or k.endswith("masked_bias"):
            continue
        clean[k[len("transformer."):] if k.startswith("transformer.") else k] = v
    return cfg, clean


# ----------------------------------------------------------------------------------------
# Second formulations
# ----------------------------------------------------------------------------------------
def gpt2_modules(w, cfg, ids):
    D, H, eps = cfg["n_embd"], cfg["n_head"], cfg["layer_norm_epsilon"]
    T = ids.shape[0]
    F = torch.nn.functional
    with torch.no_grad():
        x = (F.embedding(ids, w["wte.weight"]) + F.embedding(torch.arange(T), w["wpe.weight"]))[None]
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        for i in range(cfg["n_layer"]):
            p = "h.%d." % i
            ln1 = torch.nn.LayerNorm(D, eps=eps).double()
            ln1.weight.copy_(w[p + "ln_1.weight"]); ln1.bias.copy_(w[p + "ln_1.bias"])
            mha = torch.nn.MultiheadAttention(D, H, batch_first=True).double()
            mha.in_proj_weight.copy_(w[p + "attn.c_attn.weight"].T)
            mha.in_proj_bias.copy_(w[p + "attn.c_attn.bias"])
            mha.out_proj.weight.copy_(w[p + "attn.c_proj.weight"].T)
            mha.out_proj.bias.copy_(w[p + "attn.c_proj.bias"])
            h = ln1(x)
            a, _ = mha(h, h, h, attn_mask=mask, need_weights=False)
            x = x + a
            ln2 = torch.nn.LayerNorm(D, eps=eps).double()
            ln2.weight.copy_(w[p + "ln_2.weight"]); ln2.bias.copy_(w[p + "ln_2.bias"])
            fc = torch.nn.Linear(D, w[p + "mlp.c_fc.weight"].shape[1]).double()
            fc.weight.copy_(w[p + "mlp.c_fc.weight"].T); fc.bias.copy_(w[p + "mlp.c_fc.bias"])
            pr = torch.nn.Linear(w[p + "mlp.c_fc.weight"].shape[1], D).double()
            pr.weight.copy_(w[p + "mlp.c_proj.weight"].T); pr.bias.copy_(w[p + "mlp.c_proj.bias"])
            x = x + pr(F.gelu(fc(ln2(x)), approximate="tanh"))
        lnf = torch.nn.LayerNorm(D, eps=eps).double()
        lnf.weight.copy_(w["ln_f.weight"]); lnf.bias.copy_(w["ln_f.bias"])
        return (lnf(x) @ w["wte.weight"].T)[0]


def unpermute(t, n_heads):
    """HF's convert_llama_weights_to_hf permute, inverted: HF q/k rows -> Meta rows."""
    if t.dim() == 1:
        return t.view(n_heads, 2, -1).transpose(1, 2).reshape(-1)
    dim1, dim2 = t.shape
    return t.view(n_heads, 2, dim1 // n_heads // 2, dim2).transpose(1, 2).reshape(dim1, dim2)


def meta_apply_scaling(freqs, rs):
    scale_factor = rs["factor"]
    low_freq_factor = rs["low_freq_factor"]
    high_freq_factor = rs["high_freq_factor"]
    old_context_len = rs["original_max_position_embeddings"]
    low_freq_wavelen = old_context_len / low_freq_factor
    high_freq_wavelen = old_context_len / high_freq_factor
    new_freqs = []
    for freq in freqs.tolist():
        wavelen = 2 * math.pi / freq
        if wavelen < high_freq_wavelen:
            new_freqs.append(freq)
        elif wavelen > low_freq_wavelen:
            new_freqs.append(freq / scale_factor)
        else:
            smooth = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
            new_freqs.append((1 - smooth) * freq / scale_factor + smooth * freq)
    return torch.tensor(new_freqs, dtype=freqs.dtype)


def llama_meta(w, cfg, ids, interleaved_on_hf_weights=False, gqa_tile=False, no_scaling=False):
    D = cfg["hidden_size"]
    H = cfg["num_attention_heads"]
    KV = cfg.get("num_key_value_heads") or H
    hd = cfg.get("head_dim") or D // H
    eps = cfg["rms_norm_eps"]
    T = ids.shape[0]
    freqs = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2)[: hd // 2].double() / hd))
    rs = cfg.get("rope_scaling")
    if rs and not no_scaling:
        kind = rs.get("rope_type", rs.get("type"))
        if kind == "llama3":
            freqs = meta_apply_scaling(freqs, rs)
        elif kind == "linear":
            freqs = freqs / rs["factor"]
    angles = torch.outer(torch.arange(T).double(), freqs)
    freqs_cis = torch.polar(torch.ones_like(angles), angles)  # (T, hd/2) complex128

    def rope(x):  # x: (T, n, hd), interleaved pairs
        xc = torch.view_as_complex(x.reshape(T, x.shape[1], hd // 2, 2).contiguous())
        return torch.view_as_real(xc * freqs_cis[:, None, :]).reshape(T, x.shape[1], hd)

    def rms(x, wt):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * wt

    def linear(x, wt, b=None):
        return torch.nn.functional.linear(x, wt, b)

    with torch.no_grad():
        x = w["model.embed_tokens.weight"][ids]
        mask = torch.full((T, T), float("-inf"), dtype=torch.float64).triu(1)
        for i in range(cfg["num_hidden_layers"]):
            p = "model.layers.%d." % i
            g = lambda n: w.get(p + n)  # noqa: E731
            wq, wk = g("self_attn.q_proj.weight"), g("self_attn.k_proj.weight")
            bq, bk = g("self_attn.q_proj.bias"), g("self_attn.k_proj.bias")
            if not interleaved_on_hf_weights:
                wq, wk = unpermute(wq, H), unpermute(wk, KV)
                bq = unpermute(bq, H) if bq is not None else None
                bk = unpermute(bk, KV) if bk is not None else None
            h = rms(x, g("input_layernorm.weight"))
            xq = rope(linear(h, wq, bq).view(T, H, hd))
            xk = rope(linear(h, wk, bk).view(T, KV, hd))
            xv = linear(h, g("self_attn.v_proj.weight"), g("self_attn.v_proj.bias")).view(T, KV, hd)
            if gqa_tile:
                xk, xv = xk.repeat(1, H // KV, 1), xv.repeat(1, H // KV, 1)
            else:
                xk, xv = xk.repeat_interleave(H // KV, dim=1), xv.repeat_interleave(H // KV, dim=1)
            q, k, v = xq.transpose(0, 1), xk.transpose(0, 1), xv.transpose(0, 1)
            scores = q @ k.transpose(1, 2) / math.sqrt(hd) + mask
            o = (torch.softmax(scores, dim=-1) @ v).transpose(0, 1).reshape(T, H * hd)
            x = x + linear(o, g("self_attn.o_proj.weight"), g("self_attn.o_proj.bias"))
            h = rms(x, g("post_attention_layernorm.weight"))
            f = torch.nn.functional.silu(linear(h, g("mlp.gate_proj.weight"), g("mlp.gate_proj.bias")))
            f = f * linear(h, g("mlp.up_proj.weight"), g("mlp.up_proj.bias"))
            x = x + linear(f, g("mlp.down_proj.weight"), g("mlp.down_proj.bias"))
        x = rms(x, w["model.norm.weight"])
        head = w.get("lm_head.weight", w["model.embed_tokens.weight"])
        return x @ head.T


# ----------------------------------------------------------------------------------------
def maxdiff(a, b):
    return float((a.double() - b.double()).abs().max())


def tol_of(ref):
    return REL_TOL * max(1.0, float(ref.abs().max()))


def run_case(label, argv, variants):
    with tempfile.TemporaryDirectory() as d:
        a = mm.parse_args(argv + ["--out", d])
        mm.build(a)
        cfg, w = read_folder(d)
        ids = torch.from_numpy(np.load(os.path.join(d, "input_ids.npy")).astype(np.int64))
        ref = torch.from_numpy(np.load(os.path.join(d, "ref_logits.npy")))
        tol = tol_of(ref)
        mine = mm.forward(a.arch, w, cfg, ids)
        check(maxdiff(mine, ref) < 1e-5, "%s: ref_logits.npy reproduced from the file bytes (%.2e)"
              % (label, maxdiff(mine, ref)))
        second = gpt2_modules(w, cfg, ids) if a.arch == "gpt2" else llama_meta(w, cfg, ids)
        check(maxdiff(mine, second) < 1e-10, "%s: second formulation agrees (%.2e)" % (label, maxdiff(mine, second)))
        losses = torch.from_numpy(np.load(os.path.join(d, "ref_losses.npy")))
        ce = torch.nn.functional.cross_entropy(mine[:-1], ids[1:], reduction="none")
        check(maxdiff(losses, ce) < 1e-5, "%s: ref_losses.npy = cross_entropy (%.2e)" % (label, maxdiff(losses, ce)))
        # float32 forward: what a correct runtime computes; must be well inside the tolerance.
        w32 = {k: v.float() for k, v in w.items()}
        f32 = mm.forward(a.arch, w32, cfg, ids)
        check(maxdiff(f32, ref) < tol / 5, "%s: float32 forward error %.2e << tol %.2e"
              % (label, maxdiff(f32, ref), tol))
        for vname, fn in variants:
            dv = maxdiff(fn(w, cfg, ids, a, d), ref)
            check(dv > 5 * tol, "%s: mistake '%s' detected (%.2e vs tol %.2e, x%.0f)"
                  % (label, vname, dv, tol, dv / tol))


def gelu_erf_variant(w, cfg, ids, a, d):
    saved = mm.gelu_new
    mm.gelu_new = lambda x: torch.nn.functional.gelu(x)
    try:
        return mm.forward("gpt2", w, cfg, ids)
    finally:
        mm.gelu_new = saved


def unrounded_variant(w, cfg, ids, a, d):
    g = torch.Generator().manual_seed(a.seed)
    w64 = mm.gpt2_weights(a, g) if a.arch == "gpt2" else mm.llama_weights(a, g)
    return mm.forward(a.arch, w64, cfg, ids)


def eps_variant(w, cfg, ids, a, d):
    c = dict(cfg)
    if a.arch == "gpt2":
        c["layer_norm_epsilon"] = 1e-2
    else:
        c["rms_norm_eps"] = 1e-2
    return mm.forward(a.arch, w, c, ids)


def no_scale_variant(w, cfg, ids, a, d):
    return llama_meta(w, cfg, ids, no_scaling=True)


def linear_scaling_variant(w, cfg, ids, a, d):
    c = dict(cfg)
    c["rope_scaling"] = {"type": "linear", "factor": cfg["rope_scaling"]["factor"]}
    return mm.forward("llama", w, c, ids)


def main():
    torch.set_num_threads(1)
    common = ["--vocab", "300", "--ctx", "128", "--tokens", "96"]
    run_case("gpt2 f32", ["--arch", "gpt2", "--dtype", "f32"] + common,
             [("erf gelu", gelu_erf_variant), ("eps 1e-2", eps_variant)])
    run_case("gpt2 bf16 prefix+buffers", ["--arch", "gpt2", "--dtype", "bf16", "--prefix", "--buffers"] + common,
             [("unrounded weights", unrounded_variant), ("erf gelu", gelu_erf_variant)])
    run_case("gpt2 f16 sharded n_inner", ["--arch", "gpt2", "--dtype", "f16", "--sharded", "--ffn", "96"] + common,
             [("unrounded weights", unrounded_variant)])
    run_case("llama f32 untied GQA", ["--arch", "llama", "--dtype", "f32", "--tied", "0", "--kv-heads", "2"] + common,
             [("interleaved rope on HF weights", lambda w, c, i, a, d: llama_meta(w, c, i, interleaved_on_hf_weights=True)),
              ("GQA heads tiled instead of grouped", lambda w, c, i, a, d: llama_meta(w, c, i, gqa_tile=True)),
              ("eps 1e-2", eps_variant)])
    run_case("llama bf16 tied MHA", ["--arch", "llama", "--dtype", "bf16"] + common,
             [("unrounded weights", unrounded_variant)])
    run_case("llama f16 llama3 scaling", ["--arch", "llama", "--dtype", "f16", "--kv-heads", "1",
                                          "--rope-scaling", "llama3", "--rope-orig-max", "64"] + common,
             [("no rope scaling", no_scale_variant), ("linear instead of llama3", linear_scaling_variant)])
    run_case("llama f32 llama3 published numbers", ["--arch", "llama", "--dtype", "f32", "--rope-theta", "500000",
                                                     "--rope-scaling", "llama3-type", "--rope-orig-max", "8192"] + common, [])
    run_case("llama f32 head_dim 32 + biases", ["--arch", "llama", "--dtype", "f32", "--head-dim", "32",
                                                "--kv-heads", "2", "--attn-bias", "1", "--mlp-bias", "1"] + common,
             [("interleaved rope on HF weights", lambda w, c, i, a, d: llama_meta(w, c, i, interleaved_on_hf_weights=True))])

    # Sliding windows: stride < seq_len scores every token after the first exactly once and
    # the per-token losses equal the window's own logits.
    with tempfile.TemporaryDirectory() as d:
        a = mm.parse_args(["--arch", "gpt2", "--out", d, "--eval-tokens", "301",
                           "--eval-windows", "64", "24", "0", "--eval-windows", "64", "64", "0",
                           "--eval-windows", "32", "32", "97"])
        mm.build(a)
        r = json.load(open(os.path.join(d, "ref_eval_64_24_0.json")))
        check(r["tokens"] == 300, "eval 64/24: every token after the first scored once (%d)" % r["tokens"])
        targets = [row[3] for row in r["per_token"]]
        eids = np.load(os.path.join(d, "eval_ids.npy"))
        check(targets == eids[1:].tolist(), "eval 64/24: targets in stream order")
        r = json.load(open(os.path.join(d, "ref_eval_64_64_0.json")))
        # 301 = 4*64 + 45: windows of 64,64,64,64,45 -> 63*4 + 44 = 296
        check(r["tokens"] == 296 and r["windows"] == 5, "eval 64/64: %d tokens, %d windows" % (r["tokens"], r["windows"]))
        r = json.load(open(os.path.join(d, "ref_eval_32_32_97.json")))
        # 97 = 3*32 + 1: the 1-token last window scores nothing and is dropped
        check(r["tokens"] == 93 and r["windows"] == 3 and r["windows_including_empty"] == 4,
              "eval 32/32/97: %d tokens, %d windows (%d with the empty one)"
              % (r["tokens"], r["windows"], r["windows_including_empty"]))
        check(abs(r["ppl"] - math.exp(r["mean_loss"])) < 1e-9 * r["ppl"], "eval: ppl = exp(mean_loss)")

    print("%d failure(s)" % len(failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
