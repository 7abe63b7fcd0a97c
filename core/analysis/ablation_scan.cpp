// The head-ablation scan: shapes B windows, T tokens, S scored per window, D hidden,
// H query heads, hd head dim, L blocks.
#include <chrono>
#include <cmath>

#include "analysis/ablation.h"
#include "analysis/window_batches_internal.h"
#include "common/error.h"
#include "model/transformer_internal.h"

namespace ls {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Sum of -log p(target) over a batch's scored positions: logits (B, S, V).
double lossSum(const torch::Tensor& logits, const WindowBatch& batch) {
    return tokenLosses(logits, batch.ids.narrow(1, batch.firstScored, batch.scoredPerWindow()))
        .to(torch::kFloat64)
        .sum()
        .item<double>();
}

ForwardOptions scoredLogits(const WindowBatch& batch) {
    ForwardOptions o;
    o.logitsFrom = batch.firstScored - 1;
    o.logitsTo = batch.length - 1;
    return o;
}

}  // namespace

AblationResult runAblationScan(const Model& model, const Dataset& data, const AblationParams& params,
                               Progress& progress) {
    const auto start = Clock::now();
    const Model::Impl& m = model.impl();
    const ModelConfig& c = model.config();
    const int L = c.numLayers, H = c.numHeads, hd = c.headDim;
    if (params.subsetTokens < 0) throw Error("--subset-tokens must be at least 0");
    const std::vector<Window> windows = prepareWindows(c, data, params.windows);
    int64_t totalScored = 0;
    for (const Window& w : windows) totalScored += w.scoredCount();

    // 1. Mean output of every head over the scored positions: (L, H, hd) float64.
    torch::InferenceMode inference;
    progress.setStage("Mean head outputs");
    torch::Tensor headSums = torch::zeros({L, H, hd}, torch::kFloat64);
    forEachWindowBatch(windows, data.tokens, progress, [&](const WindowBatch& batch) {
        ForwardOptions o;
        o.computeLogits = false;
        o.editHeadOutputs = [&](int l, torch::Tensor& heads) {  // (B, T, H, hd)
            headSums[l] += heads.narrow(1, batch.firstScored - 1, batch.scoredPerWindow()).sum(std::vector<int64_t>{0, 1}).to(torch::kFloat64);
        };
        m.forward(batch.ids, o);
    });
    const torch::Tensor headMeans = (headSums / static_cast<double>(totalScored)).to(torch::kFloat32);  // (L, H, hd)

    // 2. Baseline and every intervention, window batch by window batch.
    const size_t heads = static_cast<size_t>(L) * H;
    std::vector<double> zeroSum(heads, 0), meanSum(heads, 0), estZero(heads, 0), estMean(heads, 0);
    double baseSum = 0;
    int64_t tokens = 0, windowsDone = 0;
    AblationResult r;
    r.numLayers = L;
    r.numHeads = H;
    auto snapshot = [&](std::vector<HeadAblation>& out, double& basePpl) {
        out.clear();
        basePpl = std::exp(baseSum / static_cast<double>(tokens));
        for (int l = 0; l < L; ++l)
            for (int h = 0; h < H; ++h) {
                HeadAblation a;
                a.layer = l + 1;
                a.head = h;
                const size_t i = static_cast<size_t>(l) * H + h;
                a.zeroPpl = std::exp(zeroSum[i] / static_cast<double>(tokens));
                a.meanPpl = std::exp(meanSum[i] / static_cast<double>(tokens));
                a.estZeroDloss = estZero[i] / static_cast<double>(tokens);
                a.estMeanDloss = estMean[i] / static_cast<double>(tokens);
                out.push_back(a);
            }
    };
    double baseSeconds = 0, attributionSeconds = 0;
    progress.setStage("Ablating " + std::to_string(heads) + " heads (zero and mean) on " +
                      std::to_string(windows.size()) + " windows");
    // The subset is the smallest prefix of windows holding subsetTokens scored tokens; batches
    // never straddle its end, so its snapshot covers exactly those windows.
    size_t subsetEnd = 0;
    for (int64_t n = 0; subsetEnd < windows.size() && n < params.subsetTokens; ++subsetEnd)
        n += windows[subsetEnd].scoredCount();
    const std::vector<Window> firstPart(windows.begin(), windows.begin() + static_cast<std::ptrdiff_t>(subsetEnd));
    const std::vector<Window> secondPart(windows.begin() + static_cast<std::ptrdiff_t>(subsetEnd), windows.end());
    auto processBatch = [&](const WindowBatch& batch) {
        const int64_t scored = batch.size * batch.scoredPerWindow();
        // Baseline, caching the residual stream entering each block: L x (B, T, D).
        auto t0 = Clock::now();
        std::vector<torch::Tensor> blockInputs;
        ForwardOptions base = scoredLogits(batch);
        base.observeResidual = [&](int index, const torch::Tensor& x) {
            if (index < L) blockInputs.push_back(x);
        };
        const double baseBatch = lossSum(m.forward(batch.ids, base), batch);
        baseSeconds += since(t0);
        std::vector<double> zeroBatch(heads), meanBatch(heads);
        for (int l = 0; l < L; ++l) {
            for (int h = 0; h < H; ++h) {
                if (progress.isCanceled()) throw Canceled();
                const size_t i = static_cast<size_t>(l) * H + h;
                for (const bool zero : {true, false}) {
                    ForwardOptions o = scoredLogits(batch);
                    o.editHeadOutputs = [&](int layer, torch::Tensor& out) {  // (B, T, H, hd)
                        if (layer != l) return;
                        if (zero) out.select(2, h).zero_();
                        else out.select(2, h).copy_(headMeans[l][h].expand({out.size(0), out.size(1), hd}));
                    };
                    (zero ? zeroBatch : meanBatch)[i] = lossSum(m.forwardFrom(l, blockInputs[l], o), batch);
                }
                progress.setFraction((static_cast<double>(tokens) + scored * (i + 1.0) / heads) / totalScored);
            }
        }
        // Attribution patching: one forward + backward with a zero "patch" added to every
        // head output, so its gradient is d(loss sum)/d(head output) along every path.
        std::vector<double> estZeroBatch(heads, 0), estMeanBatch(heads, 0);
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
            tokenLosses(logits, batch.ids.narrow(1, batch.firstScored, batch.scoredPerWindow()).clone())
                .to(torch::kFloat64)
                .sum()
                .backward();
            for (int l = 0; l < L; ++l) {
                const torch::Tensor g = patches[l].grad().to(torch::kFloat64);  // (B, T, H, hd)
                const torch::Tensor o64 = outputs[l].to(torch::kFloat64);
                // sum over b, t, d of (target - o) . g, per head
                const torch::Tensor zero = (-o64 * g).sum(std::vector<int64_t>{0, 1, 3});                                  // (H)
                const torch::Tensor mean = ((headMeans[l].to(torch::kFloat64) - o64) * g).sum(std::vector<int64_t>{0, 1, 3});  // (H)
                for (int h = 0; h < H; ++h) {
                    estZeroBatch[static_cast<size_t>(l) * H + h] = zero[h].item<double>();
                    estMeanBatch[static_cast<size_t>(l) * H + h] = mean[h].item<double>();
                }
            }
            attributionSeconds += since(t0);
        }
        // The batch is complete: add it (a cancel above leaves the totals as they were).
        baseSum += baseBatch;
        for (size_t i = 0; i < heads; ++i) {
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
    try {
        forEachWindowBatch(firstPart, data.tokens, progress, processBatch);
        snapshot(r.subsetHeads, r.subsetBasePpl);
        r.subsetTokens = tokens;
        r.subsetWindows = windowsDone;
        forEachWindowBatch(secondPart, data.tokens, progress, processBatch);
    } catch (const Canceled&) {
        if (tokens == 0) throw;
        r.complete = false;
    }
    r.tokens = tokens;
    r.windows = windowsDone;
    r.baseLoss = baseSum / static_cast<double>(tokens);
    snapshot(r.heads, r.basePpl);
    if (r.subsetHeads.empty()) {  // canceled within the subset: the subset is what was done
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

}  // namespace ls
