#!/usr/bin/python3
"""Independent float64 reference for LayerScope's activation patching (residual stream,
attention heads, MLPs) on clean / corrupted prompt pairs.

The forward with hooks is prompt_reference.TracedModel (model loading from
layer_analyses_reference.py / ablation_reference.py). Every patch is its own full forward
pass from the embeddings, the hook substituting one activation by the source run's; nothing
is cached or derived algebraically.

Usage:
  patching_reference.py --model DIR --pairs FILE.jsonl --out OUTDIR [--what resid,heads,mlp]

Pairs file: one JSON object a line, {"clean": [ids], "corrupted": [ids], "answer": id,
"wrong": id} (blank lines skipped); clean and corrupted of one length T.
Metric m = z_answer - z_wrong at the last position T-1. Per pair m_clean, m_corr of the
unpatched runs; a patched run's normalised value = (m_patched - m_corr) / (m_clean - m_corr).
  denoise   the corrupted prompt run with the clean run's activation patched in
  noise     the clean prompt run with the corrupted run's activation patched in
Every CSV value is the mean over the pairs of the normalised values.
Sites: resid   h_l(p), l = 0..L (0 = embeddings), one position p
       heads   o_{l,h} (head output before the output projection), all positions
       heads per position   o_{l,h}(p), one position p
       mlp     block l's MLP output (bias included), all positions
Outputs in OUTDIR (CSV; floats as Python repr, nan as nan), denoise rows then noise rows:
  patch_resid.csv            direction,layer,position,value
  patch_heads.csv            direction,layer,head,value
  patch_heads_position.csv   direction,layer,head,position,value
  patch_mlp.csv              direction,layer,value
  patch_pairs.csv            pair,tokens,clean_logit_diff,corrupted_logit_diff
Position-indexed outputs (resid, heads) need every pair of the same length (else exit 1).
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prompt_reference as pr  # noqa: E402
from reference_common import write_csv  # noqa: E402

WHAT = ("resid", "heads", "mlp")


def load_pairs(path, V):
    """-> [(clean (T,) long, corrupted (T,) long, answer, wrong)]."""
    pairs = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
                c, k, ans, wrong = list(d["clean"]), list(d["corrupted"]), d["answer"], d["wrong"]
            except (ValueError, KeyError, TypeError) as e:
                raise SystemExit("%s line %d: not a valid pair (%s)" % (path, n, e))
            ids = c + k + [ans, wrong]
            if not all(isinstance(t, int) and not isinstance(t, bool) and 0 <= t < V for t in ids):
                raise SystemExit("%s line %d: ids must be integers in 0..%d" % (path, n, V - 1))
            if not c or len(c) != len(k):
                raise SystemExit("%s line %d: clean and corrupted must be non-empty and of the same "
                                 "length (%d vs %d)" % (path, n, len(c), len(k)))
            pairs.append((torch.tensor(c), torch.tensor(k), ans, wrong))
    if not pairs:
        raise SystemExit("%s: no pairs" % path)
    return pairs


def metric(run, ans, wrong):
    """m = z_answer - z_wrong at the last position."""
    z = run["logits"][-1]                                                # (V,)
    return float(z[ans] - z[wrong])


def substitute(site, layer, src, index):
    """Hook replacing activation `site` of block / residual `layer` at `index` (an indexing
    tuple into the activation: positions, heads) by the source run's values."""
    def hook(s, l, x):
        if s != site or l != layer:
            return x
        x = x.clone()
        x[index] = src[index]
        return x
    return hook


def patch_sites(model, T, what):
    """-> [(output name, key tuple, site, layer, index, record key, record layer index)]."""
    L, H = model.L, model.H
    out = []
    if "resid" in what:
        out += [("resid", (l, p), "h", l, (p,), "h", l) for l in range(L + 1) for p in range(T)]
    if "heads" in what:
        out += [("heads", (l, h), "o", l, (slice(None), h), "o", l - 1)
                for l in range(1, L + 1) for h in range(H)]
        out += [("heads_position", (l, h, p), "o", l, (p, h), "o", l - 1)
                for l in range(1, L + 1) for h in range(H) for p in range(T)]
    if "mlp" in what:
        out += [("mlp", (l,), "mlp", l, (slice(None),), "mlp", l - 1) for l in range(1, L + 1)]
    return out


def analyse(model, pairs, what):
    """-> ({(name, direction, key): mean normalised value}, [pair rows])."""
    sums, pair_rows = {}, []
    for n, (clean, corr, ans, wrong) in enumerate(pairs, start=1):
        run_c, run_k = model.run(clean), model.run(corr)
        m_c, m_k = metric(run_c, ans, wrong), metric(run_k, ans, wrong)
        if abs(m_c - m_k) < 1e-9:
            raise SystemExit("pair %d: clean and corrupted logit differences are equal (%r)" % (n, m_c))
        pair_rows.append([n, len(clean), m_c, m_k])
        for name, key, site, layer, index, rk, ri in patch_sites(model, len(clean), what):
            for direction, target, source in (("denoise", corr, run_c), ("noise", clean, run_k)):
                run = model.run(target, substitute(site, layer, source[rk][ri], index))
                v = (metric(run, ans, wrong) - m_k) / (m_c - m_k)
                sums[name, direction, key] = sums.get((name, direction, key), 0.0) + v
    return {k: v / len(pairs) for k, v in sums.items()}, pair_rows


def write_outputs(outdir, model, T, what, means, pair_rows):
    os.makedirs(outdir, exist_ok=True)
    files = {"resid": ("patch_resid.csv", "direction,layer,position,value"),
             "heads": ("patch_heads.csv", "direction,layer,head,value"),
             "heads_position": ("patch_heads_position.csv", "direction,layer,head,position,value"),
             "mlp": ("patch_mlp.csv", "direction,layer,value")}
    keys = {}
    for name, key, *_ in patch_sites(model, T, what):
        keys.setdefault(name, []).append(key)
    for name, ks in keys.items():
        rows = [[d, *k, means[name, d, k]] for d in ("denoise", "noise") for k in ks]
        write_csv(outdir, files[name][0], files[name][1], rows)
    write_csv(outdir, "patch_pairs.csv", "pair,tokens,clean_logit_diff,corrupted_logit_diff", pair_rows)


def main():
    p = pr.Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--pairs", required=True, help="JSON lines file of clean / corrupted pairs")
    p.add_argument("--out", required=True)
    p.add_argument("--what", default=",".join(WHAT), help="comma-separated subset of resid,heads,mlp")
    a = p.parse_args()
    what = [w.strip() for w in a.what.split(",") if w.strip()]
    if not what or any(w not in WHAT for w in what):
        p.error("--what must be a comma-separated subset of resid,heads,mlp")
    torch.set_num_threads(1)
    model = pr.load_traced(a.model)
    pairs = load_pairs(a.pairs, model.W.shape[0])
    lengths = sorted({len(c) for c, *_ in pairs})
    if len(lengths) > 1 and ("resid" in what or "heads" in what):
        raise SystemExit("position-indexed patching needs pairs of one length, got lengths %s" % lengths)
    pr.crosscheck(model, pairs[0][0], model.run(pairs[0][0]))
    means, pair_rows = analyse(model, pairs, what)
    write_outputs(a.out, model, lengths[0], what, means, pair_rows)


if __name__ == "__main__":
    pr.run_as_script(main, "patching_reference.py")
