#!/usr/bin/python3
"""Model loading against the disk: how long `layerscope-cli` takes to load a checkpoint next to
reading its files, for a multi-GB bf16 checkpoint (the common case for Llama-family models).

    /usr/bin/python3 bench/load_speed.py [--model DIR] [--cli PATH] [--cold]

--model: default /tmp/layerscope-bench-bf16, a random TinyLlama-1.1B-shaped bf16 folder (22
layers, dim 2048, 32 query heads on 4 key/value heads, SwiGLU 5632, vocab 32000; 2.2 GB),
written on first use. Printed: the files' size; the time to read them (cat, from the page
cache, and with --cold, as root, after dropping the page cache); and `layerscope-cli eval`'s
load phase (config, headers, every weight converted to float32 and checked for NaN/Inf; the
`phases` of eval --json) on one 16-token window, warm and (--cold) cold. The loaded model is
float32 (4.4 GB), so the load writes twice the bytes it reads.
Needs numpy and torch (Debian's /usr/bin/python3; the model writer is compare_eager.py's).
"""
import argparse, json, subprocess, tempfile, time
from pathlib import Path

import numpy as np

from compare_eager import write_random_llama  # same folder

ROOT = Path(__file__).resolve().parent.parent
TINYLLAMA = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": 2048,
             "intermediate_size": 5632, "num_hidden_layers": 22, "num_attention_heads": 32,
             "num_key_value_heads": 4, "vocab_size": 32000, "max_position_embeddings": 2048,
             "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "hidden_act": "silu",
             "tie_word_embeddings": False, "torch_dtype": "bfloat16"}


def drop_page_cache():
    subprocess.run(["sync"], check=True)
    Path("/proc/sys/vm/drop_caches").write_text("3\n")


def read_seconds(files):
    t0 = time.perf_counter()
    subprocess.run(["cat", *map(str, files)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def load_seconds(cli, model, ids):
    out = subprocess.run([cli, "eval", "--model", str(model), "--data", str(ids), "--seq-len", "16", "--json"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["phases"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="/tmp/layerscope-bench-bf16")
    ap.add_argument("--cli", default=str(ROOT / "build/app/cli/layerscope-cli"))
    ap.add_argument("--cold", action="store_true", help="also after dropping the page cache (root)")
    args = ap.parse_args()
    model = Path(args.model)
    if not (model / "model.safetensors").exists():
        write_random_llama(model, TINYLLAMA, dtype="BF16")
    files = [model / "config.json", model / "model.safetensors"]
    gb = sum(f.stat().st_size for f in files) / 1e9
    with tempfile.TemporaryDirectory() as tmp:
        ids = Path(tmp) / "ids.npy"
        np.save(ids, np.arange(16, dtype=np.int32))
        rows = []
        if args.cold:
            drop_page_cache()
            rows.append(("cold", read_seconds(files), None))
            drop_page_cache()
            rows.append(("cold", None, load_seconds(args.cli, model, ids)))
        read_seconds(files)  # into the page cache
        rows.append(("warm", read_seconds(files), load_seconds(args.cli, model, ids)))
    print(f"model {model}: {gb:.2f} GB bf16 on disk, {2 * gb:.2f} GB as float32")
    for cache, read, phases in rows:
        if read is not None:
            print(f"{cache:<5} read the files (cat)     {read:6.2f} s  {gb / read:5.2f} GB/s")
        if phases is not None:
            print(f"{cache:<5} layerscope-cli load      {phases['load']:6.2f} s  {gb / phases['load']:5.2f} GB/s read"
                  f"  (start-up {phases['startup']:.2f} s)")


if __name__ == "__main__":
    main()
