#!/usr/bin/python3
"""Independent float64 reference for LayerScope's layer analyses (cos-sim, saturation,
low-rank head, token inspector).

Loads a Hugging Face GPT-2 or Llama model folder by hand (config.json + model.safetensors
or model.safetensors.index.json with shards; F32/F16/BF16/F64 tensors, upcast to float64)
and runs its own float64 forward pass, written from HF's modeling_gpt2.py /
modeling_llama.py (GPT-2: learned positions, LayerNorm, gelu_new, tied head; Llama:
RMSNorm, RoPE with rope_theta and rope_scaling linear / llama3, grouped-query attention,
SwiGLU, optional head_dim, attention_bias, mlp_bias). No LayerScope code is involved.
Needs only Debian's python3, python3-torch and python3-numpy.

Usage:
  layer_analyses_reference.py --model DIR --ids IDS.npy --seq-len N [--stride S]
      [--max-tokens T] [--layer L] [--ranks 4,8,16] [--hard-ratios 0.3,0.5,0.7]
      [--bins 60] [--special-drop 0.1] [--inspect-window 0] [--top-k 5] --out OUTDIR

Notation. L blocks. h_0(t) = residual stream entering block 1 (token embedding, + position
embedding for GPT-2); h_l(t) = residual stream leaving block l (l = 1..L); a_l(t) = the
residual stream inside block l after the attention residual add, before the MLP.
norm_f = final norm, W = output head (vocab x dim), x_l = norm_f(h_l).
Logit lens: z_l(t) = W x_l(t), top1_l(t) = argmax z_l(t) (first index on ties);
loss(t) = -log softmax(z_L(t))[y(t)], y(t) the true next token.

Windows (HF sliding-window perplexity, as core/data/windows.cpp): the stream is cut to its
first --max-tokens ids (0 = all, N = its length); for begin = 0, S, 2S, ...:
end = min(begin + seq_len, N), length = end - begin,
first_scored = max(1, length - (end - prev_end)) (prev_end starts at 0), positions p in
[first_scored - 1, length - 1) predict window token p + 1; prev_end = end; stop after the
window with end == N. Windows scoring nothing are dropped from the window list. "Tokens"
= all scored predictions in stream order; every per-token quantity is taken at the
predicting position p (each window is run on its own, positions from 0).

Output files in OUTDIR (CSV, header row, floats in the shortest form that reads back to the
same double (Python repr, same value as %.17g), NaN as nan, integers as integers):
  cossim_layers.csv       layer,mean,std,min,p10,p50,p90,max,frac_neg,frac_lt_0_5
                          l = 1..L, over c_l(t) = cos(h_{l-1}(t), h_l(t)); std ddof 0,
                          quantiles np.quantile (linear); fractions of c < 0 and c < 0.5.
  cossim_thresholds.csv   layer,hard_ratio,threshold,exit_fraction
                          at the chosen layer, per hard ratio r (given order):
                          threshold = np.quantile(c_layer, r), exit_fraction = mean(c >= thr).
  cossim_histograms.csv   layer,bin,bin_lo,bin_hi,count
                          np.histogram(c_l, bins, range=(gmin, gmax)), gmin/gmax over all
                          layers and tokens; bin 0-based.
  cossim_special.csv      layer,mean,neighbour_median,drop
                          neighbours of l = those of l-2, l-1, l+1, l+2 in 1..L;
                          neighbour_median = np.median of their means; drop = that - mean_l;
                          one row per l with drop > --special-drop (none when L == 1).
  saturation_layers.csv   layer,rate,sat_loss,unsat_loss
                          l = 0..L: rate = mean(top1_l == top1_L); mean loss over the tokens
                          where it holds / does not hold (nan for an empty set).
  saturation_post_attention.csv   same columns, l = 1..L, top1 of W norm_f(a_l) vs top1_L.
  saturation_histogram.csv        layer,tokens: l = 1..L, tokens whose saturation layer is l
                          (smallest l in 1..L with top1_k == top1_L for all k in l..L).
  lowrank.csv             rank,coverage,energy_coverage,top1_agreement_final,
                          top1_agreement_layer,precision,recall,f1
                          W = U diag(s) V^T (float64 SVD, s descending), W_r the top r terms;
                          coverage = sum_{i<=r} s_i / sum s_i, energy_coverage with s_i^2;
                          agreement = mean(argmax W_r x == argmax W x) at L and at the
                          chosen layer; predicted saturated: argmax W_r x_layer ==
                          argmax W_r x_L, truly saturated: top1_layer == top1_L;
                          precision TP/(TP+FP), recall TP/(TP+FN), f1 2PR/(P+R) (nan on a
                          zero denominator).
  lowrank_singular_values.csv     index,singular_value (index from 1).
  inspect.csv             position,input_id,target_id,layer,top1_id,top1_prob,final_top1_prob
                          window --inspect-window (0-based in the window list), every position
                          p and layer l = 0..L, probs = softmax(z_l(p)); target_id -1 at the
                          last position; final_top1_prob = probs[top1_L(p)].
  inspect_topk.csv        position,layer,k,token_id,prob (k = 1..top-k, descending prob,
                          lower id first on ties).
  tokens.csv              target_index,target_id,loss,saturation_layer, one row per token
                          (target_index = stream index of the target).

Defaults: --stride = --seq-len; --layer = L - 1 (1 when L == 1), must be in 1..L;
--ranks = 8, 16, 32, ... below the hidden size, then the hidden size; --hard-ratios
0.3,0.5,0.7; --bins 60; --special-drop 0.1; --inspect-window 0; --top-k 5.
"""
import json
import math
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference_common as rc  # noqa: E402
from reference_common import float_list, fmt, int_list, write_csv  # noqa: E402,F401 (also as lar.*)

F64 = torch.float64


# ----------------------------------------------------------------------------------------
# Loading: safetensors (by hand) and the model folder
# ----------------------------------------------------------------------------------------
def decode_tensor(raw, dtype, shape):
    """Little-endian bytes of one tensor -> float64 torch tensor of `shape`."""
    if dtype == "F64":
        a = np.frombuffer(raw, dtype="<f8")
    elif dtype == "F32":
        a = np.frombuffer(raw, dtype="<f4")
    elif dtype == "F16":
        a = np.frombuffer(raw, dtype="<f2")
    elif dtype == "BF16":   # bfloat16 = the high 16 bits of a float32
        a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
    else:
        raise SystemExit("unsupported tensor dtype " + dtype)
    return torch.from_numpy(a.astype(np.float64).reshape(shape))


def read_safetensors(path):
    """path -> {name: float64 tensor} for every floating-point tensor of the file."""
    with open(path, "rb") as f:
        blob = f.read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = memoryview(blob)[8 + n:]
    out = {}
    for name, e in header.items():
        if name == "__metadata__" or e["dtype"] not in ("F64", "F32", "F16", "BF16"):
            continue
        b0, b1 = e["data_offsets"]
        size = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2}[e["dtype"]]
        count = int(np.prod(e["shape"])) if e["shape"] else 1
        if b1 - b0 != size * count:
            raise SystemExit("%s: tensor %s has %d bytes for shape %s" % (path, name, b1 - b0, e["shape"]))
        out[name] = decode_tensor(bytes(data[b0:b1]), e["dtype"], e["shape"])
    return out


def load_model(folder):
    """-> (arch 'gpt2' | 'llama', config dict, {name: float64 tensor}) with GPT-2 names
    stripped of a 'transformer.' prefix."""
    with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index, encoding="utf-8") as f:
            shards = sorted(set(json.load(f)["weight_map"].values()))
    else:
        shards = ["model.safetensors"]
    w = {}
    for s in shards:
        w.update(read_safetensors(os.path.join(folder, s)))
    arch = cfg.get("model_type")
    if arch not in ("gpt2", "llama"):
        raise SystemExit("model_type %r: only gpt2 and llama are implemented" % arch)
    if arch == "gpt2":
        w = {(k[len("transformer."):] if k.startswith("transformer.") else k): v for k, v in w.items()}
    return arch, cfg, w


# ----------------------------------------------------------------------------------------
# Float64 forward pass returning every residual stream of interest
# ----------------------------------------------------------------------------------------
def layer_norm(x, w, b, eps):
    """x: (T, D) -> (T, D), biased variance as torch.nn.LayerNorm."""
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def rms_norm(x, w, eps):
    """x: (T, D) -> (T, D), LlamaRMSNorm."""
    return w * (x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps))


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


ACTIVATIONS = {
    "gelu_new": gelu_new,
    "gelu": lambda x: torch.nn.functional.gelu(x),
    "relu": torch.relu,
    "silu": torch.nn.functional.silu,
}


def attend(q, k, v, scale):
    """q, k, v: (H, T, hd) -> (T, H*hd); causal softmax(scale * q k^T) v."""
    H, T, hd = q.shape
    s = (q @ k.transpose(1, 2)) * scale                                  # (H, T, T)
    s = s.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf"))
    return (torch.softmax(s, -1) @ v).transpose(0, 1).reshape(T, H * hd)


class Model:
    """A loaded model: forward(ids) -> (h (L+1, T, D), a (L, T, D)); final_norm(x); W."""

    def __init__(self, arch, cfg, w):
        self.arch, self.cfg, self.w = arch, cfg, w
        if arch == "gpt2":
            self.L = cfg["n_layer"]
            self.D = cfg["n_embd"]
            self.eps = cfg.get("layer_norm_epsilon", 1e-5)
            tied = cfg.get("tie_word_embeddings", True)
            self.W = w["wte.weight"] if tied or "lm_head.weight" not in w else w["lm_head.weight"]
        else:
            self.L = cfg["num_hidden_layers"]
            self.D = cfg["hidden_size"]
            self.eps = cfg.get("rms_norm_eps", 1e-6)
            tied = cfg.get("tie_word_embeddings", False)
            self.W = w["lm_head.weight"] if (not tied and "lm_head.weight" in w) else w["model.embed_tokens.weight"]
        # self.W: (V, D)

    def final_norm(self, x):
        """x: (..., D) -> norm_f(x) (..., D)."""
        if self.arch == "gpt2":
            return layer_norm(x, self.w["ln_f.weight"], self.w["ln_f.bias"], self.eps)
        return rms_norm(x, self.w["model.norm.weight"], self.eps)

    def forward(self, ids):
        """ids: (T,) long -> h (L+1, T, D), a (L, T, D)."""
        with torch.no_grad():
            return self._gpt2(ids) if self.arch == "gpt2" else self._llama(ids)

    def _gpt2(self, ids):
        w, cfg, D, eps = self.w, self.cfg, self.D, self.eps
        H = cfg["n_head"]
        hd = D // H
        T = ids.shape[0]
        act = ACTIVATIONS[cfg.get("activation_function", "gelu_new")]
        x = w["wte.weight"][ids] + w["wpe.weight"][:T]                   # (T, D)
        hs, As = [x], []
        for i in range(self.L):
            p = "h.%d." % i
            scale = 1.0 / math.sqrt(hd) if cfg.get("scale_attn_weights", True) else 1.0
            if cfg.get("scale_attn_by_inverse_layer_idx", False):
                scale /= float(i + 1)
            u = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
            qkv = u @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]   # Conv1D (in, out)
            q, k, v = (t.reshape(T, H, hd).transpose(0, 1) for t in qkv.split(D, -1))
            x = x + attend(q, k, v, scale) @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
            As.append(x)
            u = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
            m = act(u @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
            x = x + m @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
            hs.append(x)
        return torch.stack(hs), torch.stack(As)

    def _rope_inv_freq(self, hd):
        """(hd/2,) inverse frequencies, as HF's default / linear / llama3 rope init."""
        cfg = self.cfg
        theta = cfg.get("rope_theta", 10000.0)
        inv = 1.0 / theta ** (torch.arange(0, hd, 2, dtype=F64) / hd)
        rs = cfg.get("rope_scaling") or {}
        kind = rs.get("rope_type", rs.get("type", "default"))
        if kind == "linear":
            inv = inv / rs["factor"]
        elif kind == "llama3":
            factor, lo, hi = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"]
            old = rs["original_max_position_embeddings"]
            wavelen = 2 * math.pi / inv
            scaled = torch.where(wavelen > old / lo, inv / factor, inv)
            smooth = (old / wavelen - lo) / (hi - lo)
            smoothed = (1 - smooth) * scaled / factor + smooth * scaled
            medium = (wavelen >= old / hi) & (wavelen <= old / lo)
            inv = torch.where(medium, smoothed, scaled)
        elif kind != "default":
            raise SystemExit("unsupported rope_scaling " + str(kind))
        return inv

    def _llama(self, ids):
        w, cfg, D, eps = self.w, self.cfg, self.D, self.eps
        H = cfg["num_attention_heads"]
        KV = cfg.get("num_key_value_heads") or H
        hd = cfg.get("head_dim") or D // H
        T = ids.shape[0]
        act = ACTIVATIONS[cfg.get("hidden_act", "silu")]
        ang = torch.outer(torch.arange(T, dtype=F64), self._rope_inv_freq(hd))   # (T, hd/2)
        cos = torch.cat((ang, ang), -1).cos()                                   # (T, hd)
        sin = torch.cat((ang, ang), -1).sin()

        def lin(x, name):   # nn.Linear: weight (out, in), optional bias
            y = x @ w[name + ".weight"].T
            return y + w[name + ".bias"] if name + ".bias" in w else y

        def rope(t):        # t: (heads, T, hd); rotate_half convention
            rot = torch.cat((-t[..., hd // 2:], t[..., :hd // 2]), -1)
            return t * cos + rot * sin

        x = w["model.embed_tokens.weight"][ids]                          # (T, D)
        hs, As = [x], []
        for i in range(self.L):
            p = "model.layers.%d." % i
            u = rms_norm(x, w[p + "input_layernorm.weight"], eps)
            q = rope(lin(u, p + "self_attn.q_proj").reshape(T, H, hd).transpose(0, 1))    # (H, T, hd)
            k = rope(lin(u, p + "self_attn.k_proj").reshape(T, KV, hd).transpose(0, 1))   # (KV, T, hd)
            v = lin(u, p + "self_attn.v_proj").reshape(T, KV, hd).transpose(0, 1)
            k = k.repeat_interleave(H // KV, 0)                          # query head j -> kv head j // (H/KV)
            v = v.repeat_interleave(H // KV, 0)
            x = x + lin(attend(q, k, v, 1.0 / math.sqrt(hd)), p + "self_attn.o_proj")
            As.append(x)
            u = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
            x = x + lin(act(lin(u, p + "mlp.gate_proj")) * lin(u, p + "mlp.up_proj"), p + "mlp.down_proj")
            hs.append(x)
        return torch.stack(hs), torch.stack(As)


# ----------------------------------------------------------------------------------------
# Windows and per-token collection
# ----------------------------------------------------------------------------------------
def make_windows(n, seq_len, stride):
    """-> [(begin, length, first_scored)] for windows scoring at least one prediction."""
    out, prev_end = [], 0
    for begin in range(0, n, stride):
        end = min(begin + seq_len, n)
        length = end - begin
        first = max(1, length - (end - prev_end))
        if length - first > 0:
            out.append((begin, length, first))
        prev_end = end
        if end == n:
            break
    return out


def load_windows(a):
    """-> (ids, windows): the token ids of a.ids cut to a.max_tokens (rc.load_ids) and their
    windows for a.seq_len, a.stride (make_windows); exits when no window scores a token."""
    ids = rc.load_ids(a.ids, a.max_tokens)
    windows = make_windows(len(ids), a.seq_len, a.stride)
    if not windows:
        raise SystemExit("no window scores any token")
    return ids, windows


def cosine(u, v):
    """cos(u, v) = u.v / (|u| |v|) along the last axis (u, v: (..., D))."""
    return (u * v).sum(-1) / (torch.linalg.norm(u, dim=-1) * torch.linalg.norm(v, dim=-1))


def collect(model, ids, windows, final_norm_last=False):
    """Runs every window; -> dict of per-token arrays (T tokens, stream order):
    cos (L, T), top1 (L+1, T), top1_attn (L, T), loss (T,), target (T,), target_index (T,),
    x (L+1, T, D) = norm_f(h_l) at the predicting positions."""
    W = model.W                                                          # (V, D)
    parts = {k: [] for k in ("cos", "top1", "top1_attn", "loss", "target", "target_index", "x")}
    for begin, length, first in windows:
        win = torch.from_numpy(ids[begin:begin + length])
        h, a = model.forward(win)                                        # (L+1, n, D), (L, n, D)
        pos = torch.arange(first - 1, length - 1)                        # predicting positions
        h, a = h[:, pos], a[:, pos]
        tgt = win[pos + 1]
        # --final-norm-last: h_L as Hugging Face's hidden_states[-1], the final norm applied
        seen = torch.cat([h[:-1], model.final_norm(h[-1:])]) if final_norm_last else h
        parts["cos"].append(cosine(seen[:-1], seen[1:]))                 # (L, k)
        x = model.final_norm(h)                                          # (L+1, k, D)
        z = x @ W.T                                                      # (L+1, k, V)
        parts["x"].append(x)
        parts["top1"].append(z.argmax(-1))
        parts["top1_attn"].append((model.final_norm(a) @ W.T).argmax(-1))
        logp = torch.log_softmax(z[-1], -1)                              # (k, V)
        parts["loss"].append(-logp.gather(1, tgt[:, None])[:, 0])
        parts["target"].append(tgt)
        parts["target_index"].append(begin + pos + 1)
    cat_dim = {"cos": 1, "top1": 1, "top1_attn": 1, "x": 1}
    return {k: torch.cat(v, cat_dim.get(k, 0)).numpy() for k, v in parts.items()}


# ----------------------------------------------------------------------------------------
# Analyses (numpy, float64)
# ----------------------------------------------------------------------------------------
def cossim_layer_rows(cos):
    """cos: (L, T) -> rows of cossim_layers.csv."""
    rows = []
    for l, c in enumerate(cos, start=1):
        p10, p50, p90 = np.quantile(c, [0.1, 0.5, 0.9])
        rows.append([l, c.mean(), c.std(), c.min(), p10, p50, p90, c.max(),
                     np.mean(c < 0), np.mean(c < 0.5)])
    return rows


def cossim_threshold_rows(cos, layer, ratios):
    c = cos[layer - 1]
    rows = []
    for r in ratios:
        thr = np.quantile(c, r)
        rows.append([layer, r, thr, np.mean(c >= thr)])
    return rows


def cossim_histogram_rows(cos, bins):
    lo, hi = cos.min(), cos.max()
    rows = []
    for l, c in enumerate(cos, start=1):
        counts, edges = np.histogram(c, bins=bins, range=(lo, hi))
        rows += [[l, b, edges[b], edges[b + 1], int(counts[b])] for b in range(bins)]
    return rows


def cossim_special_rows(cos, special_drop):
    L = cos.shape[0]
    means = cos.mean(1)                                                  # (L,), index l-1
    rows = []
    for l in range(1, L + 1):
        nb = [m for m in (l - 2, l - 1, l + 1, l + 2) if 1 <= m <= L]
        if not nb:
            continue
        med = np.median(means[[m - 1 for m in nb]])
        drop = med - means[l - 1]
        if drop > special_drop:
            rows.append([l, means[l - 1], med, drop])
    return rows


def split_losses(mask, loss):
    """-> [rate, mean loss where mask, mean loss elsewhere] (nan for empty sets)."""
    sat = loss[mask].mean() if mask.any() else float("nan")
    unsat = loss[~mask].mean() if (~mask).any() else float("nan")
    return [mask.mean(), sat, unsat]


def saturation_layers(top1):
    """top1: (L+1, T) -> (T,) smallest l in 1..L with top1_k == top1_L for all k >= l."""
    L = top1.shape[0] - 1
    sat = np.full(top1.shape[1], L, dtype=np.int64)
    agree = np.ones(top1.shape[1], dtype=bool)
    for l in range(L - 1, 0, -1):
        agree &= top1[l] == top1[L]
        sat[agree] = l
    return sat


def prf(pred, true):
    """-> precision, recall, f1 (nan on a zero denominator)."""
    tp = np.sum(pred & true)
    fp = np.sum(pred & ~true)
    fn = np.sum(~pred & true)
    p = tp / (tp + fp) if tp + fp > 0 else float("nan")
    r = tp / (tp + fn) if tp + fn > 0 else float("nan")
    f1 = 2 * p * r / (p + r) if (p + r) > 0 else float("nan")   # nan stays nan
    return p, r, f1


def lowrank_rows(W, x_final, x_layer, ranks):
    """W: (V, D); x_final, x_layer: (T, D) normed states -> (rows, singular values)."""
    U, s, Vt = np.linalg.svd(W, full_matrices=False)                     # (V, K), (K,), (K, D)
    full_final = (x_final @ W.T).argmax(1)                               # (T,)
    full_layer = (x_layer @ W.T).argmax(1)
    truly = full_layer == full_final
    pf = x_final @ Vt.T                                                  # (T, K) coordinates
    pl = x_layer @ Vt.T
    rows = []
    for r in ranks:
        k = min(r, len(s))
        lr_final = ((pf[:, :k] * s[:k]) @ U[:, :k].T).argmax(1)          # argmax W_r x_L
        lr_layer = ((pl[:, :k] * s[:k]) @ U[:, :k].T).argmax(1)
        p, rc, f1 = prf(lr_layer == lr_final, truly)
        rows.append([r, s[:k].sum() / s.sum(), (s[:k] ** 2).sum() / (s ** 2).sum(),
                     np.mean(lr_final == full_final), np.mean(lr_layer == full_layer), p, rc, f1])
    return rows, s


def inspect_rows(model, ids, window, top_k):
    """-> rows of inspect.csv and inspect_topk.csv for one window (all positions)."""
    begin, length, _ = window
    win = torch.from_numpy(ids[begin:begin + length])
    h, _ = model.forward(win)                                            # (L+1, n, D)
    probs = torch.softmax(model.final_norm(h) @ model.W.T, -1).numpy()   # (L+1, n, V)
    L = probs.shape[0] - 1
    final_top1 = probs[L].argmax(-1)                                     # (n,)
    rows, topk = [], []
    for p in range(length):
        target = int(win[p + 1]) if p + 1 < length else -1
        for l in range(L + 1):
            pr = probs[l, p]
            t1 = int(pr.argmax())
            rows.append([p, int(win[p]), target, l, t1, pr[t1], pr[final_top1[p]]])
            order = np.argsort(-pr, kind="stable")[:top_k]
            topk += [[p, l, k + 1, int(i), pr[i]] for k, i in enumerate(order)]
    return rows, topk


# ----------------------------------------------------------------------------------------
# Output
# ----------------------------------------------------------------------------------------
def parse_args(argv=None):
    p = rc.window_argument_parser(__doc__)
    p.add_argument("--layer", type=int, default=None, help="default L-1 (1 when L == 1)")
    p.add_argument("--ranks", type=int_list, default=None)
    p.add_argument("--hard-ratios", type=float_list, default=[0.3, 0.5, 0.7])
    p.add_argument("--bins", type=int, default=60)
    p.add_argument("--special-drop", type=float, default=0.1)
    p.add_argument("--inspect-window", type=int, default=0)
    p.add_argument("--top-k", type=int, default=5)
    p.add_argument("--final-norm-last", action="store_true",
                   help="cos-sim of layer L against norm_f(h_L) (Hugging Face's hidden_states[-1])")
    p.add_argument("--out", required=True)
    a = rc.parse_window_args(p, argv)
    if a.bins < 1 or a.top_k < 1:
        p.error("--bins and --top-k must be >= 1")
    return a


def main():
    a = parse_args()
    torch.set_num_threads(1)
    model = Model(*load_model(a.model))
    L, D = model.L, model.D
    layer = a.layer if a.layer is not None else max(1, L - 1)
    if not 1 <= layer <= L:
        raise SystemExit("--layer must be in 1..%d" % L)
    ranks = a.ranks
    if ranks is None:
        ranks = [r for r in (2 ** i for i in range(3, 64)) if r < D] + [D]
    if any(r < 1 for r in ranks):
        raise SystemExit("--ranks must be positive")

    ids, windows = load_windows(a)
    if not 0 <= a.inspect_window < len(windows):
        raise SystemExit("--inspect-window must be in 0..%d" % (len(windows) - 1))

    t = collect(model, ids, windows, a.final_norm_last)
    cos, top1, loss = t["cos"], t["top1"], t["loss"]
    os.makedirs(a.out, exist_ok=True)

    write_csv(a.out, "cossim_layers.csv", "layer,mean,std,min,p10,p50,p90,max,frac_neg,frac_lt_0_5",
              cossim_layer_rows(cos))
    write_csv(a.out, "cossim_thresholds.csv", "layer,hard_ratio,threshold,exit_fraction",
              cossim_threshold_rows(cos, layer, a.hard_ratios))
    write_csv(a.out, "cossim_histograms.csv", "layer,bin,bin_lo,bin_hi,count",
              cossim_histogram_rows(cos, a.bins))
    write_csv(a.out, "cossim_special.csv", "layer,mean,neighbour_median,drop",
              cossim_special_rows(cos, a.special_drop))

    write_csv(a.out, "saturation_layers.csv", "layer,rate,sat_loss,unsat_loss",
              [[l] + split_losses(top1[l] == top1[L], loss) for l in range(L + 1)])
    write_csv(a.out, "saturation_post_attention.csv", "layer,rate,sat_loss,unsat_loss",
              [[l] + split_losses(t["top1_attn"][l - 1] == top1[L], loss) for l in range(1, L + 1)])
    sat = saturation_layers(top1)
    write_csv(a.out, "saturation_histogram.csv", "layer,tokens",
              [[l, int(np.sum(sat == l))] for l in range(1, L + 1)])

    rows, s = lowrank_rows(model.W.numpy(), t["x"][L], t["x"][layer], ranks)
    write_csv(a.out, "lowrank.csv",
              "rank,coverage,energy_coverage,top1_agreement_final,top1_agreement_layer,precision,recall,f1", rows)
    write_csv(a.out, "lowrank_singular_values.csv", "index,singular_value",
              [[i + 1, v] for i, v in enumerate(s)])

    rows, topk = inspect_rows(model, ids, windows[a.inspect_window], a.top_k)
    write_csv(a.out, "inspect.csv", "position,input_id,target_id,layer,top1_id,top1_prob,final_top1_prob", rows)
    write_csv(a.out, "inspect_topk.csv", "position,layer,k,token_id,prob", topk)

    write_csv(a.out, "tokens.csv", "target_index,target_id,loss,saturation_layer",
              zip(t["target_index"], t["target"], loss, sat))
    print(json.dumps({"tokens": int(loss.shape[0]), "windows": len(windows), "layers": L,
                      "layer": layer, "ranks": ranks, "mean_loss": float(loss.mean())}))


if __name__ == "__main__":
    main()
