"""What the float64 reference scripts share: the CSV format the C++ tests compare with, the
comma-separated list options, and the evaluation-window command line (--model, --ids,
--seq-len, --stride, --max-tokens) with its checks.

Imported by layer_analyses_reference.py, ablation_reference.py, linearize_reference.py and
losssep_exit_reference.py (layer_analyses_reference re-exports fmt, write_csv, float_list
and int_list, ablation_reference write_csv and load_ids, under their old names).
"""
import argparse
import os

import numpy as np


# ----------------------------------------------------------------------------------------
# CSV output
# ----------------------------------------------------------------------------------------
def fmt(v):
    """One CSV cell: a string as is, an integer in full, any other number in the shortest
    form that reads back to the same float64 (as %.17g would; nan / inf)."""
    if isinstance(v, str):
        return v
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return repr(float(v))


def write_csv(outdir, name, header, rows):
    with open(os.path.join(outdir, name), "w") as f:
        f.write(header + "\n")
        for r in rows:
            f.write(",".join(fmt(v) for v in r) + "\n")


# ----------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------
def float_list(s):
    return [float(v) for v in s.split(",") if v.strip()]


def int_list(s):
    return [int(v) for v in s.split(",") if v.strip()]


def window_argument_parser(description):
    """An ArgumentParser with the evaluation-window options every reference takes; the
    script adds its own, then calls parse_window_args."""
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--ids", required=True, help="1-D .npy array of token ids")
    p.add_argument("--seq-len", type=int, required=True)
    p.add_argument("--stride", type=int, default=0, help="default: --seq-len")
    p.add_argument("--max-tokens", type=int, default=0, help="0: the whole stream")
    return p


def parse_window_args(p, argv=None):
    """p's arguments, with --seq-len at least 2, --stride (0: --seq-len) in 1..--seq-len and
    --max-tokens at least 0."""
    a = p.parse_args(argv)
    if a.max_tokens < 0:
        p.error("--max-tokens must be >= 0")
    if a.seq_len < 2:
        p.error("--seq-len must be at least 2")
    if a.stride == 0:
        a.stride = a.seq_len
    if not 1 <= a.stride <= a.seq_len:
        p.error("--stride must be in 1..--seq-len")
    return a


def load_ids(path, max_tokens):
    """The token ids of a .npy file as one int64 stream, cut to max_tokens (0: all)."""
    ids = np.load(path).reshape(-1).astype(np.int64)
    return ids[:max_tokens] if max_tokens > 0 else ids
