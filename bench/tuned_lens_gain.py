#!/usr/bin/python3
"""What the tuned lens gains over the logit lens, from the CSVs of two runs of
saturation,lensdiv,exit on the same data (bench/tuned_lens.sh):

  KL to final per layer (lensdiv_layers.csv), both lenses;
  mean saturation layer (saturation_histogram.csv: the first block from which the lens's top-1
  stays the final one; a token's top-1 agrees with the final from there on, in both lenses);
  compute saved by early exit at equal top-1 agreement: each lens's Pareto front
  (exit_pareto.csv: compute_saved, top1_agreement), the largest compute saved at an agreement
  of at least 0.90, 0.95, 0.99 (linear between the front's points).

Usage: tuned_lens_gain.py LOGIT_CSV_DIR TUNED_CSV_DIR
"""
import csv
import sys


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def mean_saturation_layer(d):
    h = rows(d + "/saturation_histogram.csv")
    n = sum(int(r["tokens"]) for r in h)
    return sum(int(r["layer"]) * int(r["tokens"]) for r in h) / n


def saved_at(d, agreement):
    """The largest compute saved on the Pareto front with top-1 agreement >= agreement."""
    pts = sorted((float(r["compute_saved"]), float(r["top1_agreement"])) for r in rows(d + "/exit_pareto.csv"))
    best = 0.0
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        if y0 >= agreement:
            best = max(best, x0)
        if y0 >= agreement > y1:  # crosses between the two points
            best = max(best, x0 + (x1 - x0) * (y0 - agreement) / (y0 - y1))
    if pts and pts[-1][1] >= agreement:
        best = max(best, pts[-1][0])
    return best


def main():
    logit, tuned = sys.argv[1], sys.argv[2]
    a, b = rows(logit + "/lensdiv_layers.csv"), rows(tuned + "/lensdiv_layers.csv")
    print("KL(p_L || p_l) on these windows, nats:")
    print("  layer   logit lens   tuned lens")
    blocks = [(x, y) for x, y in zip(a, b) if x["stage"] == "block"]
    last = max(int(x["layer"]) for x, _ in blocks)
    for x, y in blocks:
        kx, ky = float(x["kl_to_final"]), float(y["kl_to_final"])
        flag = "   (tuned not lower)" if int(x["layer"]) < last and ky >= kx else ""
        print("  %5s   %10.4f   %10.4f%s" % (x["layer"], kx, ky, flag))
    ma, mb = mean_saturation_layer(logit), mean_saturation_layer(tuned)
    print("mean saturation layer: logit %.3f, tuned %.3f (%.3f layers earlier)" % (ma, mb, ma - mb))
    for agreement in (0.90, 0.95, 0.99):
        sa, sb = saved_at(logit, agreement), saved_at(tuned, agreement)
        print("early exit at top-1 agreement >= %.2f: compute saved logit %.3f, tuned %.3f (%+.3f)" % (agreement, sa, sb, sb - sa))


if __name__ == "__main__":
    main()
