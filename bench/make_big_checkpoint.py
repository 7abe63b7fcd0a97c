#!/usr/bin/env python3
"""Writes a Hugging Face Llama folder with random bfloat16 weights in the shape of a large
model, for memory and speed measurements (bench/big_model.sh): config.json and one
model.safetensors, written as a stream (a few seconds per GB, little memory).
    make_big_checkpoint.py OUT_DIR [--shape llama3-8b|smollm2-1.7b|tiny] [--tokens N]
llama3-8b: 32 layers, hidden 4096, 32 heads on 8 key/value heads, FFN 14336, vocabulary 128256,
untied head: about 8.0 billion parameters, 16.1 GB. The weights are normal(0, 0.02) values from
one 64 MB random block reused at shifting offsets (what is measured is memory and time, not
what the model says); norms are 1. Also writes ids.npy: N random token ids (int32).
Needs numpy only."""
import argparse
import json
import os
import struct

import numpy as np

SHAPES = {
    "llama3-8b": dict(layers=32, hidden=4096, heads=32, kv_heads=8, ffn=14336, vocab=128256, ctx=8192, theta=500000.0),
    "smollm2-1.7b": dict(layers=24, hidden=2048, heads=32, kv_heads=32, ffn=8192, vocab=49152, ctx=8192, theta=130000.0),
    "tiny": dict(layers=2, hidden=256, heads=4, kv_heads=2, ffn=512, vocab=4096, ctx=512, theta=10000.0),
}


def tensors(s):
    """(name, shape, kind) in file order; kind 'w' random, 'n' ones."""
    D, F, V = s["hidden"], s["ffn"], s["vocab"]
    hd = D // s["heads"]
    out = [("model.embed_tokens.weight", (V, D), "w")]
    for i in range(s["layers"]):
        p = f"model.layers.{i}."
        out += [(p + "input_layernorm.weight", (D,), "n"),
                (p + "self_attn.q_proj.weight", (s["heads"] * hd, D), "w"),
                (p + "self_attn.k_proj.weight", (s["kv_heads"] * hd, D), "w"),
                (p + "self_attn.v_proj.weight", (s["kv_heads"] * hd, D), "w"),
                (p + "self_attn.o_proj.weight", (D, s["heads"] * hd), "w"),
                (p + "post_attention_layernorm.weight", (D,), "n"),
                (p + "mlp.gate_proj.weight", (F, D), "w"),
                (p + "mlp.up_proj.weight", (F, D), "w"),
                (p + "mlp.down_proj.weight", (D, F), "w")]
    out += [("model.norm.weight", (D,), "n"), ("lm_head.weight", (V, D), "w")]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--shape", default="llama3-8b", choices=sorted(SHAPES))
    ap.add_argument("--tokens", type=int, default=257)
    a = ap.parse_args()
    s = SHAPES[a.shape]
    os.makedirs(a.out, exist_ok=True)
    config = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": s["hidden"],
              "intermediate_size": s["ffn"], "num_hidden_layers": s["layers"], "num_attention_heads": s["heads"],
              "num_key_value_heads": s["kv_heads"], "vocab_size": s["vocab"], "max_position_embeddings": s["ctx"],
              "rms_norm_eps": 1e-5, "rope_theta": s["theta"], "hidden_act": "silu", "tie_word_embeddings": False,
              "torch_dtype": "bfloat16"}
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)

    header, offset, plan = {}, 0, tensors(s)
    for name, shape, _ in plan:
        n = int(np.prod(shape)) * 2
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [offset, offset + n]}
        offset += n
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)

    rng = np.random.default_rng(0)
    block = (rng.standard_normal(32 << 20, dtype=np.float32) * 0.02).view(np.uint32)
    block = (block >> 16).astype(np.uint16)  # bfloat16: float32's top half (truncated)
    ones = np.full(1 << 16, 0x3F80, dtype=np.uint16)
    position = 0
    with open(os.path.join(a.out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name, shape, kind in plan:
            left = int(np.prod(shape))
            while left > 0:
                if kind == "n":
                    chunk = ones[:min(left, len(ones))]
                else:
                    start = position % len(block)
                    chunk = block[start:start + min(left, len(block) - start)]
                    position += len(chunk) + 7919  # shift, so tensors are not copies of each other
                f.write(chunk.tobytes())
                left -= len(chunk)
    ids = np.random.default_rng(1).integers(0, s["vocab"], a.tokens).astype(np.int32)
    np.save(os.path.join(a.out, "ids.npy"), ids)
    total = offset
    print(f"{a.out}: {a.shape}, {total / 1e9:.2f} GB of bfloat16 weights, {sum(int(np.prod(t[1])) for t in plan) / 1e9:.2f} B parameters")


if __name__ == "__main__":
    main()
