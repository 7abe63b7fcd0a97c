// The head-ablation scan: shapes B windows, T tokens, S scored per window, D hidden,
// H query heads, hd head dim, L blocks.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <optional>

#include "analysis/ablation.h"
#include "analysis/window_batches_internal.h"
#include "analysis/layer_run.h"
#include "analysis/runners_internal.h"
#include "common/error.h"
#include "model/transformer_internal.h"

namespace ls {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

torch::Tensor meanHeadOutputs(const Model::Impl& m, const std::vector<Window>& windows, const Dataset& data, Progress& progress) {
    const ModelConfig& c = m.config;
    int64_t totalScored = 0;
    for (const Window& w : windows) totalScored += w.scoredCount();
    progress.setStage("Mean head outputs");
    torch::Tensor headSums = torch::zeros({c.numLayers, c.numHeads, c.headDim}, torch::kFloat64);
    int64_t meanTokens = 0;
    forEachWindowBatch(windows, data.tokens, progress, [&](const WindowBatch& batch) {
        ForwardOptions o;
        o.computeLogits = false;
        o.editHeadOutputs = [&](int l, torch::Tensor& heads) {  // (B, T, H, hd)
            headSums[l] += heads.narrow(1, batch.firstScored - 1, batch.scoredPerWindow()).sum(std::vector<int64_t>{0, 1}).to(torch::kFloat64);
        };
        m.forward(batch.ids, o);
        meanTokens += batch.size * batch.scoredPerWindow();
        progress.setFraction(static_cast<double>(meanTokens) / static_cast<double>(totalScored));
    });
    return (headSums / static_cast<double>(totalScored)).to(torch::kFloat32);
}

std::vector<float> meanHeadOutputs(const Model& model, const Dataset& data, const WindowParams& params, Progress& progress) {
    torch::InferenceMode inference;
    const torch::Tensor means = meanHeadOutputs(model.impl(), prepareWindows(model.config(), data, params), data, progress);
    return std::vector<float>(means.data_ptr<float>(), means.data_ptr<float>() + means.numel());
}

AblationResult runAblationScan(const Model& model, const Dataset& data, const AblationParams& params,
                               Progress& progress) {
    const auto start = Clock::now();
    const Model::Impl& m = model.impl();
    const ModelConfig& c = model.config();
    const int L = c.numLayers, H = c.numHeads, hd = c.headDim;
    if (params.subsetTokens < 0) throw ParamError("subset-tokens", "must be at least 0");
    if (params.subsetWindows < 0) throw ParamError("subset-windows", "must be at least 0");
    std::vector<HeadId> scan = params.heads;
    if (scan.empty())
        for (int l = 1; l <= L; ++l)
            for (int h = 0; h < H; ++h) scan.push_back({l, h});
    checkHeads(scan, c);
    std::sort(scan.begin(), scan.end());  // results in (layer, head) order, each head once
    scan.erase(std::unique(scan.begin(), scan.end()), scan.end());
    std::vector<bool> layerScanned(static_cast<size_t>(L), false);
    for (const HeadId& id : scan) layerScanned[static_cast<size_t>(id.layer - 1)] = true;
    // A shard (run --shard) scans its range of the run's windows; the means and the subset are
    // the whole run's, so that its shards add up to the single-machine scan.
    const ShardWindows shard = prepareShardWindows(c, data, params.windows);
    const std::vector<Window>& windows = shard.mine;
    int64_t totalScored = 0;
    for (const Window& w : windows) totalScored += w.scoredCount();

    // 1. Mean output of every head over the scored positions: (L, H, hd).
    torch::InferenceMode inference;
    // Shares of the whole task: this pass costs about one forward, the scan about a baseline
    // plus half a forward per intervention (zero and mean share a batch).
    const double meanShare = 1.0 / (2.0 + 0.5 * static_cast<double>(scan.size()));
    std::optional<ProgressPart> meanPart(std::in_place, progress, 0.0, meanShare);
    const torch::Tensor headMeans = meanHeadOutputs(m, shard.all, data, progress);  // (L, H, hd) float32
    meanPart.reset();
    const ProgressPart scanPart(progress, meanShare, 1.0);

    // 2. Baseline and every intervention, window batch by window batch.
    const size_t count = scan.size();
    std::vector<double> zeroSum(count, 0), meanSum(count, 0), estZero(count, 0), estMean(count, 0);
    double baseSum = 0;
    int64_t tokens = 0, windowsDone = 0;
    AblationResult r;
    r.numLayers = L;
    r.numHeads = H;
    r.headMeans.assign(headMeans.data_ptr<float>(), headMeans.data_ptr<float>() + headMeans.numel());
    auto snapshot = [&](std::vector<HeadAblation>& out, double& basePpl) {
        out.clear();
        basePpl = std::exp(baseSum / static_cast<double>(tokens));
        for (size_t i = 0; i < count; ++i) {
            HeadAblation a;
            a.layer = scan[i].layer;
            a.head = scan[i].head;
            a.zeroPpl = std::exp(zeroSum[i] / static_cast<double>(tokens));
            a.meanPpl = std::exp(meanSum[i] / static_cast<double>(tokens));
            a.estZeroDloss = estZero[i] / static_cast<double>(tokens);
            a.estMeanDloss = estMean[i] / static_cast<double>(tokens);
            out.push_back(a);
        }
    };
    double baseSeconds = 0, attributionSeconds = 0;
    progress.setStage("Ablating " + std::to_string(count) + (count == 1 ? " head" : " heads") + " (zero and mean) on " +
                      std::to_string(windows.size()) + " windows");
    // The subset is the first subsetWindows windows, or else the smallest prefix of windows
    // holding subsetTokens scored tokens; batches never straddle its end, so its snapshot covers
    // exactly those windows.
    // (Indices into the run's windows; a shard takes its part of the subset.)
    const std::vector<Window>& all = shard.all;
    size_t subsetEnd = 0;
    if (params.subsetWindows > 0)
        subsetEnd = static_cast<size_t>(std::min<int64_t>(params.subsetWindows, static_cast<int64_t>(all.size())));
    else
        for (int64_t n = 0; subsetEnd < all.size() && n < params.subsetTokens; ++subsetEnd)
            n += all[subsetEnd].scoredCount();
    const size_t mineEnd = shard.first + windows.size();
    const size_t split = std::clamp(subsetEnd, shard.first, mineEnd);  // in the run's windows
    auto processBatch = [&](const WindowBatch& batch) {
        const int64_t scored = batch.size * batch.scoredPerWindow();
        const torch::Tensor targets = scoredTargets(batch);  // (B, S)
        // Baseline, caching in every scanned block l its heads' outputs o (B, T, H, hd) and the
        // post-attention residual a = h_{l-1} + attention (B, T, D).
        auto t0 = Clock::now();
        std::vector<torch::Tensor> headOutputs(static_cast<size_t>(L)), postAttention(static_cast<size_t>(L));
        ForwardOptions base = scoredLogits(batch);
        base.editHeadOutputs = [&](int l, torch::Tensor& out) {
            if (layerScanned[static_cast<size_t>(l)]) headOutputs[static_cast<size_t>(l)] = out;
        };
        base.observePostAttention = [&](int layer, const torch::Tensor& a) {
            if (layerScanned[static_cast<size_t>(layer - 1)]) postAttention[static_cast<size_t>(layer - 1)] = a;
        };
        const double baseBatch = lossSum(m.forward(batch.ids, base), batch);
        baseSeconds += since(t0);
        // Head h of block l replaced by r changes a by (r - o_h) W_o[:, h] (the output
        // projection is linear), so each intervention reruns only from that block's MLP, and
        // the zero and the mean intervention share one batch of 2B windows.
        std::vector<double> zeroBatch(count), meanBatch(count);
        const torch::Tensor pairedTargets = torch::cat({targets, targets}, 0);  // (2B, S)
        for (size_t i = 0; i < count; ++i) {
            if (progress.isCanceled()) throw Canceled();
            const int l = scan[i].layer - 1, h = scan[i].head;
            const torch::Tensor& a = postAttention[static_cast<size_t>(l)];
            const torch::Tensor o = headOutputs[static_cast<size_t>(l)].select(2, h);         // (B, T, hd)
            const torch::Tensor wo = float32Matrix(m.weights.layers[static_cast<size_t>(l)].oWeight.narrow(1, int64_t(h) * hd, hd));  // (D, hd)
            const torch::Tensor zeroed = a - at::linear(o, wo);
            const torch::Tensor meaned = a + at::linear(headMeans[l][h] - o, wo);
            const torch::Tensor logits = m.forwardFromMlp(l, torch::cat({zeroed, meaned}, 0), scoredLogits(batch));
            const torch::Tensor losses = tokenLosses(logits, pairedTargets).to(torch::kFloat64).sum(1);  // (2B)
            zeroBatch[i] = losses.narrow(0, 0, batch.size).sum().item<double>();
            meanBatch[i] = losses.narrow(0, batch.size, batch.size).sum().item<double>();
            progress.setFraction((static_cast<double>(tokens) + scored * (i + 1.0) / count) / totalScored);
        }
        // Attribution patching: one forward + backward with a zero "patch" added to every
        // head output, so its gradient is d(loss sum)/d(head output) along every path.
        std::vector<double> estZeroBatch(count, 0), estMeanBatch(count, 0);
        if (params.attribution) {
            t0 = Clock::now();
            c10::InferenceMode gradients(false);
            std::vector<torch::Tensor> patches, outputs;  // L x (B, T, H, hd)
            ForwardOptions o = scoredLogits(batch);
            o.editHeadOutputs = [&](int, torch::Tensor& out) {
                outputs.push_back(out.detach().clone());
                patches.push_back(torch::zeros_like(out).requires_grad_(true));
                out = out + patches.back();
            };
            const torch::Tensor logits = m.forward(batch.ids.clone(), o);
            tokenLosses(logits, targets.clone()).to(torch::kFloat64).sum().backward();
            std::vector<torch::Tensor> zero(static_cast<size_t>(L)), mean(static_cast<size_t>(L));  // L x (H)
            for (int l = 0; l < L; ++l) {
                if (!layerScanned[static_cast<size_t>(l)]) continue;
                const torch::Tensor g = patches[l].grad().to(torch::kFloat64);  // (B, T, H, hd)
                const torch::Tensor o64 = outputs[l].to(torch::kFloat64);
                // sum over b, t, d of (target - o) . g, per head
                zero[l] = (-o64 * g).sum(std::vector<int64_t>{0, 1, 3});
                mean[l] = ((headMeans[l].to(torch::kFloat64) - o64) * g).sum(std::vector<int64_t>{0, 1, 3});
            }
            for (size_t i = 0; i < count; ++i) {
                const size_t l = static_cast<size_t>(scan[i].layer - 1);
                estZeroBatch[i] = zero[l][scan[i].head].item<double>();
                estMeanBatch[i] = mean[l][scan[i].head].item<double>();
            }
            attributionSeconds += since(t0);
        }
        // The batch is complete: add it (a cancel above leaves the totals as they were).
        baseSum += baseBatch;
        for (size_t i = 0; i < count; ++i) {
            zeroSum[i] += zeroBatch[i];
            meanSum[i] += meanBatch[i];
            estZero[i] += estZeroBatch[i];
            estMean[i] += estMeanBatch[i];
        }
        tokens += scored;
        windowsDone += batch.size;
        progress.setFraction(static_cast<double>(tokens) / static_cast<double>(totalScored));
        if (params.onSnapshot) {
            AblationResult partial;
            partial.numLayers = L;
            partial.numHeads = H;
            partial.complete = false;
            partial.tokens = tokens;
            partial.windows = windowsDone;
            partial.baseLoss = baseSum / static_cast<double>(tokens);
            snapshot(partial.heads, partial.basePpl);
            partial.subsetHeads = partial.heads;  // the subset is not separate yet
            partial.subsetBasePpl = partial.basePpl;
            partial.hasAttribution = params.attribution;
            rankAblation(partial);
            params.onSnapshot(partial);
        }
    };
    // Windows [from, to) of the run in the run's own batches (windowBatchRanges of all its
    // windows), cut at from and to: a shard (whole batches of the run) computes exactly the
    // batches the single run does, so its sums are the same floats on any CPU (a BLAS kernel may
    // round a batch of another size differently).
    const std::vector<std::pair<size_t, size_t>> runBatches = windowBatchRanges(all);
    auto scanWindows = [&](size_t from, size_t to) {
        for (const auto& [i, j] : runBatches)
            if (std::max(i, from) < std::min(j, to))
                forEachWindowBatch(std::vector<Window>(all.begin() + static_cast<std::ptrdiff_t>(std::max(i, from)),
                                                       all.begin() + static_cast<std::ptrdiff_t>(std::min(j, to))),
                                   data.tokens, progress, processBatch);
    };
    try {
        scanWindows(shard.first, split);
        if (split > shard.first) snapshot(r.subsetHeads, r.subsetBasePpl);  // a shard past the subset has none
        r.subsetTokens = tokens;
        r.subsetWindows = windowsDone;
        scanWindows(split, mineEnd);
    } catch (const Canceled&) {
        if (tokens == 0) throw;
        r.complete = false;
    }
    r.tokens = tokens;
    r.windows = windowsDone;
    r.baseLoss = baseSum / static_cast<double>(tokens);
    snapshot(r.heads, r.basePpl);
    if (!r.complete && r.subsetHeads.empty()) {  // canceled within the subset: the subset is what was done
        r.subsetHeads = r.heads;
        r.subsetBasePpl = r.basePpl;
        r.subsetTokens = tokens;
        r.subsetWindows = windowsDone;
    }
    r.hasAttribution = params.attribution;
    rankAblation(r);
    r.seconds = since(start);
    r.baselineSeconds = baseSeconds;
    r.attributionSeconds = attributionSeconds;
    return r;
}

AnalysisRunner ablationRunner() {
    AnalysisRunner runner;
    runner.name = "ablation";
    runner.runPass = [](const Model& model, const Dataset& data, LayerRun& run, Progress& progress,
                        const LayerRunCallbacks& callbacks) {
        AblationParams ap = run.params.ablation;  // with the run's windows and heads
        ap.windows = run.params.windows;
        ap.heads = run.params.heads;
        if (callbacks.onLiveReport)
            ap.onSnapshot = [&callbacks](const AblationResult& partial) {
                callbacks.report("ablation", std::make_shared<const AblationResult>(partial));
            };
        AblationResult scan = runAblationScan(model, data, ap, progress);  // a cancel keeps the finished windows
        run.info.complete = run.info.complete && scan.complete;
        run.setResult("ablation", std::move(scan));
    };
    runner.cost = [](const Model& model, const LayerRunParams& p) { return 2.0 + scannedHeadsCost(model, p); };
    return runner;
}

}  // namespace ls
