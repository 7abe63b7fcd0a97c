#!/usr/bin/python3
"""Independent float64 reference for LayerScope's attention-head ablation analyses
(zero / mean ablation scan, subset ranking stability, attribution patching).

The model loading (hand-written safetensors reader, config handling) and the evaluation
windows come from layer_analyses_reference.py (imported, not copied). Its forward has no
hook on the heads and runs without autograd, so this script has its own float64 forward,
written from HF's modeling_gpt2.py / modeling_llama.py, with a hook on each layer's head
outputs; its baseline per-token losses are checked against the colleague's forward
(max |difference| <= 1e-9, else the script stops). No LayerScope code is involved. Needs
only Debian's python3, python3-torch and python3-numpy.

Usage:
  ablation_reference.py --model DIR --ids IDS.npy --seq-len N [--stride S]
      [--max-tokens T] [--subset-tokens 2048] [--out OUTDIR]

Notation. L blocks (layers written 1..L), H query heads per block (0-based), hd the head
size. Head outputs of block l: o[l,h,p] = softmax(q k^T * scale) v of query head h at
position p (causal), shape (T, H, hd), concatenated to (T, H*hd) (head h = columns
h*hd .. (h+1)*hd - 1) BEFORE the output projection (GPT-2 attn.c_proj, Llama
self_attn.o_proj). Grouped-query attention: query head h uses kv head h // (H / KVH).
Tokens = the scored predictions of all windows (HF sliding-window rule, as the colleague's
make_windows), stream order; N = their count. loss = mean over tokens of
-log softmax(z_L)[y], PPL = exp(loss).

  mu[l,h]       mean of o[l,h,p] over exactly the scored (predicting) positions p of every
                window, unmodified model.
  zero ablation o[l,h,p] := 0 at every position of every window (scored or context),
                everything else unchanged -> ppl_zero[l,h].
  mean ablation o[l,h,p] := mu[l,h] at every position -> ppl_mean[l,h].
  dPPL          relative = ppl_ablated / ppl_base - 1, absolute = ppl_ablated - ppl_base.
  zero_mean_ratio = zero relative dPPL / mean relative dPPL (IEEE division: x/0 = +-inf,
                0/0 = nan).
  ranks         heads sorted by relative dPPL descending, rank 1 = most damaging, ties by
                (layer, head) ascending (a nan dPPL sorts last).
  subset        the smallest prefix of the window list whose scored tokens reach
                --subset-tokens (all windows if fewer), or the first --subset-windows
                windows when that is given; its baseline and dPPLs use only
                those windows' tokens; mu stays that of ALL tokens.
  attribution   g[l,h,p] = d(sum over scored tokens of the loss) / d o[l,h,p] (autograd,
                float64, all downstream paths, every position of every window);
                est_zero_dloss = sum_p (0 - o) . g / N, est_mean_dloss = sum_p (mu - o) . g
                / N; est_*_dppl = exp(est_*_dloss) - 1.
  spearman      Pearson correlation of average ranks (ties share the mean rank); kendall =
                tau-b as scipy.stats.kendalltau; nan when either side is constant or has
                a nan.

Output files in OUTDIR (default "."; CSV, header row, floats as Python repr = shortest
round trip, nan as nan, integers as integers):
  ablation_heads.csv     layer,head,zero_ppl,zero_dppl,mean_ppl,mean_dppl,zero_mean_ratio,
                         zero_rank,mean_rank,name,zero_dppl_abs,mean_dppl_abs
                         one row per head in (layer, head) order; name = "L{layer-1}H{head}".
  ablation_summary.csv   tokens,base_loss,base_ppl,subset_tokens,subset_windows,
                         subset_base_ppl,spearman,kendall,zipf_alpha,zipf_r2,zipf_heads
                         subset_tokens = the subset's scored-token count; spearman /
                         kendall between the subset's and the full set's zero relative dPPLs;
                         zipf_* = least squares of log zero dPPL on log rank over the heads
                         with dPPL > 0 (alpha = -slope, r2 of the fit, how many heads).
  ranking_stability.csv  layer,head,name,subset_zero_dppl,full_zero_dppl,subset_rank,full_rank
  attribution.csv        layer,head,name,est_zero_dloss,est_mean_dloss,est_zero_dppl,
                         est_mean_dppl,exact_zero_dppl,exact_mean_dppl
  attribution_summary.csv  spearman_zero,spearman_mean  (estimated vs exact relative dPPLs)
"""
import json
import math
import re
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import layer_analyses_reference as lar  # noqa: E402
import reference_common as rc  # noqa: E402
from reference_common import load_ids, write_csv  # noqa: E402,F401 (also as abl.load_ids, abl.write_csv)

F64 = torch.float64
NAN = float("nan")


# ----------------------------------------------------------------------------------------
# Forward with a hook on the head outputs
# ----------------------------------------------------------------------------------------
class HookedModel(lar.Model):
    """lar.Model (config, W, final_norm, rope frequencies) plus a forward whose every block
    passes its head outputs o (T, H, hd) through hook(layer0, o) -> o' before the output
    projection (layer0 = 0-based block index)."""

    def __init__(self, arch, cfg, w):
        super().__init__(arch, cfg, w)
        if arch == "gpt2":
            self.H = cfg["n_head"]
            self.KV = self.H
            self.hd = self.D // self.H
        else:
            self.H = cfg["num_attention_heads"]
            self.KV = cfg.get("num_key_value_heads") or self.H
            self.hd = cfg.get("head_dim") or self.D // self.H
        if self.H % self.KV:
            raise SystemExit("num_attention_heads must be a multiple of num_key_value_heads")

    def embed(self, ids):
        """ids: (T,) long -> h_0 (T, D)."""
        if self.arch == "gpt2":
            return self.w["wte.weight"][ids] + self.w["wpe.weight"][:ids.shape[0]]
        return self.w["model.embed_tokens.weight"][ids]

    def blocks(self, x, start=0, hook=None, cache=None):
        """x: (T, D) = residual stream entering block start+1 -> h_L (T, D).
        cache: list receiving each block's input residual (detached), blocks start..L-1."""
        T = x.shape[0]
        rope = None
        if self.arch == "llama":
            ang = torch.outer(torch.arange(T, dtype=F64), self._rope_inv_freq(self.hd))
            rope = (torch.cat((ang, ang), -1).cos(), torch.cat((ang, ang), -1).sin())
        for i in range(start, self.L):
            if cache is not None:
                cache.append(x.detach())
            x = self._block_gpt2(x, i, hook) if self.arch == "gpt2" else self._block_llama(x, i, hook, rope)
        return x

    @staticmethod
    def _heads(q, k, v, scale):
        """q: (H, T, hd), k, v: (H, T, hd) (kv already repeated) -> o (T, H, hd)."""
        T = q.shape[1]
        s = (q @ k.transpose(1, 2)) * scale                              # (H, T, T)
        s = s.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf"))
        return (torch.softmax(s, -1) @ v).transpose(0, 1)                # (T, H, hd)

    def _block_gpt2(self, x, i, hook):
        w, cfg, D, eps, H, hd = self.w, self.cfg, self.D, self.eps, self.H, self.hd
        T = x.shape[0]
        p = "h.%d." % i
        act = lar.ACTIVATIONS[cfg.get("activation_function", "gelu_new")]
        scale = 1.0 / math.sqrt(hd) if cfg.get("scale_attn_weights", True) else 1.0
        if cfg.get("scale_attn_by_inverse_layer_idx", False):
            scale /= float(i + 1)
        u = lar.layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = u @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]     # Conv1D (in, out)
        q, k, v = (t.reshape(T, H, hd).transpose(0, 1) for t in qkv.split(D, -1))
        o = self._heads(q, k, v, scale)
        if hook is not None:
            o = hook(i, o)
        x = x + o.reshape(T, H * hd) @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        u = lar.layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        m = act(u @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        return x + m @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]

    def _block_llama(self, x, i, hook, rope):
        w, cfg, eps, H, KV, hd = self.w, self.cfg, self.eps, self.H, self.KV, self.hd
        T = x.shape[0]
        cos, sin = rope
        p = "model.layers.%d." % i
        act = lar.ACTIVATIONS[cfg.get("hidden_act", "silu")]

        def lin(t, name):   # nn.Linear: weight (out, in), optional bias
            y = t @ w[name + ".weight"].T
            return y + w[name + ".bias"] if name + ".bias" in w else y

        def rot(t):         # t: (heads, T, hd), rotate_half convention
            r = torch.cat((-t[..., hd // 2:], t[..., :hd // 2]), -1)
            return t * cos + r * sin

        u = lar.rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = rot(lin(u, p + "self_attn.q_proj").reshape(T, H, hd).transpose(0, 1))      # (H, T, hd)
        k = rot(lin(u, p + "self_attn.k_proj").reshape(T, KV, hd).transpose(0, 1))     # (KV, T, hd)
        v = lin(u, p + "self_attn.v_proj").reshape(T, KV, hd).transpose(0, 1)
        rep = torch.arange(H) // (H // KV)                               # query head h -> kv head
        o = self._heads(q, k[rep], v[rep], 1.0 / math.sqrt(hd))
        if hook is not None:
            o = hook(i, o)
        x = x + lin(o.reshape(T, H * hd), p + "self_attn.o_proj")
        u = lar.rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        return x + lin(act(lin(u, p + "mlp.gate_proj")) * lin(u, p + "mlp.up_proj"), p + "mlp.down_proj")

    def token_losses(self, hL, pos, tgt):
        """hL: (T, D) final residual, pos: predicting positions, tgt: targets -> (k,) losses."""
        z = self.final_norm(hL[pos]) @ self.W.T                          # (k, V)
        return -torch.log_softmax(z, -1).gather(1, tgt[:, None])[:, 0]


def window_tensors(ids, window):
    begin, length, first = window
    win = torch.from_numpy(ids[begin:begin + length])
    pos = torch.arange(first - 1, length - 1)
    return win, pos, win[pos + 1]


# ----------------------------------------------------------------------------------------
# The analyses
# ----------------------------------------------------------------------------------------
def baseline_pass(model, ids, windows):
    """Unmodified model with autograd -> dict: loss (N,) per-token losses, mu (L, H, hd),
    og (L, H) = sum_p o . g, gsum (L, H, hd) = sum_p g (every position of every window),
    caches [per window: list of L block inputs (T, D)]."""
    L, H, hd = model.L, model.H, model.hd
    losses, caches = [], []
    osum = torch.zeros(L, H, hd, dtype=F64)
    og = torch.zeros(L, H, dtype=F64)
    gsum = torch.zeros(L, H, hd, dtype=F64)
    n = 0
    for window in windows:
        win, pos, tgt = window_tensors(ids, window)
        outs = []

        def rec(i, o):
            outs.append(o)
            return o

        with torch.enable_grad():
            x0 = model.embed(win).clone().requires_grad_(True)          # makes every o a graph node
            cache = []
            loss = model.token_losses(model.blocks(x0, 0, rec, cache), pos, tgt)
            grads = torch.autograd.grad(loss.sum(), outs)
        for i, (o, g) in enumerate(zip(outs, grads)):
            o = o.detach()
            osum[i] += o[pos].sum(0)
            og[i] += (o * g).sum((0, 2))
            gsum[i] += g.sum(0)
        losses.append(loss.detach())
        caches.append(cache)
        n += len(pos)
    return {"loss": torch.cat(losses).numpy(), "mu": osum / n, "og": og.numpy(),
            "gsum": gsum, "caches": caches}


def colleague_losses(model, ids, windows):
    """Per-token losses from layer_analyses_reference's own forward (cross-check)."""
    out = []
    for window in windows:
        win, pos, tgt = window_tensors(ids, window)
        h, _ = lar.Model.forward(model, win)
        out.append(model.token_losses(h[-1], pos, tgt))
    return torch.cat(out).numpy()


def ablated_losses(model, ids, windows, caches, layer0, hook):
    """Per-token losses with hook applied at block layer0+1, restarting every window from
    its cached input of that block (blocks before it are unaffected)."""
    out = []
    with torch.no_grad():
        for window, cache in zip(windows, caches):
            _, pos, tgt = window_tensors(ids, window)
            out.append(model.token_losses(model.blocks(cache[layer0], layer0, hook), pos, tgt))
    return torch.cat(out).numpy()


def set_head(layer0, head, value):
    """Hook replacing head `head` of block layer0+1 by `value` (scalar or (hd,)) everywhere."""
    def hook(i, o):
        if i != layer0:
            return o
        o = o.clone()
        o[:, head] = value
        return o
    return hook


def subset_size(windows, subset_tokens, subset_windows=0):
    """-> (number of windows, number of tokens) of the first subset_windows windows when that
    is > 0, else of the smallest prefix reaching subset_tokens."""
    if subset_windows > 0:
        chosen = windows[:subset_windows]
        return len(chosen), sum(length - first for _, length, first in chosen)
    tok = 0
    for k, (_, length, first) in enumerate(windows, start=1):
        tok += length - first
        if tok >= subset_tokens:
            return k, tok
    return len(windows), tok


def rankdata(x):
    """Average ranks (1-based), ties share their mean rank."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="stable")
    r = np.empty(len(x))
    xs = x[order]
    i = 0
    while i < len(x):
        j = i
        while j + 1 < len(x) and xs[j + 1] == xs[i]:
            j += 1
        r[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return r


def pearson(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if len(a) < 2:
        return NAN
    da, db = a - a.mean(), b - b.mean()
    den = math.sqrt((da * da).sum() * (db * db).sum())
    return float((da * db).sum() / den) if den > 0 else NAN


def spearman(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if np.isnan(a).any() or np.isnan(b).any():
        return NAN
    return pearson(rankdata(a), rankdata(b))


def kendall_tau_b(a, b):
    """tau-b = (C - D) / sqrt((n0 - n1)(n0 - n2)) over all pairs i < j, n1 / n2 = pairs tied
    in a / b (as scipy.stats.kendalltau); nan when either side is constant or has a nan."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    n = len(a)
    if n < 2 or np.isnan(a).any() or np.isnan(b).any():
        return NAN
    iu = np.triu_indices(n, 1)
    sa = np.sign(a[:, None] - a[None, :])[iu]
    sb = np.sign(b[:, None] - b[None, :])[iu]
    n0 = len(sa)
    n1 = int(np.sum(sa == 0))
    n2 = int(np.sum(sb == 0))
    if n1 == n0 or n2 == n0:
        return NAN
    s = float(np.sum(sa * sb))
    return min(1.0, max(-1.0, s / math.sqrt(n0 - n1) / math.sqrt(n0 - n2)))


def ranks_desc(vals, keys):
    """vals: relative dPPLs, keys: (layer, head) -> ranks (1 = largest), ties by key, nan last."""
    order = sorted(range(len(vals)), key=lambda i: (math.isnan(vals[i]),
                                                    -vals[i] if not math.isnan(vals[i]) else 0.0,
                                                    keys[i]))
    r = [0] * len(vals)
    for k, i in enumerate(order, start=1):
        r[i] = k
    return r


def parse_heads(spec, L, H):
    """TransformerLens names with 0-based layers ("L0H3", or "L2" for all of a layer's heads)
    -> set of (layer 1-based, head); None for an empty spec (every head)."""
    if not spec:
        return None
    out = set()
    for item in spec.split(","):
        m = re.fullmatch(r"[Ll](\d+)(?:[Hh](\d+))?", item)
        if not m:
            raise SystemExit("bad head name %r" % item)
        layer = int(m.group(1))
        hs = range(H) if m.group(2) is None else [int(m.group(2))]
        for h in hs:
            if not (0 <= layer < L and 0 <= h < H):
                raise SystemExit("head %r out of range" % item)
            out.add((layer + 1, h))
    return out


def zipf_fit(dppl):
    """Zipf exponent of head importance: least squares (torch.linalg.lstsq) of log dPPL on
    log rank over the positive dPPLs ranked among themselves; -> (alpha = -slope, r2, n)."""
    y = sorted((d for d in dppl if d > 0), reverse=True)
    n = len(y)
    if n < 2:
        return float("nan"), float("nan"), n
    logr = torch.log(torch.arange(1, n + 1, dtype=torch.float64))
    logy = torch.log(torch.tensor(y, dtype=torch.float64))
    X = torch.stack([logr, torch.ones(n, dtype=torch.float64)], 1)          # (n, 2)
    coef = torch.linalg.lstsq(X, logy[:, None], driver="gelsd").solution[:, 0]
    fitted = X @ coef
    ss_res = float(((logy - fitted) ** 2).sum())
    ss_tot = float(((logy - logy.mean()) ** 2).sum())
    r2 = 1.0 - ss_res / ss_tot if ss_tot > 0 else 1.0
    return -float(coef[0]), r2, n


def analyse(model, ids, windows, subset_tokens, crosscheck=True, heads_spec="", subset_windows=0):
    """-> dict of every quantity written to the CSVs (for the heads of heads_spec, or all)."""
    chosen = parse_heads(heads_spec, model.L, model.H)
    L, H = model.L, model.H
    base = baseline_pass(model, ids, windows)
    loss_b = base["loss"]
    N = len(loss_b)
    res = {"tokens": N, "windows": len(windows)}
    if crosscheck:
        ref = colleague_losses(model, ids, windows)
        diff = float(np.max(np.abs(ref - loss_b)))
        res["crosscheck_max_abs_loss_diff"] = diff
        if not diff <= 1e-9:
            raise SystemExit("own forward disagrees with layer_analyses_reference: %g" % diff)
    sub_w, sub_n = subset_size(windows, subset_tokens, subset_windows)
    base_loss = float(loss_b.mean())
    base_ppl = math.exp(base_loss)
    sub_base_ppl = math.exp(float(loss_b[:sub_n].mean()))
    res.update(base_loss=base_loss, base_ppl=base_ppl, subset_windows=sub_w,
               subset_tokens=sub_n, subset_base_ppl=sub_base_ppl, mu=base["mu"])

    keys, heads = [], []
    for l0 in range(L):
        for h in range(H):
            if chosen is not None and (l0 + 1, h) not in chosen:
                continue
            keys.append((l0 + 1, h))
            row = {"layer": l0 + 1, "head": h, "name": "L%dH%d" % (l0, h)}
            for kind, value in (("zero", 0.0), ("mean", base["mu"][l0, h])):
                la = ablated_losses(model, ids, windows, base["caches"], l0, set_head(l0, h, value))
                ppl = math.exp(float(la.mean()))
                row[kind + "_ppl"] = ppl
                row[kind + "_dppl"] = ppl / base_ppl - 1.0
                row[kind + "_dppl_abs"] = ppl - base_ppl
                if kind == "zero":
                    sppl = math.exp(float(la[:sub_n].mean()))
                    row["subset_zero_dppl"] = sppl / sub_base_ppl - 1.0
            z, m = row["zero_dppl"], row["mean_dppl"]
            with np.errstate(divide="ignore", invalid="ignore"):
                row["zero_mean_ratio"] = float(np.float64(z) / np.float64(m))   # IEEE: x/0 inf, 0/0 nan
            og = float(base["og"][l0, h])
            mg = float(base["mu"][l0, h] @ base["gsum"][l0, h])
            row["est_zero_dloss"] = -og / N
            row["est_mean_dloss"] = (mg - og) / N
            row["est_zero_dppl"] = math.exp(row["est_zero_dloss"]) - 1.0
            row["est_mean_dppl"] = math.exp(row["est_mean_dloss"]) - 1.0
            heads.append(row)
    for kind, col in (("zero", "zero_dppl"), ("mean", "mean_dppl"), ("subset", "subset_zero_dppl")):
        for row, r in zip(heads, ranks_desc([row[col] for row in heads], keys)):
            row[kind + "_rank"] = r
    zf = [row["zero_dppl"] for row in heads]
    zs = [row["subset_zero_dppl"] for row in heads]
    res["spearman"] = spearman(zs, zf)
    res["kendall"] = kendall_tau_b(zs, zf)
    res["zipf_alpha"], res["zipf_r2"], res["zipf_heads"] = zipf_fit(zf)
    res["spearman_zero"] = spearman([row["est_zero_dppl"] for row in heads], zf)
    res["spearman_mean"] = spearman([row["est_mean_dppl"] for row in heads],
                                    [row["mean_dppl"] for row in heads])
    res["heads"] = heads
    res["base_losses"] = loss_b
    return res


# ----------------------------------------------------------------------------------------
# Output
# ----------------------------------------------------------------------------------------
def write_outputs(outdir, res):
    os.makedirs(outdir, exist_ok=True)
    H = res["heads"]

    def cols(names):
        return [[row[c] for c in names] for row in H]

    write_csv(outdir, "ablation_heads.csv",
              "layer,head,zero_ppl,zero_dppl,mean_ppl,mean_dppl,zero_mean_ratio,zero_rank,"
              "mean_rank,name,zero_dppl_abs,mean_dppl_abs",
              cols(["layer", "head", "zero_ppl", "zero_dppl", "mean_ppl", "mean_dppl",
                    "zero_mean_ratio", "zero_rank", "mean_rank", "name", "zero_dppl_abs",
                    "mean_dppl_abs"]))
    write_csv(outdir, "ablation_summary.csv",
              "tokens,base_loss,base_ppl,subset_tokens,subset_windows,subset_base_ppl,spearman,kendall,"
              "zipf_alpha,zipf_r2,zipf_heads",
              [[res["tokens"], res["base_loss"], res["base_ppl"], res["subset_tokens"],
                res["subset_windows"], res["subset_base_ppl"], res["spearman"], res["kendall"],
                res["zipf_alpha"], res["zipf_r2"], res["zipf_heads"]]])
    write_csv(outdir, "ranking_stability.csv",
              "layer,head,name,subset_zero_dppl,full_zero_dppl,subset_rank,full_rank",
              [[r["layer"], r["head"], r["name"], r["subset_zero_dppl"], r["zero_dppl"],
                r["subset_rank"], r["zero_rank"]] for r in H])
    write_csv(outdir, "attribution.csv",
              "layer,head,name,est_zero_dloss,est_mean_dloss,est_zero_dppl,est_mean_dppl,"
              "exact_zero_dppl,exact_mean_dppl",
              [[r["layer"], r["head"], r["name"], r["est_zero_dloss"], r["est_mean_dloss"],
                r["est_zero_dppl"], r["est_mean_dppl"], r["zero_dppl"], r["mean_dppl"]] for r in H])
    write_csv(outdir, "attribution_summary.csv", "spearman_zero,spearman_mean",
              [[res["spearman_zero"], res["spearman_mean"]]])


def parse_args(argv=None):
    p = rc.window_argument_parser(__doc__)
    p.add_argument("--subset-tokens", type=int, default=2048)
    p.add_argument("--subset-windows", type=int, default=0,
                   help="the subset is the first W windows (overrides --subset-tokens)")
    p.add_argument("--heads", default="", help="e.g. L0H3,L2 (layer from 0); default every head")
    p.add_argument("--out", default=".")
    a = rc.parse_window_args(p, argv)
    if a.subset_tokens < 1:
        p.error("--subset-tokens must be >= 1")
    return a


def main():
    a = parse_args()
    torch.set_num_threads(1)
    model = HookedModel(*lar.load_model(a.model))
    ids, windows = lar.load_windows(a)
    res = analyse(model, ids, windows, a.subset_tokens, heads_spec=a.heads, subset_windows=a.subset_windows)
    write_outputs(a.out, res)
    print(json.dumps({k: res[k] for k in ("tokens", "windows", "base_loss", "base_ppl",
                                          "subset_tokens", "subset_windows", "spearman",
                                          "kendall", "spearman_zero", "spearman_mean",
                                          "crosscheck_max_abs_loss_diff")}))


if __name__ == "__main__":
    main()
