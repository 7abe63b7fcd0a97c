#!/usr/bin/env python3
"""Compares two folders of LayerScope CSVs (`--csv DIR`) table by table, as test_shards.cpp
does: the same tables, columns and rows; each cell the same text, or both numbers within 1e-9
relative (1e-12 absolute); wall-time columns skipped. Exit 0 when equal, else 1 naming the
first difference.
    compare_tables.py EXPECTED_DIR ACTUAL_DIR"""
import csv
import math
import os
import sys

TIMING = {"full_ms", "factored_ms", "speedup", "us_per_token", "seconds"}


def is_timing(column):
    return column in TIMING or column.endswith("_seconds")


def number(text):
    try:
        return float(text)
    except ValueError:
        return None


def compare(expected_dir, actual_dir):
    expected = sorted(f for f in os.listdir(expected_dir) if f.endswith(".csv"))
    actual = sorted(f for f in os.listdir(actual_dir) if f.endswith(".csv"))
    if expected != actual:
        return f"other tables: {sorted(set(expected) ^ set(actual))}"
    for name in expected:
        with open(os.path.join(expected_dir, name), newline="") as f:
            e_rows = list(csv.reader(f))
        with open(os.path.join(actual_dir, name), newline="") as f:
            a_rows = list(csv.reader(f))
        if len(e_rows) != len(a_rows) or (e_rows and e_rows[0] != a_rows[0]):
            return f"{name}: other shape or columns"
        header = e_rows[0] if e_rows else []
        for r, (e_row, a_row) in enumerate(zip(e_rows[1:], a_rows[1:]), start=1):
            for c, (e, a) in enumerate(zip(e_row, a_row)):
                if e == a or is_timing(header[c]):
                    continue
                ev, av = number(e), number(a)
                if ev is not None and av is not None and (
                        math.isclose(av, ev, rel_tol=1e-9, abs_tol=1e-12) or (math.isnan(ev) and math.isnan(av))):
                    continue
                return f"{name} row {r} column {header[c]}: {a} against {e}"
    print(f"{len(expected)} tables equal")
    return None


if __name__ == "__main__":
    difference = compare(sys.argv[1], sys.argv[2])
    if difference:
        print("difference:", difference)
        sys.exit(1)
