#!/usr/bin/python3
"""Independent float64 reference for LayerScope's logit-lens divergence analysis (lensdiv),
optionally through a tuned lens (Belrose et al. 2023) instead of the logit lens.

The model loading (hand-written safetensors reader), the float64 GPT-2 / Llama forward
(grouped-query attention for Llama), the evaluation windows and the CSV number format come
from layer_analyses_reference.py (imported, not copied); this script only adds the
per-layer divergence of the logit lens, or of a tuned lens (read with the same safetensors
reader). No LayerScope code is involved. Needs only Debian's python3, python3-torch and
python3-numpy.

Usage:
  lensdiv_reference.py --model DIR --ids IDS.npy --seq-len N [--stride S]
      [--max-tokens T] [--post-attention] [--tuned-lens LENSDIR] --out OUTDIR

Notation (as layer_analyses_reference.py). Tokens = all scored predictions of all windows
in stream order (the same windows and predicting positions as layer_analyses_reference.py;
every window is run on its own, positions from 0). L blocks. h_0(t) = the embeddings
entering block 1, h_l(t) = the residual stream leaving block l (l = 1..L); a_l(t) = the
residual stream inside block l after the attention residual add, before the MLP
(a_l = h_{l-1} + attention_l). norm_f = final norm, W = output head (V x D).
Logit lens: z_l(t) = W norm_f(h_l(t)), log p_l = log_softmax(z_l) (torch, float64);
p_L = the model's output distribution; y(t) the true next token. Per token t and layer l:
  kl(t, l)      = KL(p_L || p_l) = sum_v p_L(v) (log p_L(v) - log p_l(v))   [nats]
  ce(t, l)      = -log p_l(y)
  ent(t, l)     = -sum_v p_l(v) log p_l(v)                                    [nats]
  correct(t, l) = 1 if argmax z_l == y else 0   (argmax of the logits, = argmax p_l, first
                  index on ties; taken on z_l as layer_analyses_reference's top1, so that
                  the rounding of log_softmax cannot create a tie z_l does not have)
Stage "block": l = 0..L from h_l. Stage "attention" (only with --post-attention): l = 1..L,
the same four quantities with p_l = softmax(W norm_f(a_l)), still KL against p_L (the
block-L output distribution). At stage block, layer L: kl = 0 exactly (p_l is p_L) and
ce = the model's loss, -log p_L(y), identical to layer_analyses_reference.py's loss.

Tuned lens (--tuned-lens LENSDIR, as written by `layerscope-cli lens train`): a translator
(A, b) per layer, A (D, D) acting on column vectors, so in row form x' = x @ A^T + b,
computed in float64 (A and b upcast). The lens logits above become
  stage block, l = 0..L-1:   z_l(t) = W norm_f(A_l h_l(t) + b_l)
  stage block, l = L:        z_L(t) = W norm_f(h_L(t)), no translator (the model's output), so
                             p_L, kl = 0 and ce = the loss are unchanged
  stage attention, l = 1..L: z_l(t) = W norm_f(A'_l a_l(t) + b'_l) with the file's attention
                             translators; a lens trained without --post-attention has none,
                             and then the attention rows stay the plain logit lens (A' = I,
                             b' = 0), the same rows as without --tuned-lens
and everything else (KL against p_L, ce, ent, correct, the files) is as above. Files:
  LENSDIR/tuned_lens.json          JSON; read: "layers" (must be L), "hidden_size" (must be
                                   D), "stages" (["block"] or ["block", "attention"]); the
                                   rest (model_hash, training settings) is not checked.
  LENSDIR/tuned_lens.safetensors   tensors A.{stage}.{l} (D, D) and b.{stage}.{l} (D,), for
                                   stage block l = 0..L-1 and, when "stages" lists it, stage
                                   attention l = 1..L (F32 as written; any float dtype read).
A missing file, a missing or wrongly shaped tensor of a listed stage, an A./b. tensor
outside the listed stages and layers (e.g. A.block.L), or layers / hidden_size differing
from the model stop the script with a message naming the file.

Output files in OUTDIR (CSV, header row, floats in the shortest form that reads back to the
same double (Python repr), NaN as nan, integers as integers):
  lensdiv_layers.csv    layer,stage,kl_to_final,cross_entropy,entropy,top1_accuracy
                        stage block for l = 0..L in order, then (with --post-attention)
                        stage attention for l = 1..L; each value the mean over all tokens
                        (np.mean of the per-token values; top1_accuracy = fraction correct).
  lensdiv_token_kl.csv  target_index,layer,kl_to_final
                        stage block only, one row per token and layer l = 0..L,
                        token-major (all layers of token 0, then token 1, ...).
  tokens.csv            target_index,target_id,loss   one row per token (target_index = the
                        stream index of the target; loss = -log p_L(y)).
Prints a one-line JSON summary (tokens, windows, layers, post_attention, mean_loss, and
tuned_lens = LENSDIR with --tuned-lens) on stdout.

Defaults: --stride = --seq-len; --max-tokens 0 (the whole stream).
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import layer_analyses_reference as lar  # noqa: E402
import reference_common as rc  # noqa: E402

QUANTITIES = ("kl", "ce", "ent", "correct")
TUNED_FIRST = {"block": 0, "attention": 1}    # tuned-lens stage -> its layers first..first+L-1


def load_tuned_lens(folder, L, D):
    """LENSDIR -> {(stage, l): (A (D, D), b (D,)) float64} for every stage of its "stages"
    (block l = 0..L-1, attention l = 1..L); exits naming the file on any mismatch."""
    meta_path = os.path.join(folder, "tuned_lens.json")
    st_path = os.path.join(folder, "tuned_lens.safetensors")
    for path in (meta_path, st_path):
        if not os.path.isfile(path):
            raise SystemExit("%s: no such file (--tuned-lens needs tuned_lens.json and "
                             "tuned_lens.safetensors)" % path)
    try:
        with open(meta_path, encoding="utf-8") as f:
            meta = json.load(f)
    except ValueError as e:
        raise SystemExit("%s: not valid JSON (%s)" % (meta_path, e))
    for key, want in (("layers", L), ("hidden_size", D)):
        if meta.get(key) != want:
            raise SystemExit('%s: "%s" is %r, the model has %d' % (meta_path, key, meta.get(key), want))
    stages = meta.get("stages")
    if not isinstance(stages, list) or "block" not in stages or not set(stages) <= set(TUNED_FIRST):
        raise SystemExit('%s: "stages" is %r, expected ["block"] or ["block", "attention"]' % (meta_path, stages))
    w = lar.read_safetensors(st_path)
    out = {}
    for stage in stages:
        first = TUNED_FIRST[stage]
        for l in range(first, first + L):
            A, b = "A.%s.%d" % (stage, l), "b.%s.%d" % (stage, l)
            for name, shape in ((A, (D, D)), (b, (D,))):
                if name not in w:
                    raise SystemExit("%s: no tensor %s (stage %s needs layers %d..%d)"
                                     % (st_path, name, stage, first, first + L - 1))
                if tuple(w[name].shape) != shape:
                    raise SystemExit("%s: tensor %s has shape %s, expected %s"
                                     % (st_path, name, list(w[name].shape), list(shape)))
            out[stage, l] = (w[A], w[b])
    known = {"%s.%s.%d" % (m, stage, l) for stage, l in out for m in "Ab"}
    extra = sorted(n for n in w if n[:2] in ("A.", "b.") and n not in known)
    if extra:
        raise SystemExit("%s: tensors outside the stages %s and their layers: %s"
                         % (st_path, stages, ", ".join(extra)))
    return out


def translate(tuned, stage, x):
    """x: (L or L+1, k, D) the streams of `stage` from its first layer on -> A_l x_l + b_l
    for each layer l with a translator in `tuned`, x_l itself for the others (block L)."""
    out = []
    for l, xl in enumerate(x, start=TUNED_FIRST[stage]):
        if (stage, l) in tuned:
            A, b = tuned[stage, l]
            xl = xl @ A.T + b                                            # row form of A x + b
        out.append(xl)
    return torch.stack(out)


def lens_stats(z, logp_final, tgt):
    """z: (S, k, V) lens logits of S layers at k tokens; logp_final: (k, V) log p_L;
    tgt: (k,) targets -> dict of (S, k) float64 arrays kl, ce, ent, correct."""
    out = {q: [] for q in QUANTITIES}
    p_final = logp_final.exp()
    for zl in z:                                                         # (k, V) per layer
        logp = torch.log_softmax(zl, -1)                                 # (k, V)
        out["kl"].append((p_final * (logp_final - logp)).sum(-1))
        out["ce"].append(-logp.gather(1, tgt[:, None])[:, 0])
        out["ent"].append(-(logp.exp() * logp).sum(-1))
        out["correct"].append((zl.argmax(-1) == tgt).to(lar.F64))
    return {q: torch.stack(v).numpy() for q, v in out.items()}


def collect_lensdiv(model, ids, windows, post_attention, tuned=None):
    """Runs every window (through the tuned lens `tuned` of load_tuned_lens when given, the
    logit lens when None); -> dict, tokens in stream order:
    block: {kl, ce, ent, correct: (L+1, T)}, attention: same with (L, T) or None,
    loss (T,), target (T,), target_index (T,)."""
    W = model.W                                                          # (V, D)
    block = {q: [] for q in QUANTITIES}
    attn = {q: [] for q in QUANTITIES} if post_attention else None
    loss, target, target_index = [], [], []
    for begin, length, first in windows:
        win = torch.from_numpy(ids[begin:begin + length])
        with torch.no_grad():
            h, a = model.forward(win)                                    # (L+1, n, D), (L, n, D)
            pos = torch.arange(first - 1, length - 1)                    # predicting positions
            h, a = h[:, pos], a[:, pos]
            tgt = win[pos + 1]
            if tuned is not None:                                        # h_L stays: no translator
                h, a = translate(tuned, "block", h), translate(tuned, "attention", a)
            z = model.final_norm(h) @ W.T                                # (L+1, k, V), as lar.collect
            logp_final = torch.log_softmax(z[-1], -1)                    # (k, V), lar.collect's loss
            s = lens_stats(z, logp_final, tgt)
            for q in QUANTITIES:
                block[q].append(s[q])
            if post_attention:
                s = lens_stats(model.final_norm(a) @ W.T, logp_final, tgt)
                for q in QUANTITIES:
                    attn[q].append(s[q])
            loss.append((-logp_final.gather(1, tgt[:, None])[:, 0]).numpy())
        target.append(tgt.numpy())
        target_index.append((begin + pos + 1).numpy())
    return {
        "block": {q: np.concatenate(v, 1) for q, v in block.items()},
        "attention": {q: np.concatenate(v, 1) for q, v in attn.items()} if post_attention else None,
        "loss": np.concatenate(loss),
        "target": np.concatenate(target),
        "target_index": np.concatenate(target_index),
    }


def layer_rows(stats, stage, first_layer):
    """stats: {kl, ce, ent, correct: (S, T)} -> rows of lensdiv_layers.csv for one stage."""
    return [[first_layer + i, stage, stats["kl"][i].mean(), stats["ce"][i].mean(),
             stats["ent"][i].mean(), stats["correct"][i].mean()] for i in range(stats["kl"].shape[0])]


def token_kl_rows(target_index, kl):
    """kl: (L+1, T) -> token-major rows target_index, layer, kl_to_final."""
    for t, ti in enumerate(target_index):
        for l in range(kl.shape[0]):
            yield [ti, l, kl[l, t]]


def parse_args(argv=None):
    p = rc.window_argument_parser(__doc__)
    p.add_argument("--post-attention", action="store_true",
                   help="also the lens at a_l (after the attention add, before the MLP), l = 1..L")
    p.add_argument("--tuned-lens", metavar="LENSDIR",
                   help="a tuned lens folder (tuned_lens.json, tuned_lens.safetensors) instead of the logit lens")
    p.add_argument("--out", required=True)
    return rc.parse_window_args(p, argv)


def main():
    a = parse_args()
    torch.set_num_threads(1)
    model = lar.Model(*lar.load_model(a.model))
    L = model.L
    tuned = load_tuned_lens(a.tuned_lens, L, model.D) if a.tuned_lens else None

    ids, windows = lar.load_windows(a)

    t = collect_lensdiv(model, ids, windows, a.post_attention, tuned)
    block, loss = t["block"], t["loss"]
    os.makedirs(a.out, exist_ok=True)

    rows = layer_rows(block, "block", 0)
    if a.post_attention:
        rows += layer_rows(t["attention"], "attention", 1)
    rc.write_csv(a.out, "lensdiv_layers.csv", "layer,stage,kl_to_final,cross_entropy,entropy,top1_accuracy", rows)
    rc.write_csv(a.out, "lensdiv_token_kl.csv", "target_index,layer,kl_to_final",
              token_kl_rows(t["target_index"], block["kl"]))
    rc.write_csv(a.out, "tokens.csv", "target_index,target_id,loss",
              zip(t["target_index"], t["target"], loss))
    summary = {"tokens": int(loss.shape[0]), "windows": len(windows), "layers": L,
               "post_attention": a.post_attention, "mean_loss": float(loss.mean())}
    if a.tuned_lens:
        summary["tuned_lens"] = a.tuned_lens
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
