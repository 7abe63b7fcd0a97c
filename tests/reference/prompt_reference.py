#!/usr/bin/python3
"""Independent float64 reference for LayerScope's single-prompt analyses: attention
patterns, per-head attention statistics and direct logit attribution (DLA).

Model loading comes from layer_analyses_reference.py (load_model, norms, RoPE frequencies)
and ablation_reference.py (HookedModel: embed, H / KV / hd); the forward with every
activation exposed (TracedModel below, also used by patching_reference.py) is written here
from HF's modeling_gpt2.py / modeling_llama.py and cross-checked against the colleague's
lar.Model.forward (max |difference| of every residual <= 1e-9, else exit 1).

Usage:
  prompt_reference.py --model DIR --ids 3,17,5,... --position P --token-id T --top K --out OUTDIR

Notation. L blocks (written 1..L), H query heads (0..H-1), hd head size, D hidden, V vocab,
positions 0..T_len-1. h_0 = embeddings (+ positions for GPT-2), h_l = block l's output,
o_l (T, H, hd) head outputs before the output projection, w_l (H, T, T) attention weights.
z = W_U normf(h_L).

Outputs in OUTDIR (CSV, floats as Python repr, nan as nan):
  attention.csv          layer,head,query,key,weight  (key <= query)
  attention_summary.csv  layer,head,entropy,first_token,previous_token,duplicate_token,induction
                         means over query positions i = 1..T_len-1 (see summarise()).
  dla.csv                component,layer,head,value   DLA of token T at position P with the
                         final norm frozen at P (scale s of the full h_L(P)).
  dla_summary.csv        position,token_id,logit,components_sum,final_norm_bias,final_norm_scale
  dla_top.csv            component,layer,head,direction,rank,token_id,value  (K promoted, K
                         suppressed vocabulary entries per component; ties: lower id first)
"""
import argparse
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ablation_reference as abl  # noqa: E402
import layer_analyses_reference as lar  # noqa: E402
from reference_common import write_csv  # noqa: E402

F64 = torch.float64
NAN = float("nan")


class TracedModel(abl.HookedModel):
    """HookedModel plus run(ids, hook) -> every activation; hook(site, l, x) -> x' may replace
    an activation: site "h" (l = 0..L, x = h_l (T, D), before block l+1 reads it), "o"
    (l = 1..L, x = o_l (T, H, hd)), "mlp" (l = 1..L, x = MLP output (T, D), bias included)."""

    def out_proj(self, i):
        """Block i (0-based) output projection as (M (H*hd, D), bias (D,) or None):
        attention output = o.reshape(T, H*hd) @ M + bias."""
        w = self.w
        if self.arch == "gpt2":   # Conv1D, weight (in, out)
            return w["h.%d.attn.c_proj.weight" % i], w["h.%d.attn.c_proj.bias" % i]
        p = "model.layers.%d.self_attn.o_proj." % i   # nn.Linear, weight (out, in)
        return w[p + "weight"].T, w.get(p + "bias")

    def norm_f_params(self):
        """-> (gamma (D,), beta (D,) or None) of the final norm."""
        if self.arch == "gpt2":
            return self.w["ln_f.weight"], self.w["ln_f.bias"]
        return self.w["model.norm.weight"], None

    def run(self, ids, hook=None):
        """ids: (T,) long -> dict h (L+1, T, D), a (L, T, D), o (L, T, H, hd),
        attn (L, H, T, T), mlp (L, T, D), logits (T, V); recorded values are post-hook."""
        hook = hook or (lambda site, l, x: x)
        T = ids.shape[0]
        if self.arch == "gpt2" and T > self.w["wpe.weight"].shape[0]:
            raise SystemExit("prompt of %d tokens is longer than the model's context" % T)
        rope = None
        if self.arch == "llama":
            ang = torch.outer(torch.arange(T, dtype=F64), self._rope_inv_freq(self.hd))  # (T, hd/2)
            rope = (torch.cat((ang, ang), -1).cos(), torch.cat((ang, ang), -1).sin())    # (T, hd) each
        rec = {k: [] for k in ("h", "a", "o", "attn", "mlp")}
        with torch.no_grad():
            x = hook("h", 0, self.embed(ids))                            # (T, D)
            rec["h"].append(x)
            for i in range(self.L):
                x = self._traced_block(x, i, hook, rope, rec)
                x = hook("h", i + 1, x)
                rec["h"].append(x)
            out = {k: torch.stack(v) for k, v in rec.items()}
            out["logits"] = self.final_norm(x) @ self.W.T                # (T, V)
        return out

    def _qkv(self, x, i, rope):
        """x: (T, D) block input -> q (H, T, hd), k, v (H, T, hd) (kv heads repeated), scale."""
        w, cfg, eps, T, H, KV, hd = self.w, self.cfg, self.eps, x.shape[0], self.H, self.KV, self.hd
        if self.arch == "gpt2":
            p = "h.%d." % i
            scale = 1.0 / math.sqrt(hd) if cfg.get("scale_attn_weights", True) else 1.0
            if cfg.get("scale_attn_by_inverse_layer_idx", False):
                scale /= float(i + 1)
            u = lar.layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
            qkv = u @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]          # (T, 3D)
            q, k, v = (t.reshape(T, H, hd).transpose(0, 1) for t in qkv.split(self.D, -1))
            return q, k, v, scale
        p = "model.layers.%d." % i
        cos, sin = rope
        u = lar.rms_norm(x, w[p + "input_layernorm.weight"], eps)

        def proj(name, n):   # -> (n, T, hd)
            y = self._lin(u, p + "self_attn." + name)
            return y.reshape(T, n, hd).transpose(0, 1)

        def rot(t):          # rotate_half convention
            return t * cos + torch.cat((-t[..., hd // 2:], t[..., :hd // 2]), -1) * sin

        rep = torch.arange(H) // (H // KV)                                # query head -> kv head
        return rot(proj("q_proj", H)), rot(proj("k_proj", KV))[rep], proj("v_proj", KV)[rep], 1.0 / math.sqrt(hd)

    def _lin(self, t, name):   # nn.Linear with optional bias
        y = t @ self.w[name + ".weight"].T
        return y + self.w[name + ".bias"] if name + ".bias" in self.w else y

    def _mlp(self, a, i):
        """a: (T, D) post-attention residual -> MLP output (T, D), output bias included."""
        w, eps = self.w, self.eps
        if self.arch == "gpt2":
            p = "h.%d." % i
            act = lar.ACTIVATIONS[self.cfg.get("activation_function", "gelu_new")]
            u = lar.layer_norm(a, w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
            return act(u @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"]) @ w[p + "mlp.c_proj.weight"] \
                + w[p + "mlp.c_proj.bias"]
        p = "model.layers.%d." % i
        act = lar.ACTIVATIONS[self.cfg.get("hidden_act", "silu")]
        u = lar.rms_norm(a, w[p + "post_attention_layernorm.weight"], eps)
        return self._lin(act(self._lin(u, p + "mlp.gate_proj")) * self._lin(u, p + "mlp.up_proj"), p + "mlp.down_proj")

    def _traced_block(self, x, i, hook, rope, rec):
        T = x.shape[0]
        q, k, v, scale = self._qkv(x, i, rope)
        s = (q @ k.transpose(1, 2)) * scale                              # (H, T, T)
        s = s.masked_fill(~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf"))
        wts = torch.softmax(s, -1)                                       # (H, T, T)
        o = hook("o", i + 1, (wts @ v).transpose(0, 1))                  # (T, H, hd)
        M, b = self.out_proj(i)
        attn_out = o.reshape(T, self.H * self.hd) @ M                    # (T, D)
        a = x + (attn_out + b if b is not None else attn_out)            # a_l
        m = hook("mlp", i + 1, self._mlp(a, i))                          # (T, D)
        for k_, v_ in (("attn", wts), ("o", o), ("a", a), ("mlp", m)):
            rec[k_].append(v_)
        return a + m


def load_traced(folder):
    """-> TracedModel of the model folder."""
    return TracedModel(*lar.load_model(folder))


def crosscheck(model, ids, run):
    """Own residuals vs the colleague's forward (h and a), exit 1 if they differ > 1e-9."""
    h, a = lar.Model.forward(model, ids)
    diff = max(float((h - run["h"]).abs().max()), float((a - run["a"]).abs().max()))
    if not diff <= 1e-9:
        raise SystemExit("own forward disagrees with layer_analyses_reference: %g" % diff)
    return diff


# ----------------------------------------------------------------------------------------
# Attention statistics
# ----------------------------------------------------------------------------------------
def mean_or_nan(v):
    return sum(v) / len(v) if v else NAN


def summarise(w, x):
    """w: (T, T) one head's weights, x: list of ids -> (entropy, first, previous, duplicate,
    induction), each the mean over query positions i = 1..T-1 (dup / induction only over the
    i with at least one qualifying earlier position)."""
    T = len(x)
    ent, first, prev, dup, ind = [], [], [], [], []
    for i in range(1, T):
        row = [float(w[i, j]) for j in range(i + 1)]
        ent.append(-sum(p * math.log(p) for p in row if p > 0.0))        # 0 ln 0 = 0
        first.append(row[0])
        prev.append(row[i - 1])
        js = [j for j in range(i) if x[j] == x[i]]                       # earlier copies of x_i
        if js:
            dup.append(sum(row[j] for j in js))
        js = [j for j in range(i - 1) if x[j] == x[i]]                   # j + 1 < i
        if js:
            ind.append(sum(row[j + 1] for j in js))
    return tuple(mean_or_nan(v) for v in (ent, first, prev, dup, ind))


# ----------------------------------------------------------------------------------------
# Direct logit attribution
# ----------------------------------------------------------------------------------------
def dla_components(model, run, P):
    """-> [(component, layer, head, c (D,))] at position P, summing to h_L(P)."""
    comps = [("embeddings", 0, -1, run["h"][0, P])]
    hd = model.hd
    for l in range(1, model.L + 1):
        M, b = model.out_proj(l - 1)
        for h in range(model.H):
            comps.append(("head", l, h, run["o"][l - 1, P, h] @ M[h * hd:(h + 1) * hd]))
        if b is not None:
            comps.append(("attention_bias", l, -1, b))
        comps.append(("mlp", l, -1, run["mlp"][l - 1, P]))
    return comps


def frozen_norm(model, hP):
    """-> (f: c (D,) -> normalised c (D,) without the bias, s, beta or None) for the final
    norm frozen at the residual hP (D,)."""
    gamma, beta = model.norm_f_params()
    if model.arch == "gpt2":
        s = math.sqrt(float(((hP - hP.mean()) ** 2).mean()) + model.eps)
        return (lambda c: gamma * (c - c.mean()) / s), s, beta
    s = math.sqrt(float((hP * hP).mean()) + model.eps)
    return (lambda c: gamma * c / s), s, None


def top_rows(name, layer, head, e, K):
    """e: (V,) direct effects -> K promote rows (descending) then K suppress rows (ascending);
    ties: lower token id first."""
    vals = [float(v) for v in e]
    K = min(K, len(vals))
    up = sorted(range(len(vals)), key=lambda t: (-vals[t], t))[:K]
    down = sorted(range(len(vals)), key=lambda t: (vals[t], t))[:K]
    return ([[name, layer, head, "promote", r + 1, t, vals[t]] for r, t in enumerate(up)]
            + [[name, layer, head, "suppress", r + 1, t, vals[t]] for r, t in enumerate(down)])


# ----------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------
class Parser(argparse.ArgumentParser):
    def error(self, message):   # one line on stderr, exit 1
        sys.stderr.write("%s: %s\n" % (self.prog, message))
        sys.exit(1)


def main():
    p = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--ids", required=True, help="comma-separated token ids")
    p.add_argument("--position", type=int, required=True)
    p.add_argument("--token-id", type=int, required=True)
    p.add_argument("--top", type=int, required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    torch.set_num_threads(1)
    model = load_traced(a.model)
    V = model.W.shape[0]
    x = [int(t) for t in a.ids.split(",") if t.strip()]
    if not x or any(not 0 <= t < V for t in x):
        p.error("--ids must be a non-empty list of ids in 0..%d" % (V - 1))
    if not 0 <= a.position < len(x):
        p.error("--position must be in 0..%d" % (len(x) - 1))
    if not 0 <= a.token_id < V:
        p.error("--token-id must be in 0..%d" % (V - 1))
    if a.top < 1:
        p.error("--top must be >= 1")
    ids = torch.tensor(x, dtype=torch.long)
    run = model.run(ids)
    crosscheck(model, ids, run)
    os.makedirs(a.out, exist_ok=True)
    L, H, T, P, tok = model.L, model.H, len(x), a.position, a.token_id

    write_csv(a.out, "attention.csv", "layer,head,query,key,weight",
              [[l, h, i, j, float(run["attn"][l - 1, h, i, j])]
               for l in range(1, L + 1) for h in range(H) for i in range(T) for j in range(i + 1)])
    write_csv(a.out, "attention_summary.csv",
              "layer,head,entropy,first_token,previous_token,duplicate_token,induction",
              [[l, h, *summarise(run["attn"][l - 1, h], x)] for l in range(1, L + 1) for h in range(H)])

    f, s, beta = frozen_norm(model, run["h"][L, P])
    comps = dla_components(model, run, P)
    rows, top = [], []
    for name, l, h, c in comps:
        e = model.W @ f(c)                                               # (V,)
        rows.append([name, l, h, float(e[tok])])
        top += top_rows(name, l, h, e, a.top)
    bias = float(model.W[tok] @ beta) if beta is not None else 0.0
    write_csv(a.out, "dla.csv", "component,layer,head,value", rows)
    write_csv(a.out, "dla_summary.csv",
              "position,token_id,logit,components_sum,final_norm_bias,final_norm_scale",
              [[P, tok, float(run["logits"][P, tok]), sum(r[3] for r in rows), bias, s]])
    write_csv(a.out, "dla_top.csv", "component,layer,head,direction,rank,token_id,value", top)


def run_as_script(main, name):
    """main() with any failure as one line on stderr and exit 1 (shared with patching_reference.py)."""
    try:
        main()
    except SystemExit:
        raise
    except Exception as e:
        sys.stderr.write("%s: %s: %s\n" % (name, type(e).__name__, e))
        sys.exit(1)


if __name__ == "__main__":
    run_as_script(main, "prompt_reference.py")
