#!/usr/bin/python3
"""Independent float64 reference for LayerScope's loss separation and early-exit analyses.

The model loading (hand-written safetensors reader), the float64 GPT-2 / Llama forward and
the evaluation windows come from layer_analyses_reference.py (imported, not copied); this
script only adds the analyses. No LayerScope code is involved. Needs only Debian's python3,
python3-torch and python3-numpy.

Usage:
  losssep_exit_reference.py --model DIR --ids IDS.npy --seq-len N [--stride S]
      [--max-tokens T] [--metric-ranks 8,16] [--signal confidence] [--exit-layers 1,2]
      [--thresholds a,b,c] [--threshold x] [--bins 60] --out OUTDIR

Notation. Tokens = all scored predictions of all windows in stream order (exactly as
layer_analyses_reference.py). L blocks, h_l(t) the residual stream leaving block l (h_0 the
embeddings), W the output head (V x D), z_l(t) = W norm_f(h_l(t)) the logit lens at layer
l = 1..L (z_L = the final logits), y(t) the true next token,
loss(t) = -log softmax(z_L(t))[y(t)].

Metrics of a logit vector z (at every layer l = 1..L):
  correct_prob   = softmax(z)[y]            higher is easier
  confidence     = max softmax(z)           higher is easier
  max_z          = max z                    higher is easier
  max_minus_mean = max z - mean z (over V)  higher is easier
  margin         = z_(1) - z_(2)            higher is easier (the two largest logits)
  entropy        = -sum p log p (natural)   lower is easier

Median split of a score s: easy iff s >= np.median(s) (higher is easier) or
s <= np.median(s) (lower is easier); ties at the median are easy. The Oracle splits the
loss itself (lower is easier). easy_pct / hard_pct in percent of the split tokens,
easy_loss / hard_loss = mean final loss of each side (nan for an empty side),
loss_diff = hard_loss - easy_loss, oracle_ratio = loss_diff / the Oracle's loss_diff (nan
when the Oracle's is 0 or nan). Threshold split: easy iff s >= threshold.
pearson_r = np.corrcoef(score, loss)[0, 1] (nan for fewer than 2 tokens or a constant).

Output files in OUTDIR (CSV, header row, floats as Python repr = shortest round trip, nan
as nan, integers as integers):
  loss_summary.csv     count,mean,std,min,p25,p50,p75,max,oracle_easy_loss,oracle_hard_loss,
                       oracle_loss_diff,cohens_d
                       std ddof 0, quantiles np.quantile (linear); cohens_d = oracle
                       loss_diff / sqrt(((n_e-1) var_e + (n_h-1) var_h) / (n_e + n_h - 2)),
                       ddof-1 variances of each Oracle side (a side of one token adds 0).
  loss_histogram.csv   bin,bin_lo,bin_hi,count   np.histogram(loss, --bins, range=(min, max)),
                       bin 0-based.
  predictors.csv       method,layer,pearson_r,easy_pct,hard_pct,easy_loss,hard_loss,
                       loss_diff,oracle_ratio
                       for l = 1..L, for each metric in the order above: its median split
                       at layer l; then method "oracle", layer L, pearson_r 1.
  thresholds.csv       method,rule,threshold,easy_pct,hard_pct,easy_loss,hard_loss,
                       loss_diff,oracle_ratio
                       correct_prob then confidence at layer L; rules "0.01", "0.02",
                       "0.05" (easy iff s >= that) and "median" (the median split).
  confidence_subsets.csv   min_confidence,tokens,pct,mean_loss,r_confidence,r_max_z,
                       r_max_minus_mean,r_margin,r_entropy,low_tokens,low_pct,low_mean_loss
                       for c in 0.3, 0.5, 0.6, 0.7, 0.8, 0.9: the tokens whose final
                       confidence >= c; pct in percent; Pearson r of each final-layer
                       metric with the loss inside the subset; low_* the same counts and
                       mean loss for the tokens with confidence < c.
  lowrank_metrics.csv  rank,method,corr_with_exact,pearson_r,easy_pct,hard_pct,easy_loss,
                       hard_loss,loss_diff,oracle_ratio,logit_corr,logit_mse,head_rel_error
                       (only with --metric-ranks)
                       W = U diag(s) V^T (float64 SVD), W_r the top min(r, len(s)) terms,
                       z_r = W_r norm_f(h_L); metrics confidence, max_z, max_minus_mean,
                       margin, entropy of z_r; corr_with_exact = Pearson with the exact
                       final-layer metric; pearson_r with the loss; the median split;
                       logit_corr / logit_mse: z_r against z = W norm_f(h_L) over every
                       (token, vocab) entry; head_rel_error = ||W - W_r||_F / ||W||_F.
  exit_sweep.csv       threshold,exit_fraction,mean_layers,compute_saved,top1_agreement,ppl
  exit_pareto.csv      the same columns: the sweep rows that no other row dominates
                       (compute_saved >= and top1_agreement >= with one strictly greater),
                       in sweep order.
  exit_policy.csv      layer,tokens,fraction   l = 1..L at --threshold.
  tokens.csv           target_index,loss

Early exit. Signal (--signal): cossim (c_l = cos(h_{l-1}, h_l), exit iff c_l >= thr),
confidence, max_z, max_minus_mean, margin (exit iff metric >= thr), entropy (exit iff
entropy <= thr). Allowed layers (--exit-layers, sorted, each in 1..L-1; default 1..L-1): a
token exits at the first allowed layer where its signal passes, else at L. exits[l] =
tokens exiting at l; exit_fraction = share exiting before L; mean_layers = mean exit
layer; compute_saved = 1 - mean_layers / L; top1_agreement = share with
argmax z_exit == argmax z_L (first index on ties); ppl = exp(mean -log softmax(z_exit)[y]).
Sweep thresholds: --thresholds in the given order, default np.quantile(pooled, i / 40) for
i = 0..40, pooled = the signal at every allowed layer of every token (raw values, entropy
too). Policy threshold: --threshold, default np.median(pooled). A list starting with a
negative number needs the = form: --thresholds=-0.5,0,0.5. With L == 1 there is no
allowed layer and the exit files are not written.
"""
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import layer_analyses_reference as lar  # noqa: E402
import reference_common as rc  # noqa: E402

METRICS = [("correct_prob", True), ("confidence", True), ("max_z", True),
           ("max_minus_mean", True), ("margin", True), ("entropy", False)]
HIGHER = dict(METRICS)
LOGIT_METRICS = ["confidence", "max_z", "max_minus_mean", "margin", "entropy"]  # no answer needed
SIGNALS = LOGIT_METRICS + ["cossim"]
THRESHOLD_RULES = [0.01, 0.02, 0.05]
SUBSET_CONFIDENCES = [0.3, 0.5, 0.6, 0.7, 0.8, 0.9]
NAN = float("nan")


# ----------------------------------------------------------------------------------------
# Metrics of logits
# ----------------------------------------------------------------------------------------
def logit_metrics(z, y):
    """z: (n, V) float64 logits, y: (n,) targets -> dict of (n,) arrays: the six metrics,
    plus logp_y (log softmax(z)[y]) and top1 (argmax, first index on ties)."""
    m = z.max(1)                                                         # (n,)
    lse = m + np.log(np.exp(z - m[:, None]).sum(1))                      # logsumexp
    logp = z - lse[:, None]                                              # (n, V)
    p = np.exp(logp)
    top2 = np.partition(z, -2, axis=1)[:, -2:] if z.shape[1] >= 2 else np.stack([z[:, 0], z[:, 0]], 1)
    out = {
        "confidence": np.exp(m - lse),
        "max_z": m,
        "max_minus_mean": m - z.mean(1),
        "margin": top2[:, 1] - top2[:, 0],
        "entropy": -(p * logp).sum(1),
        "top1": z.argmax(1),
    }
    if y is not None:
        out["logp_y"] = logp[np.arange(len(y)), y]
        out["correct_prob"] = np.exp(out["logp_y"])
    return out


def metrics_of(x, W, y, chunk=256):
    """x: (T, D) normed states, W: (V, D) -> logit_metrics of z = x W^T, in token chunks."""
    parts = [logit_metrics(x[i:i + chunk] @ W.T, None if y is None else y[i:i + chunk])
             for i in range(0, x.shape[0], chunk)]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


# ----------------------------------------------------------------------------------------
# Statistics
# ----------------------------------------------------------------------------------------
def pearson(a, b):
    """np.corrcoef(a, b)[0, 1]; nan for fewer than 2 values or a constant input."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size < 2 or np.all(a == a[0]) or np.all(b == b[0]):
        return NAN
    with np.errstate(all="ignore"):
        return float(np.corrcoef(a, b)[0, 1])


def mean_or_nan(v):
    return float(v.mean()) if v.size else NAN


def split_stats(easy, loss, oracle_diff):
    """easy: (T,) bool -> [easy_pct, hard_pct, easy_loss, hard_loss, loss_diff, oracle_ratio]."""
    n = easy.size
    el, hl = mean_or_nan(loss[easy]), mean_or_nan(loss[~easy])
    diff = hl - el
    ratio = diff / oracle_diff if (oracle_diff == oracle_diff and oracle_diff != 0) else NAN
    return [100.0 * easy.sum() / n, 100.0 * (~easy).sum() / n, el, hl, diff, ratio]


def median_easy(s, higher):
    med = np.median(s)
    return (s >= med) if higher else (s <= med)


def oracle_split(loss):
    easy = loss <= np.median(loss)
    el, hl = mean_or_nan(loss[easy]), mean_or_nan(loss[~easy])
    return easy, el, hl, hl - el


def cohens_d(loss, easy, diff):
    e, h = loss[easy], loss[~easy]
    ne, nh = e.size, h.size
    if ne + nh - 2 <= 0:
        return NAN
    ss = (ne - 1) * (e.var(ddof=1) if ne >= 2 else 0.0) + (nh - 1) * (h.var(ddof=1) if nh >= 2 else 0.0)
    pooled = math.sqrt(ss / (ne + nh - 2))
    return diff / pooled if pooled > 0 else NAN


# ----------------------------------------------------------------------------------------
# Loss separation tables
# ----------------------------------------------------------------------------------------
def loss_summary_row(loss):
    easy, el, hl, diff = oracle_split(loss)
    p25, p50, p75 = np.quantile(loss, [0.25, 0.5, 0.75])
    return [int(loss.size), loss.mean(), loss.std(), loss.min(), p25, p50, p75, loss.max(),
            el, hl, diff, cohens_d(loss, easy, diff)]


def loss_histogram_rows(loss, bins):
    counts, edges = np.histogram(loss, bins=bins, range=(loss.min(), loss.max()))
    return [[b, edges[b], edges[b + 1], int(counts[b])] for b in range(bins)]


def predictor_rows(per_layer, loss, oracle_diff):
    """per_layer: [metrics dict of layer 1..L] -> rows of predictors.csv."""
    L = len(per_layer)
    rows = []
    for l, m in enumerate(per_layer, start=1):
        for name, higher in METRICS:
            s = m[name]
            rows.append([name, l, pearson(s, loss)] + split_stats(median_easy(s, higher), loss, oracle_diff))
    easy, _, _, _ = oracle_split(loss)
    rows.append(["oracle", L, 1.0] + split_stats(easy, loss, oracle_diff))
    return rows


def threshold_rows(final, loss, oracle_diff):
    rows = []
    for name in ("correct_prob", "confidence"):
        s = final[name]
        for thr in THRESHOLD_RULES:
            rows.append([name, str(thr), thr] + split_stats(s >= thr, loss, oracle_diff))
        med = np.median(s)
        rows.append([name, "median", med] + split_stats(s >= med, loss, oracle_diff))
    return rows


def subset_rows(final, loss):
    rows = []
    n = loss.size
    for c in SUBSET_CONFIDENCES:
        sel = final["confidence"] >= c
        k = int(sel.sum())
        low = ~sel
        rows.append([c, k, 100.0 * k / n, mean_or_nan(loss[sel])]
                    + [pearson(final[name][sel], loss[sel]) for name in LOGIT_METRICS]
                    + [int(low.sum()), 100.0 * float(low.sum()) / n, mean_or_nan(loss[low])])
    return rows


def lowrank_metric_rows(W, x_final, final, loss, oracle_diff, ranks):
    U, s, Vt = np.linalg.svd(W, full_matrices=False)                     # (V, K), (K,), (K, D)
    rows = []
    for r in ranks:
        k = min(r, len(s))
        Wr = (U[:, :k] * s[:k]) @ Vt[:k]                                 # (V, D)
        m = metrics_of(x_final, Wr, None)
        # The head itself: its logits against the full ones over every (token, vocab) entry,
        # and the Frobenius norm of what it leaves out (computed on the matrices).
        z, zr = x_final @ W.T, x_final @ Wr.T                             # (T, V)
        logit_corr = float(np.corrcoef(z.ravel(), zr.ravel())[0, 1])
        logit_mse = float(np.mean((zr - z) ** 2))
        head_err = float(np.linalg.norm(W - Wr) / np.linalg.norm(W))
        for name in LOGIT_METRICS:
            v = m[name]
            rows.append([r, name, pearson(v, final[name]), pearson(v, loss)]
                        + split_stats(median_easy(v, HIGHER[name]), loss, oracle_diff)
                        + [logit_corr, logit_mse, head_err])
    return rows


# ----------------------------------------------------------------------------------------
# Early exit
# ----------------------------------------------------------------------------------------
def exit_outcome(sig, allowed, higher, threshold, layer_loss, top1):
    """sig: (A, T) signal at the allowed layers; layer_loss, top1: (L, T) at layers 1..L.
    -> (exits per layer 1..L, [exit_fraction, mean_layers, compute_saved, top1_agreement, ppl])."""
    L, T = layer_loss.shape
    passes = (sig >= threshold) if higher else (sig <= threshold)        # (A, T)
    first = np.where(passes.any(0), passes.argmax(0), -1)                # index into allowed
    exit_layer = np.where(first >= 0, np.asarray(allowed)[np.maximum(first, 0)], L)   # (T,) in 1..L
    idx = exit_layer - 1
    tok = np.arange(T)
    exits = np.bincount(exit_layer, minlength=L + 1)[1:]
    mean_layers = exit_layer.mean()
    agree = np.mean(top1[idx, tok] == top1[L - 1])
    ppl = math.exp(layer_loss[idx, tok].mean())
    return exits, [np.mean(exit_layer < L), mean_layers, 1.0 - mean_layers / L, agree, ppl]


def pareto_rows(rows):
    """rows: [threshold, exit_fraction, mean_layers, compute_saved, top1_agreement, ppl]."""
    keep = []
    for i, r in enumerate(rows):
        dominated = any(o[3] >= r[3] and o[4] >= r[4] and (o[3] > r[3] or o[4] > r[4])
                        for j, o in enumerate(rows) if j != i)
        if not dominated:
            keep.append(r)
    return keep


# ----------------------------------------------------------------------------------------
# Output and command line
# ----------------------------------------------------------------------------------------
def parse_args(argv=None):
    p = rc.window_argument_parser(__doc__)
    p.add_argument("--metric-ranks", type=rc.int_list, default=None,
                   help="ranks for lowrank_metrics.csv (not written without)")
    p.add_argument("--signal", default="confidence", choices=SIGNALS)
    p.add_argument("--exit-layers", type=rc.int_list, default=None, help="default 1..L-1")
    p.add_argument("--thresholds", type=rc.float_list, default=None,
                   help="sweep thresholds; default --sweep-points quantiles of the pooled signal")
    p.add_argument("--sweep-points", type=int, default=41,
                   help="quantiles i/(n-1), i = 0..n-1, of the pooled signal (default 41)")
    p.add_argument("--threshold", type=float, default=None, help="policy; default the pooled median")
    p.add_argument("--bins", type=int, default=60, help="loss histogram bins")
    p.add_argument("--out", required=True)
    a = rc.parse_window_args(p, argv)
    if a.bins < 1:
        p.error("--bins must be >= 1")
    if a.metric_ranks is not None and any(r < 1 for r in a.metric_ranks):
        p.error("--metric-ranks must be positive")
    if a.thresholds is not None and not a.thresholds:
        p.error("--thresholds is empty")
    return a


def main():
    a = parse_args()
    torch.set_num_threads(1)
    model = lar.Model(*lar.load_model(a.model))
    L = model.L
    allowed = sorted(set(a.exit_layers)) if a.exit_layers is not None else list(range(1, L))
    if a.exit_layers is not None and (not allowed or any(not 1 <= l <= L - 1 for l in allowed)):
        raise SystemExit("--exit-layers must be in 1..%d" % (L - 1))

    ids, windows = lar.load_windows(a)

    t = lar.collect(model, ids, windows)
    W = model.W.numpy()                                                  # (V, D)
    x, y = t["x"], t["target"]                                           # (L+1, T, D), (T,)
    per_layer = [metrics_of(x[l], W, y) for l in range(1, L + 1)]        # index l-1
    final = per_layer[-1]
    loss = -final["logp_y"]
    if not np.allclose(loss, t["loss"], rtol=1e-12, atol=1e-12):
        raise SystemExit("internal: loss differs from layer_analyses_reference.collect")
    _, _, _, oracle_diff = oracle_split(loss)
    os.makedirs(a.out, exist_ok=True)
    W_CSV = rc.write_csv  # strings (method names, rules) as is

    W_CSV(a.out, "loss_summary.csv", "count,mean,std,min,p25,p50,p75,max,oracle_easy_loss,"
          "oracle_hard_loss,oracle_loss_diff,cohens_d", [loss_summary_row(loss)])
    W_CSV(a.out, "loss_histogram.csv", "bin,bin_lo,bin_hi,count", loss_histogram_rows(loss, a.bins))
    split_cols = "easy_pct,hard_pct,easy_loss,hard_loss,loss_diff,oracle_ratio"
    W_CSV(a.out, "predictors.csv", "method,layer,pearson_r," + split_cols,
          predictor_rows(per_layer, loss, oracle_diff))
    W_CSV(a.out, "thresholds.csv", "method,rule,threshold," + split_cols,
          threshold_rows(final, loss, oracle_diff))
    W_CSV(a.out, "confidence_subsets.csv", "min_confidence,tokens,pct,mean_loss,"
          + ",".join("r_" + n for n in LOGIT_METRICS) + ",low_tokens,low_pct,low_mean_loss",
          subset_rows(final, loss))
    if a.metric_ranks is not None:
        W_CSV(a.out, "lowrank_metrics.csv", "rank,method,corr_with_exact,pearson_r," + split_cols
              + ",logit_corr,logit_mse,head_rel_error",
              lowrank_metric_rows(W, x[L], final, loss, oracle_diff, a.metric_ranks))

    summary = {"tokens": int(loss.size), "windows": len(windows), "layers": L,
               "mean_loss": float(loss.mean()), "signal": a.signal, "exit_layers": allowed}
    if allowed:
        if a.signal == "cossim":
            sig = t["cos"][np.asarray(allowed) - 1]                      # (A, T)
        else:
            sig = np.stack([per_layer[l - 1][a.signal] for l in allowed])
        higher = a.signal != "entropy"
        layer_loss = -np.stack([m["logp_y"] for m in per_layer])         # (L, T)
        top1 = np.stack([m["top1"] for m in per_layer])                  # (L, T)
        pooled = sig.reshape(-1)
        thresholds = a.thresholds if a.thresholds is not None else \
            list(np.quantile(pooled, [i / (a.sweep_points - 1) for i in range(a.sweep_points)]))
        sweep = [[thr] + exit_outcome(sig, allowed, higher, thr, layer_loss, top1)[1] for thr in thresholds]
        cols = "threshold,exit_fraction,mean_layers,compute_saved,top1_agreement,ppl"
        W_CSV(a.out, "exit_sweep.csv", cols, sweep)
        W_CSV(a.out, "exit_pareto.csv", cols, pareto_rows(sweep))
        policy = a.threshold if a.threshold is not None else float(np.median(pooled))
        exits, _ = exit_outcome(sig, allowed, higher, policy, layer_loss, top1)
        W_CSV(a.out, "exit_policy.csv", "layer,tokens,fraction",
              [[l, int(exits[l - 1]), exits[l - 1] / loss.size] for l in range(1, L + 1)])
        summary["policy_threshold"] = policy
    else:
        print("L == 1: no allowed exit layer, exit files not written", file=sys.stderr)

    W_CSV(a.out, "tokens.csv", "target_index,loss", zip(t["target_index"], loss))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
