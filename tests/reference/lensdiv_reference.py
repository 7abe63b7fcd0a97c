#!/usr/bin/python3
"""Independent float64 reference for LayerScope's logit-lens divergence analysis (lensdiv).

The model loading (hand-written safetensors reader), the float64 GPT-2 / Llama forward
(grouped-query attention for Llama), the evaluation windows and the CSV number format come
from layer_analyses_reference.py (imported, not copied); this script only adds the
per-layer divergence of the logit lens. No LayerScope code is involved. Needs only Debian's
python3, python3-torch and python3-numpy.

Usage:
  lensdiv_reference.py --model DIR --ids IDS.npy --seq-len N [--stride S]
      [--max-tokens T] [--post-attention] --out OUTDIR

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
Prints a one-line JSON summary (tokens, windows, layers, mean_loss) on stdout.

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


def collect_lensdiv(model, ids, windows, post_attention):
    """Runs every window; -> dict, tokens in stream order:
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
    p.add_argument("--out", required=True)
    return rc.parse_window_args(p, argv)


def main():
    a = parse_args()
    torch.set_num_threads(1)
    model = lar.Model(*lar.load_model(a.model))
    L = model.L

    ids, windows = lar.load_windows(a)

    t = collect_lensdiv(model, ids, windows, a.post_attention)
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
    print(json.dumps({"tokens": int(loss.shape[0]), "windows": len(windows), "layers": L,
                      "post_attention": a.post_attention, "mean_loss": float(loss.mean())}))


if __name__ == "__main__":
    main()
