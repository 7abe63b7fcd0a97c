#!/usr/bin/python3
"""Independent reference for LayerScope's model runtime.

Writes a small random GPT-2 or Llama model folder laid out exactly like a published
Hugging Face checkpoint (config.json + model.safetensors, or a sharded index), a random
token sequence, and reference outputs computed by a straightforward float64 forward pass
written here from Hugging Face's modeling_gpt2.py / modeling_llama.py semantics, on the
weights AS STORED (after rounding to f16/bf16, upcast).

Needs Debian's python3 (python3-torch, python3-numpy); no transformers, no safetensors.

Outputs in --out DIR:
  config.json, model.safetensors | model-0000k-of-0000n.safetensors + model.safetensors.index.json
  input_ids.npy      (T,) int32            the sequence for the logits reference
  ref_logits.npy     (T, vocab) float32    logits of input_ids (float64 forward)
  ref_losses.npy     (T-1,) float32        next-token losses of input_ids
  reference.json     parameter count, dtype, config summary, logits statistics
With --eval-windows SEQ STRIDE MAX (repeatable):
  eval_ids.npy (int32), eval_ids_i64.npy, eval_ids_u16.npy   the eval stream (--eval-tokens)
  ref_eval_SEQ_STRIDE_MAX.json  {tokens, windows, mean_loss, ppl, per_token: [[window,
                                 position, token_id, target_id, loss], ...]}
  ref_eval.json                 copy of the first one
With --dump-captures (the same float64 forward as ref_logits.npy, on input_ids):
  ref_residuals.npy  (L+1, T, D) float32       h_0 = block 1's input (embeddings, + positions
                                               for GPT-2), h_l = block l's output
  ref_heads.npy      (L, T, H, hd) float32     per layer, the heads' outputs softmax(q k^T /
                                               sqrt(hd)) v before the output projection

Examples:
  make_model.py --arch gpt2 --dtype bf16 --out /tmp/m --prefix --buffers
  make_model.py --arch llama --dtype f16 --tied 0 --heads 4 --kv-heads 2 --out /tmp/m \
      --rope-scaling llama3 --eval-windows 64 32 0
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch

DTYPES = {
    "f32": (torch.float32, "F32", "float32"),
    "f16": (torch.float16, "F16", "float16"),
    "bf16": (torch.bfloat16, "BF16", "bfloat16"),
}


# ----------------------------------------------------------------------------------------
# safetensors writer (format written by hand: no safetensors package here)
# ----------------------------------------------------------------------------------------
def tensor_bytes(t, st_dtype):
    t = t.detach().contiguous().cpu()
    if st_dtype == "F32":
        return t.to(torch.float32).numpy().astype("<f4").tobytes()
    if st_dtype == "F16":
        return t.to(torch.float16).numpy().astype("<f2").tobytes()
    if st_dtype == "BF16":
        return t.to(torch.bfloat16).view(torch.int16).numpy().astype("<i2").tobytes()
    raise ValueError(st_dtype)


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, torch tensor, st_dtype), written in that order."""
    header = {}
    chunks = []
    offset = 0
    for name, t, st_dtype in tensors:
        b = tensor_bytes(t, st_dtype)
        header[name] = {"dtype": st_dtype, "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(b)]}
        chunks.append(b)
        offset += len(b)
    if metadata is not None:
        header["__metadata__"] = metadata
    hjson = json.dumps(header, separators=(",", ":")).encode("utf-8")
    pad = (8 - len(hjson) % 8) % 8
    hjson += b" " * pad
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for b in chunks:
            f.write(b)
    return offset


def stored(t, torch_dtype):
    """What the runtime will see: the value rounded to the storage dtype, as float64."""
    return t.to(torch_dtype).to(torch.float64)


# ----------------------------------------------------------------------------------------
# Random weights
# ----------------------------------------------------------------------------------------
def gpt2_weights(a, g):
    D, L, V, P = a.dim, a.layers, a.vocab, a.ctx
    F = a.ffn if a.ffn else 4 * D

    def n(*shape, std=1.0, mean=0.0):
        return torch.randn(*shape, generator=g, dtype=torch.float64) * std + mean

    w = {}
    w["wte.weight"] = n(V, D, std=0.15)
    w["wpe.weight"] = n(P, D, std=0.08)
    for i in range(L):
        p = "h.%d." % i
        w[p + "ln_1.weight"] = n(D, std=0.1, mean=1.0)
        w[p + "ln_1.bias"] = n(D, std=0.05)
        w[p + "attn.c_attn.weight"] = n(D, 3 * D, std=0.12)   # Conv1D: (in, out)
        w[p + "attn.c_attn.bias"] = n(3 * D, std=0.05)
        w[p + "attn.c_proj.weight"] = n(D, D, std=0.1)
        w[p + "attn.c_proj.bias"] = n(D, std=0.03)
        w[p + "ln_2.weight"] = n(D, std=0.1, mean=1.0)
        w[p + "ln_2.bias"] = n(D, std=0.05)
        w[p + "mlp.c_fc.weight"] = n(D, F, std=0.2)
        w[p + "mlp.c_fc.bias"] = n(F, std=0.1)
        w[p + "mlp.c_proj.weight"] = n(F, D, std=0.08)
        w[p + "mlp.c_proj.bias"] = n(D, std=0.03)
    w["ln_f.weight"] = n(D, std=0.1, mean=1.0)
    w["ln_f.bias"] = n(D, std=0.05)
    return w


def llama_dims(a):
    H = a.heads
    KV = a.kv_heads if a.kv_heads else H
    hd = a.head_dim if a.head_dim else a.dim // H
    F = a.ffn if a.ffn else (a.dim * 8) // 3 // 8 * 8 or a.dim * 2
    return H, KV, hd, F


def llama_weights(a, g):
    D, L, V = a.dim, a.layers, a.vocab
    H, KV, hd, F = llama_dims(a)

    def n(*shape, std=1.0, mean=0.0):
        return torch.randn(*shape, generator=g, dtype=torch.float64) * std + mean

    w = {}
    w["model.embed_tokens.weight"] = n(V, D, std=0.5)
    for i in range(L):
        p = "model.layers.%d." % i
        w[p + "input_layernorm.weight"] = n(D, std=0.1, mean=1.0)
        w[p + "self_attn.q_proj.weight"] = n(H * hd, D, std=0.15)   # Linear: (out, in)
        w[p + "self_attn.k_proj.weight"] = n(KV * hd, D, std=0.15)
        w[p + "self_attn.v_proj.weight"] = n(KV * hd, D, std=0.12)
        w[p + "self_attn.o_proj.weight"] = n(D, H * hd, std=0.1)
        if a.attn_bias:
            w[p + "self_attn.q_proj.bias"] = n(H * hd, std=0.1)
            w[p + "self_attn.k_proj.bias"] = n(KV * hd, std=0.1)
            w[p + "self_attn.v_proj.bias"] = n(KV * hd, std=0.1)
            w[p + "self_attn.o_proj.bias"] = n(D, std=0.05)
        w[p + "post_attention_layernorm.weight"] = n(D, std=0.1, mean=1.0)
        w[p + "mlp.gate_proj.weight"] = n(F, D, std=0.2)
        w[p + "mlp.up_proj.weight"] = n(F, D, std=0.2)
        w[p + "mlp.down_proj.weight"] = n(D, F, std=0.1)
        if a.mlp_bias:
            w[p + "mlp.gate_proj.bias"] = n(F, std=0.1)
            w[p + "mlp.up_proj.bias"] = n(F, std=0.1)
            w[p + "mlp.down_proj.bias"] = n(D, std=0.05)
    w["model.norm.weight"] = n(D, std=0.1, mean=1.0)
    if not a.tied:
        w["lm_head.weight"] = n(V, D, std=0.1)
    return w


# ----------------------------------------------------------------------------------------
# Reference forward passes (float64, functional, following HF semantics)
# ----------------------------------------------------------------------------------------
def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)   # biased variance, as torch LayerNorm
    return (x - mean) / torch.sqrt(var + eps) * w + b


def causal_attention(q, k, v):
    """q: (H, T, hd), k/v: (H, T, hd) -> (H, T, hd); softmax(q k^T / sqrt(hd)) causal."""
    T, hd = q.shape[1], q.shape[2]
    scores = q @ k.transpose(-1, -2) / math.sqrt(hd)
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def gpt2_forward(w, cfg, ids, collect=None):
    """w: name -> float64 tensor (names without prefix); ids: (T,) long -> (T, V) logits.
    collect: None, or {"residuals": [], "heads": []} to append h_0..h_L (T, D) and each
    layer's heads before c_proj (T, H, hd) to."""
    D = cfg["n_embd"]
    H = cfg["n_head"]
    hd = D // H
    eps = cfg["layer_norm_epsilon"]
    T = ids.shape[0]
    x = w["wte.weight"][ids] + w["wpe.weight"][torch.arange(T)]
    if collect is not None:
        collect["residuals"].append(x)
    for i in range(cfg["n_layer"]):
        p = "h.%d." % i
        h = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = h @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
        q, k, v = qkv.split(D, dim=-1)
        q = q.view(T, H, hd).transpose(0, 1)
        k = k.view(T, H, hd).transpose(0, 1)
        v = v.view(T, H, hd).transpose(0, 1)
        a = causal_attention(q, k, v).transpose(0, 1)   # (T, H, hd)
        if collect is not None:
            collect["heads"].append(a)
        a = a.reshape(T, D)
        x = x + (a @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"])
        h = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        m = gelu_new(h @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        x = x + (m @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"])
        if collect is not None:
            collect["residuals"].append(x)
    x = layer_norm(x, w["ln_f.weight"], w["ln_f.bias"], eps)
    head = w.get("lm_head.weight", w["wte.weight"])
    return x @ head.T


def rms_norm(x, w, eps):
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def llama_inv_freq(cfg, hd):
    """inv_freq as HF's rope init functions compute it (default, linear, llama3)."""
    theta = cfg.get("rope_theta", 10000.0)
    inv_freq = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.int64).to(torch.float64) / hd))
    rs = cfg.get("rope_scaling")
    if rs:
        kind = rs.get("rope_type", rs.get("type"))
        if kind == "linear":
            inv_freq = inv_freq / rs["factor"]
        elif kind == "llama3":
            # transformers.modeling_rope_utils._compute_llama3_parameters
            factor = rs["factor"]
            low_freq_factor = rs["low_freq_factor"]
            high_freq_factor = rs["high_freq_factor"]
            old_context_len = rs["original_max_position_embeddings"]
            low_freq_wavelen = old_context_len / low_freq_factor
            high_freq_wavelen = old_context_len / high_freq_factor
            wavelen = 2 * math.pi / inv_freq
            inv_freq_llama = torch.where(wavelen > low_freq_wavelen, inv_freq / factor, inv_freq)
            smooth_factor = (old_context_len / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor)
            smoothed = (1 - smooth_factor) * inv_freq_llama / factor + smooth_factor * inv_freq_llama
            is_medium = ~(wavelen < high_freq_wavelen) * ~(wavelen > low_freq_wavelen)
            inv_freq = torch.where(is_medium, smoothed, inv_freq_llama)
        elif kind not in (None, "default"):
            raise ValueError("unsupported rope scaling " + str(kind))
    return inv_freq


def llama_forward(w, cfg, ids, collect=None):
    """As gpt2_forward; heads are collected before o_proj, after repeat_kv."""
    D = cfg["hidden_size"]
    H = cfg["num_attention_heads"]
    KV = cfg.get("num_key_value_heads") or H
    hd = cfg.get("head_dim") or D // H
    eps = cfg["rms_norm_eps"]
    T = ids.shape[0]
    inv_freq = llama_inv_freq(cfg, hd)
    pos = torch.arange(T, dtype=torch.float64)
    freqs = torch.outer(pos, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos(), emb.sin()          # (T, hd); attention_scaling is 1 here

    def lin(x, name):
        y = x @ w[name + ".weight"].T
        if name + ".bias" in w:
            y = y + w[name + ".bias"]
        return y

    x = w["model.embed_tokens.weight"][ids]
    cos, sin = cos.to(x.dtype), sin.to(x.dtype)
    if collect is not None:
        collect["residuals"].append(x)
    for i in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % i
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = lin(h, p + "self_attn.q_proj").view(T, H, hd).transpose(0, 1)
        k = lin(h, p + "self_attn.k_proj").view(T, KV, hd).transpose(0, 1)
        v = lin(h, p + "self_attn.v_proj").view(T, KV, hd).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = H // KV                     # repeat_kv: head j uses kv head j // rep
        k = k[:, None].expand(KV, rep, T, hd).reshape(H, T, hd)
        v = v[:, None].expand(KV, rep, T, hd).reshape(H, T, hd)
        a = causal_attention(q, k, v).transpose(0, 1)   # (T, H, hd)
        if collect is not None:
            collect["heads"].append(a)
        a = a.reshape(T, H * hd)
        x = x + lin(a, p + "self_attn.o_proj")
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        gate = lin(h, p + "mlp.gate_proj")
        up = lin(h, p + "mlp.up_proj")
        x = x + lin(torch.nn.functional.silu(gate) * up, p + "mlp.down_proj")
        if collect is not None:
            collect["residuals"].append(x)
    x = rms_norm(x, w["model.norm.weight"], eps)
    head = w["lm_head.weight"] if "lm_head.weight" in w else w["model.embed_tokens.weight"]
    return x @ head.T


def forward(arch, w, cfg, ids, collect=None):
    with torch.no_grad():
        if arch == "gpt2":
            return gpt2_forward(w, cfg, ids, collect)
        return llama_forward(w, cfg, ids, collect)


def next_token_losses(logits, ids):
    """losses[t] = -log softmax(logits[t])[ids[t+1]], t < T-1 (float64)."""
    logp = torch.log_softmax(logits[:-1].to(torch.float64), dim=-1)
    return -logp.gather(1, ids[1:, None]).squeeze(1)


# ----------------------------------------------------------------------------------------
# Sliding-window perplexity (HF's loop)
# ----------------------------------------------------------------------------------------
def eval_windows(arch, w, cfg, ids, seq_len, stride, max_tokens):
    if max_tokens > 0:
        ids = ids[:max_tokens]
    N = ids.shape[0]
    per_token = []
    prev_end = 0
    window = 0
    nwin = 0
    for begin in range(0, N, stride):
        end = min(begin + seq_len, N)
        trg_len = end - prev_end
        inp = ids[begin:end]
        length = end - begin
        labels_from = length - trg_len       # labels[:-trg_len] ignored
        scored = [p for p in range(length - 1) if p + 1 >= labels_from]
        if scored:
            logits = forward(arch, w, cfg, inp)
            logp = torch.log_softmax(logits, dim=-1)
            for p in scored:
                tgt = int(inp[p + 1])
                per_token.append([window, p, int(inp[p]), tgt, float(-logp[p, tgt])])
            window += 1
        nwin += 1
        prev_end = end
        if end == N:
            break
    losses = [r[4] for r in per_token]
    mean = float(np.mean(np.array(losses, dtype=np.float64))) if losses else float("nan")
    return {"seq_len": seq_len, "stride": stride, "max_tokens": max_tokens,
            "stream_tokens": int(N), "tokens": len(per_token), "windows": window,
            "windows_including_empty": nwin, "mean_loss": mean, "ppl": math.exp(mean),
            "per_token": per_token}


# ----------------------------------------------------------------------------------------
# Folder writer
# ----------------------------------------------------------------------------------------
def rope_scaling_config(a):
    if a.rope_scaling == "none":
        return None
    if a.rope_scaling == "linear":
        return {"type": "linear", "factor": a.rope_factor}
    d = {"factor": a.rope_factor, "low_freq_factor": a.rope_low, "high_freq_factor": a.rope_high,
         "original_max_position_embeddings": a.rope_orig_max}
    if a.rope_scaling == "llama3":
        d["rope_type"] = "llama3"
    elif a.rope_scaling == "llama3-type":      # older key
        d["type"] = "llama3"
    else:
        raise SystemExit("unknown --rope-scaling " + a.rope_scaling)
    return d


def make_config(a):
    # The keys both architectures end with, in the order transformers writes them.
    tail = {"torch_dtype": DTYPES[a.dtype][2], "transformers_version": "4.44.0", "use_cache": True,
            "vocab_size": a.vocab}
    if a.arch == "gpt2":
        cfg = {
            "_name_or_path": "layerscope-test-gpt2",
            "activation_function": "gelu_new",
            "architectures": ["GPT2LMHeadModel"],
            "attn_pdrop": 0.1,
            "bos_token_id": a.vocab - 1,
            "embd_pdrop": 0.1,
            "eos_token_id": a.vocab - 1,
            "initializer_range": 0.02,
            "layer_norm_epsilon": a.eps if a.eps else 1e-5,
            "model_type": "gpt2",
            "n_ctx": a.ctx,
            "n_embd": a.dim,
            "n_head": a.heads,
            "n_inner": a.ffn if a.ffn else None,
            "n_layer": a.layers,
            "n_positions": a.ctx,
            "reorder_and_upcast_attn": False,
            "resid_pdrop": 0.1,
            "scale_attn_by_inverse_layer_idx": False,
            "scale_attn_weights": True,
            "summary_activation": None,
            "summary_first_dropout": 0.1,
            "summary_proj_to_labels": True,
            "summary_type": "cls_index",
            "summary_use_proj": True,
            **tail,
        }
        if a.tied_key:
            cfg["tie_word_embeddings"] = True
        return cfg
    H, KV, hd, F = llama_dims(a)
    cfg = {
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": bool(a.attn_bias),
        "attention_dropout": 0.0,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "hidden_act": "silu",
        "hidden_size": a.dim,
        "initializer_range": 0.02,
        "intermediate_size": F,
        "max_position_embeddings": a.ctx,
        "mlp_bias": bool(a.mlp_bias),
        "model_type": "llama",
        "num_attention_heads": H,
        "num_hidden_layers": a.layers,
        "num_key_value_heads": KV,
        "pretraining_tp": 1,
        "rms_norm_eps": a.eps if a.eps else 1e-5,
        "rope_scaling": rope_scaling_config(a),
        "rope_theta": a.rope_theta,
        "tie_word_embeddings": bool(a.tied),
        **tail,
    }
    if a.head_dim:
        cfg["head_dim"] = hd
    return cfg


def write_npy_ids(path, ids, dtype):
    np.save(path, np.asarray(ids, dtype=dtype))


def build(a):
    g = torch.Generator().manual_seed(a.seed)
    torch_dtype, st_dtype, _ = DTYPES[a.dtype]
    cfg = make_config(a)
    w64 = gpt2_weights(a, g) if a.arch == "gpt2" else llama_weights(a, g)
    if a.identity_blocks:
        # Zero every write into the residual stream: each block's output equals its input.
        for k in w64:
            if any(s in k for s in ("attn.c_proj.", "mlp.c_proj.", "o_proj.", "down_proj.")):
                w64[k] = torch.zeros_like(w64[k])
    # Per-tensor storage dtype; --mixed keeps the norm weights/biases in float32, as some
    # published checkpoints do.
    def is_norm(k):
        return any(s in k for s in ("ln_1.", "ln_2.", "ln_f.", "layernorm.", "model.norm."))

    tdt = {k: ((torch.float32, "F32") if (a.mixed and is_norm(k)) else (torch_dtype, st_dtype)) for k in w64}
    # What the runtime sees, upcast to float64.
    ws = {k: stored(v, tdt[k][0]) for k, v in w64.items()}
    params = sum(v.numel() for v in ws.values())

    # Tensors to write, in a published-checkpoint-like order, with the optional prefix and
    # the non-parameter buffers old GPT-2 checkpoints carry.
    prefix = "transformer." if (a.arch == "gpt2" and a.prefix) else ""
    out = []
    for k, v in w64.items():
        out.append((prefix + k, v, tdt[k][1]))
        if a.arch == "gpt2" and a.buffers and k.endswith("attn.c_proj.bias"):
            base = k[: -len("attn.c_proj.bias")]
            T = a.ctx
            out.append((prefix + base + "attn.bias",
                        torch.ones(T, T).tril().view(1, 1, T, T), st_dtype))
            out.append((prefix + base + "attn.masked_bias", torch.tensor(-1e4), st_dtype))
    if a.shuffle:
        perm = torch.randperm(len(out), generator=g).tolist()
        out = [out[i] for i in perm]

    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    files = []
    if a.sharded:
        nshards = 2
        cut = (len(out) + 1) // 2
        parts = [out[:cut], out[cut:]]
        weight_map = {}
        total = 0
        for s, part in enumerate(parts):
            fname = "model-%05d-of-%05d.safetensors" % (s + 1, nshards)
            total += write_safetensors(os.path.join(a.out, fname), part, {"format": "pt"})
            for name, _, _ in part:
                weight_map[name] = fname
            files.append(fname)
        with open(os.path.join(a.out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total},
                       "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)
            f.write("\n")
    else:
        write_safetensors(os.path.join(a.out, "model.safetensors"), out, {"format": "pt"})
        files.append("model.safetensors")

    # Token sequence and reference logits.
    T = a.tokens if a.tokens else min(64, a.ctx)
    ids = torch.randint(0, a.vocab, (T,), generator=g, dtype=torch.int64)
    write_npy_ids(os.path.join(a.out, "input_ids.npy"), ids.numpy(), np.int32)
    collect = {"residuals": [], "heads": []} if a.dump_captures else None
    logits = forward(a.arch, ws, cfg, ids, collect)
    np.save(os.path.join(a.out, "ref_logits.npy"), logits.to(torch.float32).numpy())
    if collect is not None:
        np.save(os.path.join(a.out, "ref_residuals.npy"),
                torch.stack(collect["residuals"]).to(torch.float32).numpy())   # (L+1, T, D)
        np.save(os.path.join(a.out, "ref_heads.npy"),
                torch.stack(collect["heads"]).to(torch.float32).numpy())       # (L, T, H, hd)
    losses = next_token_losses(logits, ids)
    np.save(os.path.join(a.out, "ref_losses.npy"), losses.to(torch.float32).numpy())

    H = cfg.get("n_head", cfg.get("num_attention_heads"))
    info = {
        "arch": a.arch,
        "model_type": cfg["model_type"],
        "architecture": "GPT-2" if a.arch == "gpt2" else "Llama",
        "parameters": int(params),
        "dtype": ("mixed" if a.mixed and st_dtype != "F32" else st_dtype),
        "files": files,
        "layers": a.layers,
        "heads": H,
        "kv_heads": (H if a.arch == "gpt2" else llama_dims(a)[1]),
        "head_dim": (a.dim // H if a.arch == "gpt2" else llama_dims(a)[2]),
        "dim": a.dim,
        "ffn_dim": ((a.ffn or 4 * a.dim) if a.arch == "gpt2" else llama_dims(a)[3]),
        "vocab_size": a.vocab,
        "context": a.ctx,
        "tied": bool(a.tied) if a.arch == "llama" else True,
        "tokens": T,
        "max_abs_logit": float(logits.abs().max()),
        "logit_std": float(logits.std()),
        "mean_loss": float(losses.mean()),
        "rope_scaling": cfg.get("rope_scaling"),
    }
    with open(os.path.join(a.out, "reference.json"), "w") as f:
        json.dump(info, f, indent=2)
        f.write("\n")

    if a.eval_windows:
        M = a.eval_tokens if a.eval_tokens else T
        eids = torch.randint(0, a.vocab, (M,), generator=g, dtype=torch.int64)
        write_npy_ids(os.path.join(a.out, "eval_ids.npy"), eids.numpy(), np.int32)
        write_npy_ids(os.path.join(a.out, "eval_ids_i64.npy"), eids.numpy(), np.int64)
        if a.vocab <= 65536:
            write_npy_ids(os.path.join(a.out, "eval_ids_u16.npy"), eids.numpy(), np.uint16)
        for n, (seq_len, stride, max_tokens) in enumerate(a.eval_windows):
            r = eval_windows(a.arch, ws, cfg, eids, seq_len, stride, max_tokens)
            name = "ref_eval_%d_%d_%d.json" % (seq_len, stride, max_tokens)
            for fname in ([name, "ref_eval.json"] if n == 0 else [name]):
                with open(os.path.join(a.out, fname), "w") as f:
                    json.dump(r, f)
    return info


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", choices=["gpt2", "llama"], required=True)
    p.add_argument("--dtype", choices=list(DTYPES), default="f32")
    p.add_argument("--out", required=True)
    p.add_argument("--tied", type=int, default=1, help="llama: tie_word_embeddings (gpt2 is always tied)")
    p.add_argument("--tied-key", type=int, default=0, help="gpt2: write tie_word_embeddings: true")
    p.add_argument("--sharded", action="store_true", help="two shards + model.safetensors.index.json")
    p.add_argument("--prefix", action="store_true", help="gpt2: 'transformer.' name prefix")
    p.add_argument("--buffers", action="store_true", help="gpt2: h.i.attn.bias / masked_bias buffers")
    p.add_argument("--mixed", action="store_true", help="norm weights/biases stored as F32, the rest --dtype")
    p.add_argument("--shuffle", action="store_true", help="tensors in random order in the file")
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--dim", type=int, default=64)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--kv-heads", type=int, default=0, help="llama: 0 means = heads")
    p.add_argument("--head-dim", type=int, default=0, help="llama: write head_dim to config")
    p.add_argument("--ffn", type=int, default=0, help="gpt2 n_inner / llama intermediate_size")
    p.add_argument("--vocab", type=int, default=300)
    p.add_argument("--ctx", type=int, default=128)
    p.add_argument("--eps", type=float, default=0.0)
    p.add_argument("--rope-theta", type=float, default=10000.0)
    p.add_argument("--rope-scaling", default="none", help="none | llama3 | llama3-type | linear")
    p.add_argument("--rope-factor", type=float, default=8.0)
    p.add_argument("--rope-low", type=float, default=1.0)
    p.add_argument("--rope-high", type=float, default=4.0)
    p.add_argument("--rope-orig-max", type=int, default=8192)
    p.add_argument("--attn-bias", type=int, default=0)
    p.add_argument("--mlp-bias", type=int, default=0)
    p.add_argument("--tokens", type=int, default=0, help="length of input_ids (default min(64, ctx))")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--eval-windows", type=int, nargs=3, action="append", metavar=("SEQ_LEN", "STRIDE", "MAX_TOKENS"))
    p.add_argument("--eval-tokens", type=int, default=0, help="length of the eval stream (default --tokens)")
    p.add_argument("--dump-captures", action="store_true",
                   help="also write ref_residuals.npy (L+1, T, D) and ref_heads.npy (L, T, H, hd)")
    p.add_argument("--identity-blocks", action="store_true",
                   help="zero the attention and MLP output projections: every block is the identity")
    a = p.parse_args(argv)
    if a.tokens and a.tokens > a.ctx:
        p.error("--tokens must be <= --ctx")
    return a


def main():
    torch.set_num_threads(1)
    a = parse_args()
    info = build(a)
    print(json.dumps({k: info[k] for k in ("parameters", "max_abs_logit", "logit_std", "mean_loss")}))


if __name__ == "__main__":
    main()
