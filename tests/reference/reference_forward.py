#!/usr/bin/python3
"""Independent check of a model folder written by LayerScope's trainer (layerscope-cli train).

Reads the folder the way a Hugging Face loader would -- config.json, model.safetensors
(parsed here by hand) and the word-level tokenizer.json -- and recomputes, in float64 with
the reference forward passes of make_model.py (written from modeling_gpt2.py /
modeling_llama.py, no LayerScope code involved):

  * the folder's structure: the config keys a HF loader needs, the tensor names and shapes
    GPT2LMHeadModel / LlamaForCausalLM expect (no missing, no extra tensor), F32 data
    that exactly fills the file;
  * the corpus tokenized by the word-level vocabulary (WhitespaceSplit + WordLevel: one id
    per whitespace-separated word, [UNK] for words outside the vocabulary);
  * the trainer's validation split -- non-overlapping windows of seq_len + 1 tokens, the
    last max(1, round(samples * val_fraction)) of them -- and its mean next-token loss
    over all seq_len positions of every validation window;
  * logits for given id sequences.

Usage:
  reference_forward.py --model DIR --corpus FILE --seq-len S --val-fraction F
                       [--samples N] [--ids A.npy ...] --out RESULT.json
Writes RESULT.json, and next to it stream_ids.npy (int32, the tokenized corpus),
val0_ids.npy (int32, the inputs of the first validation window) and, for val0_ids.npy and
every --ids A.npy, A.logits.npy (float64, (T, vocab)).
Exit code 0 on success; 1 with one line on stderr naming the problem otherwise.
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_model  # noqa: E402  (float64 reference forward passes)


class Problem(Exception):
    pass


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise Problem("%s: shorter than 8 bytes" % path)
    (n,) = struct.unpack("<Q", blob[:8])
    if 8 + n > len(blob):
        raise Problem("%s: header length %d beyond the file" % (path, n))
    header = json.loads(blob[8:8 + n].decode("utf-8"))
    data = blob[8 + n:]
    header.pop("__metadata__", None)
    tensors = {}
    spans = []
    for name, e in header.items():
        if e["dtype"] != "F32":
            raise Problem("%s: tensor %s has dtype %s, the config says float32" % (path, name, e["dtype"]))
        b0, b1 = e["data_offsets"]
        shape = e["shape"]
        count = int(np.prod(shape)) if shape else 1
        if b1 - b0 != 4 * count:
            raise Problem("%s: tensor %s: %d bytes for shape %s" % (path, name, b1 - b0, shape))
        spans.append((b0, b1, name))
        arr = np.frombuffer(data[b0:b1], dtype="<f4").reshape(shape)
        tensors[name] = torch.from_numpy(arr.astype(np.float64))
    spans.sort()
    pos = 0
    for b0, b1, name in spans:
        if b0 != pos:
            raise Problem("%s: tensor %s starts at %d, expected %d (gap or overlap)" % (path, name, b0, pos))
        pos = b1
    if pos != len(data):
        raise Problem("%s: tensors cover %d of %d data bytes" % (path, pos, len(data)))
    return tensors


def require(cfg, keys):
    for k in keys:
        if k not in cfg:
            raise Problem("config.json lacks '%s'" % k)


def expected_shapes(cfg):
    """name -> shape, as transformers' GPT2LMHeadModel / LlamaForCausalLM (tied) hold them."""
    t = cfg["model_type"]
    s = {}
    if t == "gpt2":
        require(cfg, ["n_layer", "n_head", "n_embd", "n_positions", "vocab_size", "layer_norm_epsilon",
                      "activation_function"])
        if cfg["activation_function"] != "gelu_new":
            raise Problem("activation_function is %r; the reference implements gelu_new" % cfg["activation_function"])
        if cfg.get("architectures") != ["GPT2LMHeadModel"]:
            raise Problem("architectures is %r" % cfg.get("architectures"))
        D, V, P = cfg["n_embd"], cfg["vocab_size"], cfg["n_positions"]
        F = cfg.get("n_inner") or 4 * D
        if D % cfg["n_head"]:
            raise Problem("n_head does not divide n_embd")
        s["wte.weight"] = [V, D]
        s["wpe.weight"] = [P, D]
        for i in range(cfg["n_layer"]):
            p = "h.%d." % i
            s.update({p + "ln_1.weight": [D], p + "ln_1.bias": [D],
                      p + "attn.c_attn.weight": [D, 3 * D], p + "attn.c_attn.bias": [3 * D],
                      p + "attn.c_proj.weight": [D, D], p + "attn.c_proj.bias": [D],
                      p + "ln_2.weight": [D], p + "ln_2.bias": [D],
                      p + "mlp.c_fc.weight": [D, F], p + "mlp.c_fc.bias": [F],
                      p + "mlp.c_proj.weight": [F, D], p + "mlp.c_proj.bias": [D]})
        s["ln_f.weight"] = [D]
        s["ln_f.bias"] = [D]
        if cfg.get("tie_word_embeddings", True) is False:
            s["lm_head.weight"] = [V, D]
    elif t == "llama":
        require(cfg, ["num_hidden_layers", "num_attention_heads", "hidden_size", "intermediate_size",
                      "max_position_embeddings", "vocab_size", "rms_norm_eps", "hidden_act"])
        if cfg["hidden_act"] != "silu":
            raise Problem("hidden_act is %r; the reference implements silu" % cfg["hidden_act"])
        if cfg.get("architectures") != ["LlamaForCausalLM"]:
            raise Problem("architectures is %r" % cfg.get("architectures"))
        if cfg.get("rope_scaling"):
            raise Problem("unexpected rope_scaling %r" % cfg["rope_scaling"])
        D, V, F = cfg["hidden_size"], cfg["vocab_size"], cfg["intermediate_size"]
        H = cfg["num_attention_heads"]
        KV = cfg.get("num_key_value_heads") or H
        hd = cfg.get("head_dim") or D // H
        s["model.embed_tokens.weight"] = [V, D]
        for i in range(cfg["num_hidden_layers"]):
            p = "model.layers.%d." % i
            s.update({p + "input_layernorm.weight": [D], p + "post_attention_layernorm.weight": [D],
                      p + "self_attn.q_proj.weight": [H * hd, D], p + "self_attn.k_proj.weight": [KV * hd, D],
                      p + "self_attn.v_proj.weight": [KV * hd, D], p + "self_attn.o_proj.weight": [D, H * hd],
                      p + "mlp.gate_proj.weight": [F, D], p + "mlp.up_proj.weight": [F, D],
                      p + "mlp.down_proj.weight": [D, F]})
            if cfg.get("attention_bias"):
                s.update({p + "self_attn.q_proj.bias": [H * hd], p + "self_attn.k_proj.bias": [KV * hd],
                          p + "self_attn.v_proj.bias": [KV * hd], p + "self_attn.o_proj.bias": [D]})
            if cfg.get("mlp_bias"):
                s.update({p + "mlp.gate_proj.bias": [F], p + "mlp.up_proj.bias": [F], p + "mlp.down_proj.bias": [D]})
        s["model.norm.weight"] = [D]
        if not cfg.get("tie_word_embeddings", False):
            s["lm_head.weight"] = [V, D]
    else:
        raise Problem("model_type %r" % t)
    if cfg.get("torch_dtype") not in (None, "float32"):
        raise Problem("torch_dtype %r" % cfg.get("torch_dtype"))
    return s


def word_level_ids(tokenizer_path, text):
    with open(tokenizer_path, encoding="utf-8") as f:
        tok = json.load(f)
    model = tok.get("model") or {}
    if model.get("type") != "WordLevel":
        raise Problem("tokenizer.json model type %r, expected WordLevel" % model.get("type"))
    if (tok.get("pre_tokenizer") or {}).get("type") != "WhitespaceSplit":
        raise Problem("tokenizer.json pre_tokenizer %r" % tok.get("pre_tokenizer"))
    if tok.get("post_processor") is not None or tok.get("normalizer") is not None:
        raise Problem("tokenizer.json has a normalizer or post-processor")
    vocab = model["vocab"]
    unk = vocab[model["unk_token"]]
    if sorted(vocab.values()) != list(range(len(vocab))):
        raise Problem("tokenizer.json vocabulary ids are not 0..%d" % (len(vocab) - 1))
    words = text.split()  # Python's split(): Unicode whitespace, as WhitespaceSplit
    ids = [vocab.get(w, unk) for w in words]
    return np.asarray(ids, dtype=np.int64), len(vocab), unk


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--corpus", required=True)
    p.add_argument("--seq-len", type=int, required=True)
    p.add_argument("--val-fraction", type=float, required=True)
    p.add_argument("--samples", type=int, default=0)
    p.add_argument("--ids", action="append", default=[])
    p.add_argument("--out", required=True)
    a = p.parse_args()
    torch.set_num_threads(1)
    outdir = os.path.dirname(os.path.abspath(a.out))

    with open(os.path.join(a.model, "config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    shapes = expected_shapes(cfg)
    w = read_safetensors(os.path.join(a.model, "model.safetensors"))
    missing = sorted(set(shapes) - set(w))
    extra = sorted(set(w) - set(shapes))
    if missing or extra:
        raise Problem("tensor names: missing %s, unexpected %s" % (missing, extra))
    for name, shape in shapes.items():
        if list(w[name].shape) != shape:
            raise Problem("tensor %s has shape %s, a HF model holds %s" % (name, list(w[name].shape), shape))
    arch = cfg["model_type"]
    context = cfg["n_positions"] if arch == "gpt2" else cfg["max_position_embeddings"]
    V = cfg["vocab_size"]

    with open(a.corpus, encoding="utf-8") as f:
        text = f.read()
    ids, tok_vocab, unk = word_level_ids(os.path.join(a.model, "tokenizer.json"), text)
    if tok_vocab != V:
        raise Problem("tokenizer.json has %d entries, config.json vocab_size %d" % (tok_vocab, V))
    np.save(os.path.join(outdir, "stream_ids.npy"), ids.astype(np.int32))

    # The trainer's split (trainer.h: the last validationFraction of the samples).
    S = a.seq_len
    window = S + 1
    samples = len(ids) // window
    if a.samples > 0:
        samples = min(samples, a.samples)
    val = max(1, int(math.floor(samples * a.val_fraction + 0.5)))  # llround: half away from zero
    train = samples - val
    if S > context:
        raise Problem("seq_len %d exceeds the saved context %d" % (S, context))
    t_ids = torch.from_numpy(ids)
    losses = []
    for k in range(train, samples):
        win = t_ids[k * window:(k + 1) * window]
        logits = make_model.forward(arch, w, cfg, win[:S])
        logp = torch.log_softmax(logits, dim=-1)  # (S, V): position t predicts win[t + 1]
        losses.append(float(-logp.gather(1, win[1:, None]).mean()))
    val_loss = float(np.mean(losses))

    def logits_for(path):
        seq = torch.from_numpy(np.load(path).astype(np.int64))
        out = make_model.forward(arch, w, cfg, seq)
        np.save(path[:-4] + ".logits.npy", out.numpy().astype(np.float64))
        return float(out.abs().max())

    val0 = os.path.join(outdir, "val0_ids.npy")
    np.save(val0, ids[train * window:train * window + S].astype(np.int32))
    max_abs = {"val0_ids.npy": logits_for(val0)}
    for path in a.ids:
        max_abs[os.path.basename(path)] = logits_for(path)

    result = {
        "model_type": arch, "vocab_size": V, "context": context, "tensors": len(w),
        "parameters": int(sum(t.numel() for n, t in w.items())),
        "words": len(ids), "unknown_words": int((ids == unk).sum()),
        "samples": samples, "train_samples": train, "validation_samples": val,
        "val_loss": val_loss, "val_window_losses": losses, "max_abs_logit": max_abs,
    }
    with open(a.out, "w") as f:
        json.dump(result, f, indent=1)
    print(json.dumps({k: result[k] for k in ("words", "samples", "validation_samples", "val_loss")}))


if __name__ == "__main__":
    try:
        main()
    except Problem as e:
        print("reference_forward.py: " + str(e), file=sys.stderr)
        sys.exit(1)
