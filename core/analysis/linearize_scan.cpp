// ReLU linearisation: individual damage, the cumulative curve and the context sweep.
// Shapes: B windows, T tokens, H query heads, L blocks.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <set>

#include "analysis/linearize.h"
#include "analysis/window_batches_internal.h"
#include "analysis/layer_run.h"
#include "analysis/runners_internal.h"
#include "common/error.h"
#include "model/transformer_internal.h"

namespace ls {

namespace {

using HeadSet = std::map<int, std::vector<int64_t>>;  // 0-based layer -> its linearised heads

// PPL of the windows with each head set linearised. When sets[0] is empty (the baseline), its
// pass caches the residual stream entering every block, and a set whose first linearised
// layer is l reruns only blocks l..L from that cache (prefix caching). Reports 0..1 of its
// windows (inside the caller's ProgressPart).
std::vector<double> evaluateSets(const Model::Impl& m, const std::vector<Window>& windows, const Dataset& data,
                                 const std::vector<HeadSet>& sets, ReluNormalize normalize, Progress& progress,
                                 int64_t* tokensOut = nullptr) {
    std::vector<double> sums(sets.size(), 0);
    int64_t tokens = 0, total = 0;
    for (const Window& w : windows) total += w.scoredCount();
    const int L = m.config.numLayers;
    forEachWindowBatch(windows, data.tokens, progress, [&](const WindowBatch& batch) {
        std::vector<torch::Tensor> blockInputs;  // L x (B, T, D), from the baseline
        for (size_t i = 0; i < sets.size(); ++i) {
            if (progress.isCanceled()) throw Canceled();
            const ReluHeads relu{sets[i], normalize == ReluNormalize::RowSum};
            ForwardOptions o = scoredLogits(batch);
            o.reluHeads = &relu;
            const int first = sets[i].empty() ? L : sets[i].begin()->first;
            if (i == 0 && sets[i].empty()) {
                o.observeResidual = [&](int index, const torch::Tensor& x) {
                    if (index < L) blockInputs.push_back(x);
                };
                sums[i] += lossSum(m.forward(batch.ids, o), batch);
            } else if (first < static_cast<int>(blockInputs.size())) {
                sums[i] += lossSum(m.forwardFrom(first, blockInputs[static_cast<size_t>(first)], o), batch);
            } else {
                sums[i] += lossSum(m.forward(batch.ids, o), batch);
            }
        }
        tokens += batch.size * batch.scoredPerWindow();
        progress.setFraction(static_cast<double>(tokens) / static_cast<double>(total));
    });
    for (double& s : sums) s = std::exp(s / static_cast<double>(tokens));
    if (tokensOut) *tokensOut = tokens;
    return sums;
}

}  // namespace

LinearizeResult runLinearization(const Model& model, const Dataset& data, const LinearizeParams& params,
                                 Progress& progress) {
    const auto start = std::chrono::steady_clock::now();
    const Model::Impl& m = model.impl();
    const ModelConfig& c = model.config();
    const int L = c.numLayers, H = c.numHeads;
    checkLinearizeParams(params, c);
    const std::set<int> protectedLayers(params.protectLayers.begin(), params.protectLayers.end());
    std::vector<HeadId> chosen = params.heads;
    if (chosen.empty())
        for (int l = 1; l <= L; ++l)
            for (int h = 0; h < H; ++h) chosen.push_back({l, h});
    std::sort(chosen.begin(), chosen.end());
    chosen.erase(std::unique(chosen.begin(), chosen.end()), chosen.end());
    const std::vector<Window> windows = prepareWindows(c, data, params.windows);
    torch::InferenceMode inference;

    // 1. Every unprotected head alone (plus the baseline as set 0).
    progress.setStage("Linearising each head alone");
    std::vector<HeadSet> sets{{}};
    std::vector<std::pair<int, int>> candidates;
    for (const HeadId& id : chosen) {
        if (protectedLayers.count(id.layer)) continue;
        candidates.push_back({id.layer - 1, id.head});
        sets.push_back(HeadSet{{id.layer - 1, {id.head}}});
    }
    LinearizeResult r;
    r.normalize = reluNormalizeName(params.normalize);
    // Shares of the whole scan: the heads alone half, the curve the rest (less the context sweep's fifth).
    const double curveEnd = params.contextSweep ? 0.8 : 1.0;
    std::vector<double> single;
    {
        ProgressPart part(progress, 0.0, 0.5);
        single = evaluateSets(m, windows, data, sets, params.normalize, progress, &r.tokens);
    }
    r.basePpl = single[0];
    std::vector<size_t> order(candidates.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return single[a + 1] < single[b + 1]; });
    r.heads.resize(candidates.size());
    for (size_t i = 0; i < candidates.size(); ++i)
        r.heads[i] = {candidates[i].first + 1, candidates[i].second, single[i + 1], single[i + 1] / r.basePpl, 0};
    for (size_t rank = 0; rank < order.size(); ++rank) r.heads[order[rank]].order = static_cast<int>(rank + 1);
    auto firstN = [&](int n) {
        HeadSet set;
        for (int i = 0; i < n; ++i)
            set[candidates[order[static_cast<size_t>(i)]].first].push_back(candidates[order[static_cast<size_t>(i)]].second);
        return set;
    };

    // 2. The cumulative curve.
    progress.setStage("Cumulative linearisation");
    const int M = static_cast<int>(candidates.size());
    std::vector<int> ns;
    for (int n = params.steps; n < M; n += params.steps) ns.push_back(n);
    ns.push_back(M);
    std::vector<HeadSet> cumulative;
    for (int n : ns) cumulative.push_back(firstN(n));
    const double coarseEnd = 0.5 + 0.7 * (curveEnd - 0.5);
    std::vector<double> curve;
    {
        ProgressPart part(progress, 0.5, coarseEnd);
        curve = evaluateSets(m, windows, data, cumulative, params.normalize, progress);
    }
    r.curve.push_back({0, r.basePpl, 1.0});
    for (size_t i = 0; i < ns.size(); ++i) r.curve.push_back({ns[i], curve[i], curve[i] / r.basePpl});
    // The largest N on the curve with ratio <= limit (N = 0 always qualifies).
    auto thresholdOf = [&](double limit) {
        LinearizeThreshold t{limit, 0, r.basePpl, 1.0};
        for (const CurvePoint& p : r.curve)
            if (p.ratio <= limit && p.nHeads >= t.nHeads) t = {limit, p.nHeads, p.ppl, p.ratio};
        return t;
    };
    // Each limit exactly, not to the step: every N between its point and the next on the
    // coarse curve, evaluated together (limits in one interval share the points).
    std::set<int> refine;
    for (double limit : kLinearizeLimits) {
        const int lo = thresholdOf(limit).nHeads;
        const auto next = std::find_if(r.curve.begin(), r.curve.end(), [&](const CurvePoint& p) { return p.nHeads > lo; });
        if (next != r.curve.end())
            for (int n = lo + 1; n < next->nHeads; ++n) refine.insert(n);
    }
    if (!refine.empty()) {
        progress.setStage("Refining the limits");
        std::vector<HeadSet> refined;
        for (int n : refine) refined.push_back(firstN(n));
        ProgressPart part(progress, coarseEnd, curveEnd);
        const std::vector<double> ppl = evaluateSets(m, windows, data, refined, params.normalize, progress);
        size_t i = 0;
        for (int n : refine) r.curve.push_back({n, ppl[i], ppl[i] / r.basePpl}), ++i;
        std::sort(r.curve.begin(), r.curve.end(), [](const CurvePoint& a, const CurvePoint& b) { return a.nHeads < b.nHeads; });
    }
    for (double limit : kLinearizeLimits) r.thresholds.push_back(thresholdOf(limit));

    // 3. Context lengths: baseline and the first n heads at each seq_len.
    std::vector<int> contextHeads = params.contextHeads;
    if (contextHeads.empty()) contextHeads = {r.thresholds[0].nHeads, r.thresholds[1].nHeads};
    // No head fits within 1.5x: the first point of the curve instead, so the sweep still shows
    // how linearisation interacts with context.
    if (std::all_of(contextHeads.begin(), contextHeads.end(), [](int n) { return n <= 0; }) && r.curve.size() > 1)
        contextHeads = {r.curve[1].nHeads};
    contextHeads.erase(std::remove_if(contextHeads.begin(), contextHeads.end(), [&](int n) { return n <= 0 || n > M; }),
                       contextHeads.end());
    std::sort(contextHeads.begin(), contextHeads.end());
    contextHeads.erase(std::unique(contextHeads.begin(), contextHeads.end()), contextHeads.end());
    progress.setStage("Context lengths");
    // Aligned: the windows of the longest length, each cut to every shorter length.
    std::vector<Window> longest;
    if (params.contextSweep && params.contextAligned && !params.contextLengths.empty()) {
        WindowParams wp = params.windows;
        wp.seqLen = *std::max_element(params.contextLengths.begin(), params.contextLengths.end());
        wp.stride = 0;
        longest = prepareWindows(c, data, wp);
    }
    for (size_t k = 0; params.contextSweep && k < params.contextLengths.size(); ++k) {
        WindowParams wp = params.windows;
        wp.seqLen = params.contextLengths[k];
        wp.stride = 0;
        std::vector<Window> cw;
        if (params.contextAligned) {
            for (const Window& w : longest)
                if (const int length = std::min(w.length, wp.seqLen); length >= 2) cw.push_back({w.begin, length, 1});
        } else {
            cw = prepareWindows(c, data, wp);
        }
        std::vector<HeadSet> contextSets{{}};
        for (int n : contextHeads) contextSets.push_back(firstN(n));
        int64_t tokens = 0;
        const double share = (1.0 - curveEnd) / static_cast<double>(params.contextLengths.size());
        ProgressPart part(progress, curveEnd + share * static_cast<double>(k), curveEnd + share * static_cast<double>(k + 1));
        const std::vector<double> ppl = evaluateSets(m, cw, data, contextSets, params.normalize, progress, &tokens);
        const auto count = static_cast<int64_t>(cw.size());
        r.context.push_back({wp.seqLen, 0, tokens, ppl[0], 1.0, count, params.contextAligned});
        for (size_t i = 0; i < contextHeads.size(); ++i)
            r.context.push_back({wp.seqLen, contextHeads[i], tokens, ppl[i + 1], ppl[i + 1] / ppl[0], count,
                                 params.contextAligned});
    }
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

AnalysisRunner linearizeRunner() {
    AnalysisRunner runner;
    runner.name = "linearize";  // with the context sweep when "context" was asked for
    runner.runPass = [](const Model& model, const Dataset& data, LayerRun& run, Progress& progress,
                        const LayerRunCallbacks&) {
        LinearizeParams lp = run.params.linearize;
        lp.windows = run.params.windows;
        run.setResult("linearize", runLinearization(model, data, lp, progress));
    };
    // Each head alone, the cumulative curve's steps, and each context length's two forwards.
    runner.cost = [](const Model& model, const LayerRunParams& p) {
        const double heads = scannedHeadsCost(model, p) * 2.0;
        const double sweep = p.linearize.contextSweep ? 3.0 * static_cast<double>(p.linearize.contextLengths.size()) : 0.0;
        return 1.0 + 0.5 * heads + heads / std::max(1, p.linearize.steps) + sweep;
    };
    return runner;
}

}  // namespace ls
