#!/usr/bin/python3
"""Independent check of `layerscope-cli compare`, from the runs' own CSVs.

Reads the CSVs each run wrote (`run --csv` or `show --csv`), builds what compare_layers,
compare_heads and compare_rankings must hold (definitions: layerscope-cli compare --help and
docs/guide.md), and compares them with the CSVs compare wrote. Values taken from the runs'
CSVs must be the same numbers (both print the same float64 with 17 digits); Spearman's rho,
Kendall's tau-b and the top-10 overlap are recomputed here, written from their textbook
definitions (no scipy), to 1e-12.

usage: compare_reference.py --compare DIR RUN_CSV_DIR [RUN_CSV_DIR ...]
Prints one line per check that fails and exits 1, or prints "ok" with the row counts.
"""
import argparse
import csv
import math
import os
import sys


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def number(text):
    return float(text)  # "nan" reads as NaN


def same(a, b):
    return (math.isnan(a) and math.isnan(b)) or a == b


# ---- per-layer quantities, as each run's CSVs print them --------------------------------
def layer_quantities(run_dir):
    """[(metric, layer, stage, value)] in the order compare lists an analysis's quantities."""
    out = []

    def table(name):
        path = os.path.join(run_dir, name + ".csv")
        return read_csv(path) if os.path.exists(path) else None

    cossim = table("cossim_layers")
    if cossim:
        out += [("cossim_mean", int(r["layer"]), "block", number(r["mean"])) for r in cossim]
        out += [("cossim_median", int(r["layer"]), "block", number(r["p50"])) for r in cossim]
    saturation = table("saturation_layers")
    if saturation:
        out += [("saturation_rate", int(r["layer"]), "block", number(r["rate"])) for r in saturation]
        post = table("saturation_post_attention")
        if post:
            out += [("saturation_rate", int(r["layer"]), "attention", number(r["rate"])) for r in post]
    lensdiv = table("lensdiv_layers")
    if lensdiv:
        for column in ("kl_to_final", "cross_entropy", "entropy", "top1_accuracy"):
            out += [(column, int(r["layer"]), r["stage"], number(r[column])) for r in lensdiv]
    predictors = table("predictors")
    if predictors:
        best = {}
        for r in predictors:
            if r["method"] == "oracle":
                continue
            metric = "oracle_ratio:" + r["method"]
            ratio = number(r["oracle_ratio"])
            out.append((metric, int(r["layer"]), "block", ratio))
            if metric not in best or ratio > best[metric][1]:
                best[metric] = (int(r["layer"]), ratio)
        out += [(m, layer, "best", ratio) for m, (layer, ratio) in best.items()]
    return out


# ---- rank statistics, from their definitions ---------------------------------------------
def average_ranks(values):
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2.0 + 1.0
        i = j + 1
    return ranks


def pearson(x, y):
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx = sum((a - mx) ** 2 for a in x)
    syy = sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else float("nan")


def spearman(x, y):
    return pearson(average_ranks(x), average_ranks(y))


def kendall_tau_b(x, y):
    concordant = discordant = ties_x = ties_y = 0
    n = len(x)
    for i in range(n):
        for j in range(i + 1, n):
            dx, dy = x[i] - x[j], y[i] - y[j]
            if dx == 0 and dy == 0:
                continue  # tied in both: counts in neither
            if dx == 0:
                ties_x += 1
            elif dy == 0:
                ties_y += 1
            elif (dx > 0) == (dy > 0):
                concordant += 1
            else:
                discordant += 1
    denominator = math.sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y))
    return (concordant - discordant) / denominator if denominator > 0 else float("nan")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--compare", required=True, help="the CSV folder compare wrote")
    parser.add_argument("runs", nargs="+", help="each run's CSV folder, in compare's order")
    args = parser.parse_args()
    failures = []

    # compare_layers
    expected = {}
    for run, run_dir in enumerate(args.runs):
        for metric, layer, stage, value in layer_quantities(run_dir):
            expected[(metric, layer, stage, run)] = value
    got = {}
    for r in read_csv(os.path.join(args.compare, "compare_layers.csv")):
        key = (r["metric"], int(r["layer"]), r["stage"], int(r["run"]))
        if key in got:
            failures.append("compare_layers: %s twice" % (key,))
        got[key] = (number(r["value"]), number(r["diff_to_first"]))
    if set(got) != set(expected):
        failures.append("compare_layers: rows %s missing, %s unexpected"
                        % (sorted(set(expected) - set(got))[:5], sorted(set(got) - set(expected))[:5]))
    for key, value in expected.items():
        if key not in got:
            continue
        first = expected.get(key[:3] + (0,))
        diff = value - first if first is not None else float("nan")
        if not same(got[key][0], value):
            failures.append("compare_layers %s: value %r, the run's CSV says %r" % (key, got[key][0], value))
        if not same(got[key][1], diff):
            failures.append("compare_layers %s: diff_to_first %r, expected %r" % (key, got[key][1], diff))

    # compare_heads
    heads = {}  # run -> {(layer, head): row}
    for run, run_dir in enumerate(args.runs):
        path = os.path.join(run_dir, "ablation_heads.csv")
        if os.path.exists(path):
            heads[run] = {(int(r["layer"]), int(r["head"])): r for r in read_csv(path)}
    got_heads = read_csv(os.path.join(args.compare, "compare_heads.csv"))
    if len(got_heads) != sum(len(h) for h in heads.values()):
        failures.append("compare_heads: %d rows, the runs scanned %d heads"
                        % (len(got_heads), sum(len(h) for h in heads.values())))
    for r in got_heads:
        own = heads.get(int(r["run"]), {}).get((int(r["layer"]), int(r["head"])))
        if own is None:
            failures.append("compare_heads: %s of run %s is not in that run's ablation_heads" % (r["name"], r["run"]))
            continue
        for column in ("name", "zero_rank", "mean_rank"):
            if r[column] != own[column]:
                failures.append("compare_heads %s run %s: %s %s, the run's CSV says %s"
                                % (r["name"], r["run"], column, r[column], own[column]))
        for column in ("zero_dppl", "mean_dppl"):
            if not same(number(r[column]), number(own[column])):
                failures.append("compare_heads %s run %s: %s %s, the run's CSV says %s"
                                % (r["name"], r["run"], column, r[column], own[column]))

    # compare_rankings
    expected_rankings = {}
    runs = sorted(heads)
    for i, a in enumerate(runs):
        for b in runs[i + 1:]:
            common = [h for h in heads[a] if h in heads[b]]
            if len(common) < 2:
                continue
            for metric in ("zero", "mean"):
                x = [number(heads[a][h][metric + "_dppl"]) for h in common]
                y = [number(heads[b][h][metric + "_dppl"]) for h in common]
                k = min(10, len(common))
                top_a = set(sorted(common, key=lambda h: int(heads[a][h][metric + "_rank"]))[:k])
                top_b = set(sorted(common, key=lambda h: int(heads[b][h][metric + "_rank"]))[:k])
                expected_rankings[(a, b, metric)] = (spearman(x, y), kendall_tau_b(x, y), len(top_a & top_b) / k)
    got_rankings = {(int(r["run_a"]), int(r["run_b"]), r["metric"]):
                    (number(r["spearman"]), number(r["kendall"]), number(r["top10_overlap"]))
                    for r in read_csv(os.path.join(args.compare, "compare_rankings.csv"))}
    if set(got_rankings) != set(expected_rankings):
        failures.append("compare_rankings: rows %s, expected %s" % (sorted(got_rankings), sorted(expected_rankings)))
    for key, want in expected_rankings.items():
        have = got_rankings.get(key)
        if have and any(not (abs(h - w) <= 1e-12 or same(h, w)) for h, w in zip(have, want)):
            failures.append("compare_rankings %s: %r, expected %r" % (key, have, want))

    if failures:
        print("\n".join(failures[:40]))
        sys.exit(1)
    print("ok: %d layer rows, %d head rows, %d rankings" % (len(got), len(got_heads), len(got_rankings)))


if __name__ == "__main__":
    main()
