"""Writes the binary and JSON seeds of the fuzz corpus (called by make_corpus.sh)."""
import json, struct, sys
from pathlib import Path

import numpy as np

out = Path(sys.argv[1])

def write(target, name, data):
    (out / target / name).write_bytes(data if isinstance(data, bytes) else data.encode())

# safetensors: header length (u64 LE), JSON header, data section.
def safetensors(tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw); offset += len(raw)
    if metadata: header["__metadata__"] = metadata
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)

f32 = np.arange(6, dtype=np.float32).tobytes()
write("safetensors", "f32.safetensors", safetensors([("wte.weight", "F32", [2, 3], f32)], {"format": "pt"}))
write("safetensors", "mixed.safetensors", safetensors([
    ("a", "F16", [4], np.ones(4, np.float16).tobytes()),
    ("b", "BF16", [2, 2], b"\x80\x3f" * 4),
    ("c", "I64", [1], struct.pack("<q", 7)),
    ("empty", "F32", [0, 3], b"")]))

# config.json of both families.
write("config", "gpt2.json", json.dumps({
    "model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": 77, "n_positions": 128,
    "n_embd": 64, "n_layer": 4, "n_head": 4, "n_inner": 256, "activation_function": "gelu_new",
    "layer_norm_epsilon": 1e-5, "tie_word_embeddings": True, "torch_dtype": "float32"}, indent=2))
write("config", "llama.json", json.dumps({
    "model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 49152, "hidden_size": 576,
    "intermediate_size": 1536, "num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3,
    "max_position_embeddings": 8192, "rms_norm_eps": 1e-5, "rope_theta": 100000, "hidden_act": "silu",
    "tie_word_embeddings": True, "torch_dtype": "bfloat16", "rope_scaling": None, "head_dim": 64}, indent=2))
write("config", "llama3_rope.json", json.dumps({
    "model_type": "llama", "vocab_size": 128256, "hidden_size": 2048, "intermediate_size": 8192,
    "num_hidden_layers": 16, "num_attention_heads": 32, "num_key_value_heads": 8,
    "max_position_embeddings": 131072, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
    "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0,
                     "original_max_position_embeddings": 8192, "rope_type": "llama3"},
    "tie_word_embeddings": True, "torch_dtype": "bfloat16"}))

# vocab.json + "\n@@@@\n" + merges.txt (GPT-2 layout, byte-level characters).
vocab = {c: i for i, c in enumerate("abcdehlortw")}
vocab.update({"\u0120": 11, "\u0120t": 12, "he": 13, "\u0120the": 14, "<|endoftext|>": 15})
write("vocab_merges", "small.txt", json.dumps(vocab) + "\n@@@@\n" + "#version: 0.2\n\u0120 t\nh e\n\u0120t he\n")

# Datasets: the first byte chooses the format (text: even = text, odd = WikiText).
write("dataset_text", "text", "\x00The cat sat on the mat.\n\nA second document, caf\u00e9 \U0001F600.\n")
write("dataset_text", "wikitext", "\x01 \n = Valkyria Chronicles = \n \n Senj\u014d no Valkyria 3 @-@ is a game .\n"
      " = = Gameplay = = \n \n The game 's battle system .\n \n = Tower Building = \n \n It rises 1 @,@ 000 ft .\n")
write("dataset_text", "bad_utf8", b"\x00ok text \xc3\x28 then \xed\xa0\x80 surrogate\n")
rec = [{"instruction": "Give three tips.", "input": "", "output": "Eat, sleep, move."},
       {"instruction": "Translate.", "input": "bonjour", "output": "hello"}]
write("dataset_alpaca", "list.json", "\x00" + json.dumps(rec, indent=1))
write("dataset_alpaca", "lines.jsonl", "\x01" + "\n".join(json.dumps(r) for r in rec) + "\n")

def npy(array):
    import io
    b = io.BytesIO(); np.save(b, array); return b.getvalue()
write("dataset_tokens", "int32.npy", b"\x00" + npy(np.array([1, 2, 3, 50256], np.int32)))
write("dataset_tokens", "int64.npy", b"\x00" + npy(np.array([5, 6, 7], np.int64)))
write("dataset_tokens", "uint16.npy", b"\x02" + npy(np.array([9, 8, 7], np.uint16)))
write("dataset_tokens", "tokens.bin", b"\x01" + np.array([1, 2, 3, 4], np.uint16).tobytes())
