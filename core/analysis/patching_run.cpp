// Activation patching (patching.h): per pair, the clean and the corrupted run with their
// activations cached, then every patch as a batch of sequences rerun from where it acts.
// Shapes: T positions, D hidden, H heads, hd head dim, L blocks, V vocabulary, B patched rows.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "analysis/layer_run.h"
#include "analysis/patching.h"
#include "common/error.h"
#include "model/transformer_internal.h"

namespace ls {

namespace {

// A problem with a pair, naming its file and line.
Error pairError(const PromptPair& pair, const std::string& problem) {
    const std::string where = "line " + std::to_string(pair.line) + ": " + problem;
    return pair.file.empty() ? Error(where) : Error(pair.file, where);
}

// One prompt's run, batch 1, with what patching reads from it.
struct CachedRun {
    std::vector<torch::Tensor> residual;       // L + 1 x (1, T, D): h_0 .. h_L
    std::vector<torch::Tensor> postAttention;  // L x (1, T, D): a_l = h_{l-1} + attention_l
    std::vector<torch::Tensor> headOutputs;    // L x (1, T, H, hd), before W_O
    double metric = 0;                         // z_answer - z_wrong at the last position
};

// Only the last position's logits: the metric's.
ForwardOptions lastPositionLogits(int64_t T) {
    ForwardOptions o;
    o.logitsFrom = T - 1;
    return o;
}

// Logit differences of a batch's last position: logits (B, 1, V) -> (B) float64.
torch::Tensor logitDifferences(const torch::Tensor& logits, int32_t answer, int32_t wrong) {
    const torch::Tensor last = logits.select(1, 0);  // (B, V)
    return (last.select(1, answer) - last.select(1, wrong)).to(torch::kFloat64);
}

CachedRun runAndCache(const Model::Impl& m, const std::vector<int32_t>& prompt, int32_t answer, int32_t wrong) {
    const int L = m.config.numLayers;
    const int64_t T = static_cast<int64_t>(prompt.size());
    CachedRun run;
    run.residual.resize(static_cast<size_t>(L + 1));
    run.postAttention.resize(static_cast<size_t>(L));
    run.headOutputs.resize(static_cast<size_t>(L));
    ForwardOptions o = lastPositionLogits(T);
    o.observeResidual = [&](int i, const torch::Tensor& x) { run.residual[static_cast<size_t>(i)] = x; };
    o.observePostAttention = [&](int l, const torch::Tensor& a) { run.postAttention[static_cast<size_t>(l - 1)] = a; };
    o.editHeadOutputs = [&](int l, torch::Tensor& heads) { run.headOutputs[static_cast<size_t>(l)] = heads; };
    const torch::Tensor ids = torch::tensor(std::vector<int64_t>(prompt.begin(), prompt.end()), torch::kInt64).unsqueeze(0);
    run.metric = logitDifferences(m.forward(ids, o), answer, wrong)[0].item<double>();
    return run;
}

// The logit differences (count) float64 of `count` patched rows, made by rows(from, n) -> (n, T, D)
// and run through rest, in batches of at most ~8K tokens (so a batch's inputs stay small).
torch::Tensor differencesOf(int64_t count, int64_t T, const PromptPair& pair, Progress& progress,
                            const std::function<torch::Tensor(int64_t from, int64_t n)>& rows,
                            const std::function<torch::Tensor(const torch::Tensor&)>& rest) {
    const int64_t batch = std::max<int64_t>(1, 8192 / T);
    std::vector<torch::Tensor> out;
    for (int64_t from = 0; from < count; from += batch) {
        if (progress.isCanceled()) throw Canceled();
        out.push_back(logitDifferences(rest(rows(from, std::min(batch, count - from))), pair.answer, pair.wrong));
    }
    return torch::cat(out);
}
// The same for rows already made (B, T, D).
torch::Tensor differencesOf(const torch::Tensor& inputs, int64_t T, const PromptPair& pair, Progress& progress,
                            const std::function<torch::Tensor(const torch::Tensor&)>& rest) {
    return differencesOf(inputs.size(0), T, pair, progress, [&](int64_t from, int64_t n) { return inputs.narrow(0, from, n); }, rest);
}

// What one pair adds, per direction, to the result's sums: normalised values in the layouts
// of PatchResult.
struct PairValues {
    std::vector<double> resid[2], heads[2], headsByPosition[2], mlp[2];
};

std::vector<double> toVector(const torch::Tensor& t) {
    const torch::Tensor c = t.to(torch::kFloat64).contiguous();
    return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

PairValues patchPair(const Model::Impl& m, const PromptPair& pair, const CachedRun& clean, const CachedRun& corrupted,
                     const PatchParams& sites, Progress& progress, const std::function<void()>& step) {
    const ModelConfig& c = m.config;
    const int L = c.numLayers;
    const int64_t H = c.numHeads, hd = c.headDim, T = static_cast<int64_t>(pair.clean.size());
    const double denominator = clean.metric - corrupted.metric;
    const auto normalised = [&](const torch::Tensor& differences) { return (differences - corrupted.metric) / denominator; };
    const ForwardOptions last = lastPositionLogits(T);
    const torch::Tensor diagonal = torch::eye(T, torch::kBool);  // (T, T): row p patches position p
    PairValues v;
    for (const int direction : {kDenoise, kNoise}) {
        const CachedRun& target = direction == kDenoise ? corrupted : clean;
        const CachedRun& source = direction == kDenoise ? clean : corrupted;
        if (sites.resid) {
            // Row p: h_l of the target with position p the source's; blocks l+1.. rerun. (T, T, D) per layer.
            std::vector<torch::Tensor> layers;
            for (int l = 0; l <= L; ++l) {
                const torch::Tensor rows = torch::where(diagonal.unsqueeze(-1), source.residual[static_cast<size_t>(l)],
                                                        target.residual[static_cast<size_t>(l)]);  // (T, T, D)
                layers.push_back(normalised(differencesOf(rows, T, pair, progress, [&](const torch::Tensor& x) {
                    return m.forwardFrom(l, x, last);
                })));
                step();
            }
            v.resid[direction] = toVector(torch::stack(layers));  // (L + 1, T)
        }
        if (sites.heads) {
            // Head h of block l: a_l + (o_src - o_tgt)_h W_O[:, h], at every position (H rows) or at
            // one (H x T rows), rerun from the block's MLP.
            std::vector<torch::Tensor> all, byPosition;
            for (int l = 0; l < L; ++l) {
                const torch::Tensor wo = float32Matrix(m.weights.layers[static_cast<size_t>(l)].oWeight).view({-1, H, hd});  // (D, H, hd)
                const torch::Tensor change = source.headOutputs[static_cast<size_t>(l)][0] - target.headOutputs[static_cast<size_t>(l)][0];  // (T, H, hd)
                const torch::Tensor delta = torch::einsum("thk,dhk->htd", {change, wo});  // (H, T, D)
                const torch::Tensor& a = target.postAttention[static_cast<size_t>(l)];   // (1, T, D)
                const auto fromMlp = [&](const torch::Tensor& x) { return m.forwardFromMlp(l, x, last); };
                all.push_back(normalised(differencesOf(a + delta, T, pair, progress, fromMlp)));
                // Row h * T + p changes position p only: (n, T, D) made batch by batch.
                const torch::Tensor onePosition = diagonal.unsqueeze(-1);  // (T, T, 1)
                const auto rows = [&](int64_t from, int64_t n) {
                    const torch::Tensor index = torch::arange(from, from + n, torch::kInt64);
                    return a + delta.index_select(0, index.div(T, "floor")) * onePosition.index_select(0, index.remainder(T));
                };
                byPosition.push_back(normalised(differencesOf(H * T, T, pair, progress, rows, fromMlp)).view({H, T}));
                step();
            }
            v.heads[direction] = toVector(torch::stack(all));              // (L, H)
            v.headsByPosition[direction] = toVector(torch::stack(byPosition));  // (L, H, T)
        }
        if (sites.mlp) {
            // Block l's output with the source's MLP output: a_l(target) + (h_l - a_l)(source).
            std::vector<torch::Tensor> layers;
            for (int l = 0; l < L; ++l) {
                const size_t i = static_cast<size_t>(l);
                const torch::Tensor x = target.postAttention[i] + (source.residual[i + 1] - source.postAttention[i]);
                layers.push_back(normalised(differencesOf(x, T, pair, progress, [&](const torch::Tensor& rows) {
                    return m.forwardFrom(l + 1, rows, last);
                })));
                step();
            }
            v.mlp[direction] = toVector(torch::cat(layers));  // (L)
        }
    }
    return v;
}

void addTo(std::vector<double>& sum, const std::vector<double>& values) {
    if (sum.empty()) sum.assign(values.size(), 0.0);
    for (size_t i = 0; i < values.size(); ++i) sum[i] += values[i];
}

}  // namespace

PatchResult runPatching(const Model& model, const Tokenizer* tokenizer, const std::vector<PromptPair>& pairs,
                        const PatchParams& params, Progress& progress) {
    const auto start = std::chrono::steady_clock::now();
    const Model::Impl& m = model.impl();
    const ModelConfig& c = model.config();
    if (pairs.empty()) throw Error("no prompt pair to patch");
    if (!params.resid && !params.heads && !params.mlp) throw ParamError("what", "choose at least one of resid, heads, mlp");
    const int64_t T = static_cast<int64_t>(pairs.front().clean.size());
    for (const PromptPair& p : pairs) {
        if (p.clean.size() != p.corrupted.size() || static_cast<int64_t>(p.clean.size()) != T)
            throw pairError(p, "every prompt must have the same number of tokens (" + std::to_string(T) + ")");
        if (T > c.maxPositions)
            throw pairError(p, "the prompts have " + std::to_string(T) + " tokens, more than the model's context of " +
                                   std::to_string(c.maxPositions));
        checkTokenIds(c, p.clean.data(), T);
        checkTokenIds(c, p.corrupted.data(), T);
        checkTokenIds(c, &p.answer, 1);
        checkTokenIds(c, &p.wrong, 1);
    }

    PatchResult r;
    r.numLayers = c.numLayers;
    r.numHeads = c.numHeads;
    r.tokens = static_cast<int>(T);
    r.sites = params;
    r.cleanIds = pairs.front().clean;
    r.corruptedIds = pairs.front().corrupted;
    for (const int32_t id : r.cleanIds) r.cleanTokens.push_back(tokenLabel(tokenizer, id));
    for (const int32_t id : r.corruptedIds) r.corruptedTokens.push_back(tokenLabel(tokenizer, id));
    // Progress in steps: per pair and direction, a step per layer of each site.
    const int stepsPerPair = 2 * ((params.resid ? c.numLayers + 1 : 0) + (params.heads ? c.numLayers : 0) + (params.mlp ? c.numLayers : 0));
    int64_t steps = 0;
    const auto step = [&] { progress.setFraction(static_cast<double>(++steps) / (static_cast<double>(stepsPerPair) * pairs.size())); };
    PairValues sums;
    torch::InferenceMode inference;
    try {
        for (size_t i = 0; i < pairs.size(); ++i) {
            const PromptPair& pair = pairs[i];
            progress.setStage("Patching pair " + std::to_string(i + 1) + " of " + std::to_string(pairs.size()));
            const CachedRun clean = runAndCache(m, pair.clean, pair.answer, pair.wrong);
            const CachedRun corrupted = runAndCache(m, pair.corrupted, pair.answer, pair.wrong);
            if (!(std::abs(clean.metric - corrupted.metric) > 1e-6 * std::max(1.0, std::abs(clean.metric))))
                throw pairError(pair, "the clean and the corrupted prompt give the same logit difference (" +
                                          std::to_string(clean.metric) + "), so the normalised metric is undefined: choose "
                                          "answer and wrong tokens the corruption changes");
            const PairValues v = patchPair(m, pair, clean, corrupted, params, progress, step);
            for (const int d : {kDenoise, kNoise}) {  // the pair is complete: add it
                addTo(sums.resid[d], v.resid[d]);
                addTo(sums.heads[d], v.heads[d]);
                addTo(sums.headsByPosition[d], v.headsByPosition[d]);
                addTo(sums.mlp[d], v.mlp[d]);
            }
            r.pairs.push_back({clean.metric, corrupted.metric});
        }
    } catch (const Canceled&) {
        if (r.pairs.empty()) throw;
        r.complete = false;
    }
    const double n = static_cast<double>(r.pairs.size());
    for (const int d : {kDenoise, kNoise}) {
        for (auto [to, from] : {std::pair{&r.resid[d], &sums.resid[d]}, std::pair{&r.heads[d], &sums.heads[d]},
                                std::pair{&r.headsByPosition[d], &sums.headsByPosition[d]}, std::pair{&r.mlp[d], &sums.mlp[d]}}) {
            *to = *from;
            for (double& x : *to) x /= n;
        }
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

LayerRun patchRun(const Model& model, RunInfo info, const PatchParams& params, PatchResult result) {
    LayerRunParams p;
    p.analyses = {"patch"};
    p.patch = params;
    LayerRun run = ownCommandRun(model, std::move(info), std::move(p), result.complete);
    run.setResult("patch", std::move(result));
    return run;
}

}  // namespace ls
