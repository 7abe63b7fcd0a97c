#!/usr/bin/python3
"""Independent float64 reference for LayerScope's ReLU attention linearisation analyses
(per-head damage, cumulative linearisation curve, PPL-ratio thresholds, context-length
sweep).

Model loading (hand-written safetensors reader, config handling) and the evaluation windows
come from layer_analyses_reference.py; the float64 forward (GPT-2 and grouped-query Llama)
comes from ablation_reference.py's HookedModel (both imported, not copied). That forward
has no hook on the attention weights, so the subclass here replaces its per-block head
attention (HookedModel._heads) by one that can swap the softmax weights of chosen query
heads for ReLU weights; with no head chosen it is the same softmax code, and the baseline
per-token losses are checked against layer_analyses_reference's own forward (max |diff|
<= 1e-9, else the script stops). No LayerScope code is involved. Needs only Debian's
python3, python3-torch and python3-numpy.

Usage:
  linearize_reference.py --model DIR --ids IDS.npy --seq-len N [--stride S]
      [--max-tokens T] [--normalize count|rowsum] [--steps 2] [--protect-layers 1,2]
      [--context-lengths 32,64] [--context-heads 2,4] [--context-align] [--out OUTDIR]

  defaults: --stride = --seq-len, --max-tokens 0 (whole stream), --normalize count,
  --steps 2, --protect-layers none, --context-lengths 32,64, --context-heads 2,4, --out .
  An empty list ("") is allowed for --protect-layers, --context-lengths, --context-heads.

Notation. L blocks (layers written 1..L), H query heads per block (0-based), hd the head
size, name = "L{layer-1}H{head}". Tokens = the scored predictions of all windows (HF
sliding-window rule, layer_analyses_reference.make_windows), stream order; loss = mean over
tokens of -log softmax(z_L)[y]; PPL = exp(loss). Each window is run on its own (positions
from 0).

  ReLU linearisation of head (l, h): in block l, query head h's attention weights
      softmax_j(s_ij) (causal) are replaced by
          r_ij = relu(s_ij) for j <= i, 0 for j > i,  s_ij = q_i . k_j * scale
      (scale = the model's attention scale, 1/sqrt(hd) for Llama and default GPT-2
      configs; GPT-2's scale_attn_weights / scale_attn_by_inverse_layer_idx are honoured
      as in the softmax), normalised per query position i (0-based):
          count  : w_ij = r_ij / (i + 1)                           (default)
          rowsum : w_ij = r_ij / sum_j r_ij, a row with sum 0 gets w_ij = 0
      head output o_i = sum_j w_ij v_j. Other heads keep softmax. GQA: query head h uses
      kv head h // (H / KVH); only query head h's weights change.
  unprotected heads: every (l, h) with l not in --protect-layers (1-based); M = their
      count.
  individual ppl[l,h]: PPL with only (l, h) linearised; ratio = ppl / base PPL.
  order: unprotected heads sorted by individual ppl ascending (least damage first), ties by
      (layer, head) ascending (a nan ppl sorts last); order[l,h] = 1-based position.
  curve: N = 0, steps, 2*steps, ... (< M) and M as the last point (M once if it is a
      multiple of steps; just N = 0 when M = 0): PPL with the first N heads of the order
      linearised together; ratio = PPL / PPL(N = 0) (PPL(0) = base PPL, ratio(0) = 1).
  refinement: for each limit in 1.1, 1.5, 2.0, on the curve above: lo = the point with the
      largest N whose ratio <= limit (N = 0 always qualifies), hi = the next point after it;
      every N strictly between lo and hi is added to the curve (the curve stays sorted by N).
  thresholds: for limit in 1.1, 1.5, 2.0: the point of the refined curve with the largest N
      whose ratio <= limit (N = 0 always qualifies): the exact N, not a multiple of --steps.
  context sweep: for each L_c in --context-lengths (given order): windows of seq_len L_c,
      stride L_c (non-overlapping), same stream and --max-tokens; baseline (n_heads 0,
      ratio 1) then, for each n in --context-heads (given order), the first min(n, M)
      heads of the order from the main --seq-len run linearised; ratio = PPL / baseline PPL
      at that L_c. n_heads written = min(n, M).
      With --context-align: the windows of every L_c are those of the longest L_c (windows
      of seq_len max(L_c), stride max(L_c)), each cut to its first min(L_c, length) tokens
      (kept when that is >= 2; first_scored 1): every length starts where the longest does.
      windows = their number; window_starts = "aligned" with --context-align, else "own".

Output files in OUTDIR (CSV, header row, floats as Python repr = shortest round trip, nan
as nan, integers as integers):
  linearize_heads.csv       layer,head,name,ppl,ratio,order
                            one row per unprotected head in (layer, head) order.
  linearize_curve.csv       n_heads,ppl,ratio
  linearize_thresholds.csv  limit,n_heads,ppl,ratio      (the curve point chosen)
  context.csv               seq_len,n_heads,tokens,ppl,ratio,windows,window_starts
"""
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import layer_analyses_reference as lar  # noqa: E402
import ablation_reference as abl  # noqa: E402
import reference_common as rc  # noqa: E402

F64 = torch.float64
NAN = float("nan")
LIMITS = (1.1, 1.5, 2.0)


# ----------------------------------------------------------------------------------------
# Forward with ReLU-linearised heads
# ----------------------------------------------------------------------------------------
class LinearizedModel(abl.HookedModel):
    """abl.HookedModel whose head attention of block i+1 uses ReLU weights for the query
    heads in self.relu.get(i, ()) (i = 0-based block index), softmax for all others."""

    def __init__(self, arch, cfg, w, normalize="count"):
        super().__init__(arch, cfg, w)
        if normalize not in ("count", "rowsum"):
            raise ValueError(normalize)
        self.normalize = normalize
        self.relu = {}          # layer0 -> set of query heads
        self._layer = None

    def set_linearized(self, heads):
        """heads: iterable of (layer 1-based, head)."""
        self.relu = {}
        for layer, h in heads:
            self.relu.setdefault(layer - 1, set()).add(h)

    # the base class's block functions call self._heads(q, k, v, scale) with no layer
    # index; record it here
    def _block_gpt2(self, x, i, hook):
        self._layer = i
        return super()._block_gpt2(x, i, hook)

    def _block_llama(self, x, i, hook, rope):
        self._layer = i
        return super()._block_llama(x, i, hook, rope)

    def _heads(self, q, k, v, scale):
        """q: (H, T, hd), k, v: (H, T, hd) (kv already repeated) -> o (T, H, hd)."""
        T = q.shape[1]
        causal = torch.ones(T, T, dtype=torch.bool).tril()
        s = (q @ k.transpose(1, 2)) * scale                              # (H, T, T)
        a = torch.softmax(s.masked_fill(~causal, float("-inf")), -1)
        heads = sorted(self.relu.get(self._layer, ()))
        if heads:
            a = a.clone()
            for h in heads:
                a[h] = relu_weights(s[h], self.normalize)
        return (a @ v).transpose(0, 1)                                   # (T, H, hd)


def relu_weights(s, normalize):
    """s: (T, T) unmasked scores -> (T, T) causal ReLU attention weights."""
    T = s.shape[0]
    r = torch.relu(s) * torch.ones(T, T, dtype=F64).tril()
    if normalize == "count":
        return r / torch.arange(1, T + 1, dtype=F64)[:, None]
    den = r.sum(-1, keepdim=True)
    return torch.where(den > 0, r / torch.where(den > 0, den, torch.ones_like(den)),
                       torch.zeros_like(r))


# ----------------------------------------------------------------------------------------
# Evaluation with prefix caching
# ----------------------------------------------------------------------------------------
class Evaluator:
    """Windows of one stream; caches every window's block inputs of the unmodified model so
    that a run whose first linearised block is l restarts from block l's cached input."""

    def __init__(self, model, ids, windows, crosscheck=True):
        self.model, self.ids, self.windows = model, ids, windows
        model.set_linearized(())
        self.caches, losses = [], []
        with torch.no_grad():
            for window in windows:
                win, pos, tgt = abl.window_tensors(ids, window)
                cache = []
                hL = model.blocks(model.embed(win), 0, None, cache)
                losses.append(model.token_losses(hL, pos, tgt))
                self.caches.append(cache)
        self.base_losses = torch.cat(losses).numpy()
        self.tokens = len(self.base_losses)
        self.base_ppl = math.exp(float(self.base_losses.mean()))
        self.crosscheck_diff = NAN
        if crosscheck:
            ref = abl.colleague_losses(model, ids, windows)
            self.crosscheck_diff = float(np.max(np.abs(ref - self.base_losses)))
            if not self.crosscheck_diff <= 1e-9:
                raise SystemExit("own forward disagrees with layer_analyses_reference: %g"
                                 % self.crosscheck_diff)

    def losses(self, heads):
        """heads: list of (layer 1-based, head) linearised together -> per-token losses."""
        heads = list(heads)
        if not heads:
            return self.base_losses
        model = self.model
        start = min(layer for layer, _ in heads) - 1
        model.set_linearized(heads)
        out = []
        try:
            with torch.no_grad():
                for window, cache in zip(self.windows, self.caches):
                    _, pos, tgt = abl.window_tensors(self.ids, window)
                    out.append(model.token_losses(model.blocks(cache[start], start), pos, tgt))
        finally:
            model.set_linearized(())
        return torch.cat(out).numpy()

    def ppl(self, heads):
        return math.exp(float(self.losses(heads).mean()))


# ----------------------------------------------------------------------------------------
# The analyses
# ----------------------------------------------------------------------------------------
def curve_points(M, steps):
    pts = list(range(0, M, steps))
    if not pts or pts[-1] != M:
        pts.append(M)
    return pts


def analyse(model, ids, seq_len, stride, steps, protect, context_lengths, context_heads,
            crosscheck=True, heads_spec="", context_align=False):
    L, H = model.L, model.H
    chosen = abl.parse_heads(heads_spec, L, H)   # None: every head
    windows = lar.make_windows(len(ids), seq_len, stride)
    if not windows:
        raise SystemExit("no window scores any token")
    ev = Evaluator(model, ids, windows, crosscheck)
    base = ev.base_ppl
    res = {"tokens": ev.tokens, "windows": len(windows), "base_loss": float(ev.base_losses.mean()),
           "base_ppl": base, "crosscheck_max_abs_loss_diff": ev.crosscheck_diff}

    heads = []
    for layer in range(1, L + 1):
        if layer in protect:
            continue
        for h in range(H):
            if chosen is not None and (layer, h) not in chosen:
                continue
            ppl = ev.ppl([(layer, h)])
            heads.append({"layer": layer, "head": h, "name": "L%dH%d" % (layer - 1, h),
                          "ppl": ppl, "ratio": ppl / base})
    order = sorted(heads, key=lambda r: (math.isnan(r["ppl"]),
                                         r["ppl"] if not math.isnan(r["ppl"]) else 0.0,
                                         r["layer"], r["head"]))
    for k, r in enumerate(order, start=1):
        r["order"] = k
    keys = [(r["layer"], r["head"]) for r in order]
    M = len(keys)

    def point(n):
        ppl = base if n == 0 else ev.ppl(keys[:n])
        return {"n_heads": n, "ppl": ppl, "ratio": ppl / base}

    def threshold(curve, limit):
        best = curve[0]
        for c in curve:
            if c["ratio"] <= limit and c["n_heads"] >= best["n_heads"]:
                best = c
        return best

    coarse = [point(n) for n in curve_points(M, steps)]
    refine = set()
    for limit in LIMITS:
        lo = threshold(coarse, limit)["n_heads"]
        above = [c["n_heads"] for c in coarse if c["n_heads"] > lo]
        if above:
            refine.update(range(lo + 1, min(above)))
    curve = sorted(coarse + [point(n) for n in sorted(refine)], key=lambda c: c["n_heads"])
    thresholds = [dict(threshold(curve, limit), limit=limit) for limit in LIMITS]

    context = []
    starts = "aligned" if context_align else "own"
    longest = lar.make_windows(len(ids), max(context_lengths), max(context_lengths)) if context_lengths else []
    for lc in context_lengths:
        if context_align:
            cw = [(b, min(lc, length), 1) for b, length, _ in longest if min(lc, length) >= 2]
        else:
            cw = lar.make_windows(len(ids), lc, lc)
        cev = Evaluator(model, ids, cw, crosscheck)
        cb = cev.base_ppl
        context.append({"seq_len": lc, "n_heads": 0, "tokens": cev.tokens, "ppl": cb, "ratio": 1.0,
                        "windows": len(cw), "window_starts": starts})
        for n in context_heads:
            n = min(n, M)
            ppl = cev.ppl(keys[:n])
            context.append({"seq_len": lc, "n_heads": n, "tokens": cev.tokens, "ppl": ppl,
                            "ratio": ppl / cb, "windows": len(cw), "window_starts": starts})
    res.update(heads=heads, order=keys, curve=curve, thresholds=thresholds, context=context,
               unprotected=M)
    return res


# ----------------------------------------------------------------------------------------
# Output
# ----------------------------------------------------------------------------------------
def write_outputs(outdir, res):
    os.makedirs(outdir, exist_ok=True)

    def rows(items, cols):
        return [[r[c] for c in cols] for r in items]

    rc.write_csv(outdir, "linearize_heads.csv", "layer,head,name,ppl,ratio,order",
                 rows(res["heads"], ["layer", "head", "name", "ppl", "ratio", "order"]))
    rc.write_csv(outdir, "linearize_curve.csv", "n_heads,ppl,ratio",
                 rows(res["curve"], ["n_heads", "ppl", "ratio"]))
    rc.write_csv(outdir, "linearize_thresholds.csv", "limit,n_heads,ppl,ratio",
                 rows(res["thresholds"], ["limit", "n_heads", "ppl", "ratio"]))
    rc.write_csv(outdir, "context.csv", "seq_len,n_heads,tokens,ppl,ratio,windows,window_starts",
                 rows(res["context"], ["seq_len", "n_heads", "tokens", "ppl", "ratio", "windows", "window_starts"]))


def parse_args(argv=None):
    p = rc.window_argument_parser(__doc__)
    p.add_argument("--normalize", choices=["count", "rowsum"], default="count")
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--protect-layers", type=rc.int_list, default=[], help="1-based, e.g. 1,2")
    p.add_argument("--context-lengths", type=rc.int_list, default=[32, 64])
    p.add_argument("--context-heads", type=rc.int_list, default=[2, 4])
    p.add_argument("--context-align", action="store_true",
                   help="every context length's windows start where the longest length's do")
    p.add_argument("--heads", default="", help="candidate heads, e.g. L0H3,L2 (layer from 0); default all")
    p.add_argument("--out", default=".")
    a = rc.parse_window_args(p, argv)
    if a.steps < 1:
        p.error("--steps must be >= 1")
    if any(c < 2 for c in a.context_lengths):
        p.error("--context-lengths must be >= 2")
    if any(n < 0 for n in a.context_heads):
        p.error("--context-heads must be >= 0")
    return a


def main():
    a = parse_args()
    torch.set_num_threads(1)
    model = LinearizedModel(*lar.load_model(a.model), normalize=a.normalize)
    if any(not 1 <= l <= model.L for l in a.protect_layers):
        raise SystemExit("--protect-layers must be in 1..%d" % model.L)
    if model.arch == "gpt2":
        npos = model.cfg.get("n_positions", model.cfg.get("n_ctx"))
        if npos and max([a.seq_len] + a.context_lengths) > npos:
            raise SystemExit("sequence length exceeds n_positions = %d" % npos)
    ids = rc.load_ids(a.ids, a.max_tokens)
    res = analyse(model, ids, a.seq_len, a.stride, a.steps, set(a.protect_layers),
                  a.context_lengths, a.context_heads, heads_spec=a.heads, context_align=a.context_align)
    write_outputs(a.out, res)
    print(json.dumps({"tokens": res["tokens"], "windows": res["windows"],
                      "base_loss": res["base_loss"], "base_ppl": res["base_ppl"],
                      "unprotected_heads": res["unprotected"],
                      "order": ["L%dH%d" % (l - 1, h) for l, h in res["order"]],
                      "thresholds": {str(t["limit"]): t["n_heads"] for t in res["thresholds"]},
                      "crosscheck_max_abs_loss_diff": res["crosscheck_max_abs_loss_diff"]}))


if __name__ == "__main__":
    main()
