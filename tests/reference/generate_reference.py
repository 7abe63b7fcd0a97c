#!/usr/bin/python3
"""Independent float64 reference for LayerScope's greedy text generation under head
interventions (baseline, zero ablation, mean ablation, ReLU attention), with and without a
KV cache.

Model loading (hand-written safetensors reader, config handling) and the evaluation windows
come from layer_analyses_reference.py; the float64 forward (GPT-2 and grouped-query Llama)
with a hook on each block's head outputs and the mean head outputs mu come from
ablation_reference.py (HookedModel, baseline_pass); the ReLU attention of chosen heads
comes from linearize_reference.py (LinearizedModel); all imported, not copied. The KV cache
(incremental attention over cached keys / values, softmax or ReLU) is written here. The
baseline logits of every prompt are checked against layer_analyses_reference's own forward
(max |diff| <= 1e-9, else the script stops). No LayerScope code is involved. Needs only
Debian's python3, python3-torch and python3-numpy.

Usage:
  generate_reference.py --model DIR --prompts PROMPTS.json --max-new-tokens N
      [--condition SPEC ...] [--normalize count|rowsum] [--cache on|off|both]
      [--data IDS.npy --seq-len S [--stride S2] [--max-tokens T]] --out RESULT.json

  defaults: --condition baseline (only), --normalize count, --cache both,
  --stride = --seq-len, --max-tokens 0 (the whole stream). --data / --seq-len are needed
  only by mean-ablate conditions.

Notation. L blocks, H query heads per block (0-based), KVH kv heads, hd the head size,
V the vocabulary. Head names are TransformerLens names with 0-based layers: "L0H3" = head 3
of the first block, "L2" = every head of the third block; HEADS = a comma-separated list
of them (at least one). Head outputs o[l,h,p] = the attention output of query head h at
position p of block l, i.e. that head's hd-wide slice (columns h*hd .. (h+1)*hd - 1) of
the concatenated attention output BEFORE the output projection (GPT-2 attn.c_proj, Llama
self_attn.o_proj). GQA: query head h uses kv head h // (H / KVH).

PROMPTS.json: a JSON list of prompts, each a non-empty list of token ids in 0..V-1.

Conditions (--condition, repeatable, processed and written in the given order):
  baseline            the unmodified model.
  ablate:HEADS        zero ablation: o[l,h,p] := 0 for the named heads at every position
                      (prompt and generated), everything else unchanged.
  mean-ablate:HEADS   o[l,h,p] := mu[l,h] at every position; mu[l,h] = mean of o[l,h,p]
                      over exactly the scored (predicting) positions of every evaluation
                      window of --data, unmodified model (ablation_reference.baseline_pass).
                      Windows: the stream of --data cut to --max-tokens, HF sliding-window
                      rule of layer_analyses_reference.make_windows with --seq-len, --stride;
                      each window run on its own, positions from 0.
  relu:HEADS          the named query heads use ReLU attention, all others softmax:
                      s_ij = q_i . k_j * scale (scale = the model's attention scale:
                      1/sqrt(hd) for Llama; GPT-2 honours scale_attn_weights and
                      scale_attn_by_inverse_layer_idx exactly as its softmax does),
                      r_ij = relu(s_ij) for j <= i, 0 for j > i (i, j absolute 0-based
                      positions), then
                        count  : w_ij = r_ij / (i + 1)                       (default)
                        rowsum : w_ij = r_ij / sum_j r_ij, a row with sum 0 stays 0
                      o_i = sum_j w_ij v_j.

Greedy generation (N = --max-new-tokens >= 1 new tokens, no EOS stopping): with the
sequence x = prompt + the new tokens so far, z(step) = the logits (V,) of the last position
of x under the condition's model; the next token = argmax z (lowest id on ties); steps
0 .. N-1. len(prompt) + N must not exceed the model's context (GPT-2 n_positions, else
n_ctx; Llama max_position_embeddings when given).
  --cache off : every step runs the full forward over x (positions from 0).
  --cache on  : a KV cache: the prompt is run once (prefill), then each new token runs one
                position per block at its absolute position (GPT-2: learned position
                embedding of that position; Llama: RoPE at that position), its query
                attending to the cached keys / values of every earlier position and its
                own; ReLU count normalisation divides by absolute position + 1. The
                interventions apply identically (every position, prefill and steps).
  --cache both: both (default); the script fails (exit 1) when the two paths' new ids
                differ or max |z_off - z_on| over all steps and the vocabulary > 1e-8.
                The written values are those of the off path.

Per prompt and condition:
  ids                 the N new token ids.
  step_logits_max     max z(step) per step (the chosen token's logit).
  gaps                z_(1) - z_(2) per step (largest minus second-largest logit, >= 0).
  min_gap             min over steps of gaps (how far greedy is from a tie: a float32
                      implementation can be expected to match token for token only when
                      this is clearly larger than its logit error).
  new_token_logprobs  log softmax(z(step))[chosen token] per step (this condition's model).
  ppl_self            exp(-mean of new_token_logprobs).
  base_logprobs       log softmax of the same new tokens under the BASELINE (unmodified)
                      model given prompt + the preceding new tokens (one full forward of
                      prompt + new[:-1]).
  ppl_base            exp(-mean of base_logprobs).

Output RESULT.json (floats as Python's json writes them = shortest round trip of the
float64; integers as integers):
  {"model": DIR, "max_new_tokens": N, "normalize": "count"|"rowsum", "cache": MODE,
   "crosscheck_max_abs_logit_diff": float,
   "conditions": [{"condition": SPEC, "kind": "baseline"|"ablate"|"mean-ablate"|"relu",
                   "heads": ["L0H3", ...] ((layer, head) order),
                   "max_abs_cache_logit_diff": float (null unless --cache both),
                   "prompts": [{"prompt": [...], "ids": [...], "min_gap": f, "gaps": [...],
                                "step_logits_max": [...], "new_token_logprobs": [...],
                                "ppl_self": f, "base_logprobs": [...], "ppl_base": f}]}]}

Errors (bad condition spec, head outside the model, a prompt + N longer than the context,
a token id outside the vocabulary, mean-ablate without --data / --seq-len, ...): exit 1 with
one line on stderr.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import layer_analyses_reference as lar  # noqa: E402
import ablation_reference as abl  # noqa: E402
import linearize_reference as lin  # noqa: E402
import reference_common as rc  # noqa: E402

F64 = torch.float64
CACHE_TOL = 1e-8
CROSSCHECK_TOL = 1e-9
KINDS = ("baseline", "ablate", "mean-ablate", "relu")


def fail(msg):
    """One line on stderr, exit 1."""
    raise SystemExit("generate_reference.py: " + str(msg).replace("\n", " "))


# ----------------------------------------------------------------------------------------
# The model: full forward (linearize_reference) plus a KV-cached forward written here
# ----------------------------------------------------------------------------------------
class GenModel(lin.LinearizedModel):
    """LinearizedModel (ReLU heads in self.relu, hook on head outputs) whose per-block head
    attention, while self.kv is not None, works incrementally: the block's new keys / values
    are appended to self.kv[layer0] and the new queries (absolute positions self.pos0 ..)
    attend to every cached position up to their own."""

    def __init__(self, arch, cfg, w, normalize="count"):
        super().__init__(arch, cfg, w, normalize)
        self.kv = None          # None: full forward; else list per block of (k, v) (H, P, hd)
        self.pos0 = 0
        self.V = self.W.shape[0]
        if arch == "gpt2":
            self.ctx = cfg.get("n_positions", cfg.get("n_ctx")) or self.w["wpe.weight"].shape[0]
            self.ctx = min(self.ctx, self.w["wpe.weight"].shape[0])
        else:
            self.ctx = cfg.get("max_position_embeddings")

    # ---- full forward ------------------------------------------------------------------
    def logits_full(self, ids, hook):
        """ids: (T,) long -> (T, V) logits; every position from 0, no cache."""
        assert self.kv is None
        hL = self.blocks(self.embed(ids), 0, hook)
        return self.final_norm(hL) @ self.W.T

    # ---- cached forward ----------------------------------------------------------------
    def reset_cache(self):
        self.kv = [None] * self.L
        self.pos0 = 0

    def drop_cache(self):
        self.kv = None
        self.pos0 = 0

    def step_cached(self, ids, hook):
        """ids: (T,) long, the tokens at absolute positions pos0 .. pos0+T-1 -> (T, V)
        logits; appends their keys / values to the cache and advances pos0."""
        T = ids.shape[0]
        P = self.pos0
        if self.arch == "gpt2":
            x = self.w["wte.weight"][ids] + self.w["wpe.weight"][P:P + T]
        else:
            x = self.w["model.embed_tokens.weight"][ids]
            ang = torch.outer(torch.arange(P, P + T, dtype=F64), self._rope_inv_freq(self.hd))
            rope = (torch.cat((ang, ang), -1).cos(), torch.cat((ang, ang), -1).sin())
        for i in range(self.L):
            if self.arch == "gpt2":
                x = self._block_gpt2(x, i, hook)
            else:
                x = self._block_llama(x, i, hook, rope)
        self.pos0 = P + T
        return self.final_norm(x) @ self.W.T

    def _heads(self, q, k, v, scale):
        """q, k, v: (H, T, hd) (kv already repeated to query heads) -> o (T, H, hd)."""
        if self.kv is None:
            return super()._heads(q, k, v, scale)
        i0 = self._layer
        P = self.pos0
        if self.kv[i0] is not None:
            k = torch.cat((self.kv[i0][0], k), 1)
            v = torch.cat((self.kv[i0][1], v), 1)
        self.kv[i0] = (k, v)
        T, S = q.shape[1], k.shape[1]                                    # S = P + T
        qpos = torch.arange(P, P + T)[:, None]                           # absolute query positions
        allowed = torch.arange(S)[None, :] <= qpos                       # (T, S)
        s = (q @ k.transpose(1, 2)) * scale                              # (H, T, S)
        a = torch.softmax(s.masked_fill(~allowed, float("-inf")), -1)
        heads = sorted(self.relu.get(i0, ()))
        if heads:
            a = a.clone()
            for h in heads:
                r = torch.relu(s[h]) * allowed.to(F64)
                if self.normalize == "count":
                    a[h] = r / (qpos.to(F64) + 1.0)
                else:
                    den = r.sum(-1, keepdim=True)
                    a[h] = torch.where(den > 0, r / torch.where(den > 0, den, torch.ones_like(den)),
                                       torch.zeros_like(r))
        return (a @ v).transpose(0, 1)                                   # (T, H, hd)


# ----------------------------------------------------------------------------------------
# Conditions
# ----------------------------------------------------------------------------------------
def parse_condition(spec, model):
    """'baseline' | 'ablate:HEADS' | 'mean-ablate:HEADS' | 'relu:HEADS' ->
    (kind, sorted [(layer 1-based, head)])."""
    if spec == "baseline":
        return "baseline", []
    kind, sep, heads = spec.partition(":")
    if not sep or kind not in KINDS or kind == "baseline":
        fail("bad condition %r (baseline, ablate:HEADS, mean-ablate:HEADS, relu:HEADS)" % spec)
    if not heads.strip():
        fail("condition %r names no heads" % spec)
    try:
        chosen = abl.parse_heads(heads, model.L, model.H)
    except SystemExit as e:
        fail("condition %r: %s (the model has %d layers of %d heads)" % (spec, e, model.L, model.H))
    return kind, sorted(chosen)


def make_hook(kind, heads, mu):
    """-> hook(layer0, o) for the head-output interventions (None for baseline / relu)."""
    if kind not in ("ablate", "mean-ablate"):
        return None
    by_layer = {}
    for layer, h in heads:
        by_layer.setdefault(layer - 1, []).append(h)

    def hook(i, o):
        hs = by_layer.get(i)
        if not hs:
            return o
        o = o.clone()
        for h in hs:
            o[:, h] = 0.0 if kind == "ablate" else mu[i, h]
        return o
    return hook


# ----------------------------------------------------------------------------------------
# Greedy generation
# ----------------------------------------------------------------------------------------
def greedy(z):
    """(V,) logits -> argmax, the lowest id on ties."""
    return int(np.argmax(z.numpy()))


def generate_full(model, prompt, n, hook):
    """-> (new ids, (n, V) step logits), every step a full forward."""
    seq = list(prompt)
    out, zs = [], []
    for _ in range(n):
        z = model.logits_full(torch.tensor(seq, dtype=torch.long), hook)[-1]
        t = greedy(z)
        out.append(t)
        zs.append(z)
        seq.append(t)
    return out, torch.stack(zs)


def generate_cached(model, prompt, n, hook):
    """-> (new ids, (n, V) step logits) with the KV cache."""
    model.reset_cache()
    try:
        z = model.step_cached(torch.tensor(prompt, dtype=torch.long), hook)[-1]
        out, zs = [], []
        for step in range(n):
            t = greedy(z)
            out.append(t)
            zs.append(z)
            if step + 1 < n:
                z = model.step_cached(torch.tensor([t], dtype=torch.long), hook)[-1]
    finally:
        model.drop_cache()
    return out, torch.stack(zs)


def step_stats(zs, ids):
    """zs: (n, V) step logits, ids: chosen tokens -> dict of per-step quantities."""
    top2 = torch.topk(zs, 2, dim=-1).values                              # (n, 2)
    gaps = (top2[:, 0] - top2[:, 1]).tolist()
    logp = torch.log_softmax(zs, -1)[torch.arange(len(ids)), torch.tensor(ids)].tolist()
    return {"ids": ids, "min_gap": min(gaps), "gaps": gaps,
            "step_logits_max": top2[:, 0].tolist(), "new_token_logprobs": logp,
            "ppl_self": math.exp(-sum(logp) / len(logp))}


def base_logprobs(model, prompt, new):
    """log softmax of the new tokens under the unmodified model, one full forward of
    prompt + new[:-1] (the linearised head set must be empty)."""
    seq = torch.tensor(list(prompt) + list(new[:-1]), dtype=torch.long)
    z = model.logits_full(seq, None)[len(prompt) - 1:]                   # (n, V)
    return torch.log_softmax(z, -1)[torch.arange(len(new)), torch.tensor(new)].tolist()


# ----------------------------------------------------------------------------------------
# Command line
# ----------------------------------------------------------------------------------------
class Parser(argparse.ArgumentParser):
    def error(self, message):
        fail(message)


def parse_args(argv=None):
    p = Parser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True)
    p.add_argument("--prompts", required=True, help="JSON list of lists of token ids")
    p.add_argument("--max-new-tokens", type=int, required=True)
    p.add_argument("--condition", action="append", default=None,
                   help="baseline | ablate:HEADS | mean-ablate:HEADS | relu:HEADS (repeatable)")
    p.add_argument("--normalize", choices=["count", "rowsum"], default="count")
    p.add_argument("--cache", choices=["on", "off", "both"], default="both")
    p.add_argument("--data", default=None, help="1-D .npy token ids for mean-ablate's mu")
    p.add_argument("--seq-len", type=int, default=0)
    p.add_argument("--stride", type=int, default=0, help="default: --seq-len")
    p.add_argument("--max-tokens", type=int, default=0, help="0: the whole stream")
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    if a.condition is None:
        a.condition = ["baseline"]
    if a.max_new_tokens < 1:
        fail("--max-new-tokens must be >= 1")
    if a.max_tokens < 0:
        fail("--max-tokens must be >= 0")
    return a


def load_prompts(path, model, n):
    try:
        with open(path, encoding="utf-8") as f:
            prompts = json.load(f)
    except (OSError, ValueError) as e:
        fail("cannot read prompts %s: %s" % (path, e))
    if not isinstance(prompts, list) or not prompts:
        fail("%s: expected a non-empty JSON list of prompts" % path)
    for k, pr in enumerate(prompts):
        if not isinstance(pr, list) or not pr:
            fail("prompt %d: expected a non-empty list of token ids" % k)
        for t in pr:
            if isinstance(t, bool) or not isinstance(t, int):
                fail("prompt %d: token %r is not an integer" % (k, t))
            if not 0 <= t < model.V:
                fail("prompt %d: token id %d outside the vocabulary 0..%d" % (k, t, model.V - 1))
        if model.ctx and len(pr) + n > model.ctx:
            fail("prompt %d: %d tokens + %d new tokens exceed the model's context %d"
                 % (k, len(pr), n, model.ctx))
    return prompts


def mean_head_outputs(model, a):
    """mu (L, H, hd) of the unmodified model over the windows of --data."""
    if not a.data or a.seq_len < 2:
        fail("mean-ablate needs --data IDS.npy and --seq-len >= 2")
    stride = a.stride or a.seq_len
    if not 1 <= stride <= a.seq_len:
        fail("--stride must be in 1..--seq-len")
    if model.ctx and a.seq_len > model.ctx:
        fail("--seq-len %d exceeds the model's context %d" % (a.seq_len, model.ctx))
    try:
        ids = rc.load_ids(a.data, a.max_tokens)
    except (OSError, ValueError) as e:
        fail("cannot read --data %s: %s" % (a.data, e))
    if ids.size and not (ids.min() >= 0 and ids.max() < model.V):
        fail("--data: token ids outside the vocabulary 0..%d" % (model.V - 1))
    windows = lar.make_windows(len(ids), a.seq_len, stride)
    if not windows:
        fail("--data: no window scores any token")
    model.set_linearized(())
    return abl.baseline_pass(model, ids, windows)["mu"]


def main():
    a = parse_args()
    torch.set_num_threads(1)
    try:
        model = GenModel(*lar.load_model(a.model), normalize=a.normalize)
    except SystemExit as e:
        fail("model %s: %s" % (a.model, e))
    except (OSError, ValueError, KeyError) as e:
        fail("cannot load model %s: %s" % (a.model, e))
    n = a.max_new_tokens
    prompts = load_prompts(a.prompts, model, n)
    conds = [(spec,) + parse_condition(spec, model) for spec in a.condition]
    mu = mean_head_outputs(model, a) if any(k == "mean-ablate" for _, k, _ in conds) else None

    # cross-check: baseline prompt logits vs layer_analyses_reference's own forward
    crossdiff = 0.0
    with torch.no_grad():
        for pr in prompts:
            ids = torch.tensor(pr, dtype=torch.long)
            h, _ = lar.Model.forward(model, ids)
            ref = model.final_norm(h[-1]) @ model.W.T
            crossdiff = max(crossdiff, float((model.logits_full(ids, None) - ref).abs().max()))
    if not crossdiff <= CROSSCHECK_TOL:
        fail("own forward disagrees with layer_analyses_reference: %g" % crossdiff)

    result = {"model": a.model, "max_new_tokens": n, "normalize": a.normalize, "cache": a.cache,
              "crosscheck_max_abs_logit_diff": crossdiff, "conditions": []}
    with torch.no_grad():
        for spec, kind, heads in conds:
            hook = make_hook(kind, heads, mu)
            cres = {"condition": spec, "kind": kind,
                    "heads": ["L%dH%d" % (l - 1, h) for l, h in heads],
                    "max_abs_cache_logit_diff": None, "prompts": []}
            worst = 0.0
            for k, pr in enumerate(prompts):
                model.set_linearized(heads if kind == "relu" else ())
                try:
                    full = generate_full(model, pr, n, hook) if a.cache in ("off", "both") else None
                    cached = generate_cached(model, pr, n, hook) if a.cache in ("on", "both") else None
                finally:
                    model.set_linearized(())
                if full is not None and cached is not None:
                    diff = float((full[1] - cached[1]).abs().max())
                    worst = max(worst, diff)
                    if full[0] != cached[0]:
                        fail("condition %r, prompt %d: cached ids %s != uncached ids %s"
                             % (spec, k, cached[0], full[0]))
                    if not diff <= CACHE_TOL:
                        fail("condition %r, prompt %d: cached and uncached step logits differ by %g"
                             % (spec, k, diff))
                new, zs = full if full is not None else cached
                row = {"prompt": list(pr)}
                row.update(step_stats(zs, new))
                bl = base_logprobs(model, pr, new)
                row["base_logprobs"] = bl
                row["ppl_base"] = math.exp(-sum(bl) / len(bl))
                cres["prompts"].append(row)
            if a.cache == "both":
                cres["max_abs_cache_logit_diff"] = worst
            result["conditions"].append(cres)

    text = json.dumps(result, allow_nan=False)
    try:
        with open(a.out, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    except OSError as e:
        fail("cannot write %s: %s" % (a.out, e))
    print(json.dumps({"conditions": len(result["conditions"]), "prompts": len(prompts),
                      "max_new_tokens": n, "crosscheck_max_abs_logit_diff": crossdiff,
                      "max_abs_cache_logit_diff": max([c["max_abs_cache_logit_diff"] or 0.0
                                                       for c in result["conditions"]])}))


if __name__ == "__main__":
    main()
