// Layer-analysis benchmark on a GPT-2-small-shaped model (random weights, bench_support.h):
// the capture pass with cos-sim, saturation (logit lens at every layer) and the low-rank
// head, against a plain eval on the same windows, and the logit lens's share of the time.
// Also peak memory for two token counts (it must not grow beyond the per-token scalars).
//   bench_analysis [--windows N] [--seq-len T] [--keep DIR]
// Prints figures; asserts nothing.
#include <sys/resource.h>

#include <cstdio>
#include <cstring>
#include <random>

#include "analysis/capture_pass.h"
#include "analysis/early_exit.h"
#include "analysis/layer_run.h"
#include "analysis/perplexity.h"
#include "analysis/runners_internal.h"
#include "bench_support.h"
#include "model/model.h"

using namespace bench;

namespace {

double peakMiB() {
    struct rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss / 1024.0;
}

}  // namespace

// The early-exit simulator on synthetic scalars: 250,000 tokens x 31 layers (30 allowed exit
// layers), the size the sliders must handle. Prints build time and per-threshold time.
void benchExitSimulator() {
    const int L = 31, N = 250000;
    std::mt19937 rng(5);
    std::uniform_real_distribution<float> unit(0.f, 1.f);
    ls::CaptureResult c;
    c.numLayers = L;
    c.metrics.assign(L, {});
    c.lensTop1.assign(L + 1, std::vector<int32_t>(N));
    for (auto& top1 : c.lensTop1)
        for (auto& id : top1) id = static_cast<int32_t>(rng() % 8);
    for (auto& m : c.metrics) {
        m.confidence.resize(N);
        m.correctLogProb.resize(N);
        for (int t = 0; t < N; ++t) {
            m.confidence[t] = unit(rng);
            m.correctLogProb[t] = -5 * unit(rng);
        }
    }
    c.loss.resize(N);
    auto t0 = std::chrono::steady_clock::now();
    std::vector<int> layers;
    for (int l = 1; l < L; ++l) layers.push_back(l);
    const ls::ExitSimulator sim(c, "confidence", layers);
    std::printf("exit simulator     build %.2f s for %d tokens x %d allowed layers\n", seconds(t0), N, L - 1);
    const std::vector<double> thresholds = sim.defaultThresholds(200);
    t0 = std::chrono::steady_clock::now();
    double sink = 0;
    for (double th : thresholds) sink += sim.evaluate(th).meanLayers;
    std::printf("one threshold      %.3f ms per evaluation (mean of %zu)\n", 1e3 * seconds(t0) / thresholds.size(),
                thresholds.size());
    t0 = std::chrono::steady_clock::now();
    const int perLayerRuns = 20;
    for (int i = 0; i < perLayerRuns; ++i) sink += sim.evaluate(std::vector<double>(L - 1, thresholds[10 * i])).meanLayers;
    std::printf("per-layer          %.3f ms per evaluation (one threshold per layer, token scan; mean of %d)\n",
                1e3 * seconds(t0) / perLayerRuns, perLayerRuns);
    if (sink < 0) std::printf("%f\n", sink);
}

int main(int argc, char** argv) {
    const BenchArgs args = startBenchmark(argc, argv, 2);
    const int64_t windows = args.windows, seqLen = args.seqLen;
    const int64_t layers = kLayers, dim = kDim, vocab = kVocab;
    benchExitSimulator();
    const ls::Model model = ls::Model::load(gpt2SmallDir(args.keepDir));

    std::mt19937 rng(1);
    ls::Dataset data = randomDataset(windows * seqLen, vocab, rng);
    ls::WindowParams wp;
    wp.seqLen = static_cast<int>(seqLen);
    ls::Progress progress;
    {  // warm-up (allocator, thread pool)
        ls::Dataset warm = data;
        warm.tokens.resize(static_cast<size_t>(seqLen));
        ls::runPerplexity(model, warm, ls::PerplexityParams{wp}, progress);
    }
    std::printf("data               %lld windows x %lld tokens\n", static_cast<long long>(windows),
                static_cast<long long>(seqLen));

    const double eval = ls::runPerplexity(model, data, ls::PerplexityParams{wp}, progress).seconds;
    std::printf("plain eval         %6.2f s\n", eval);
    auto capture = [&](const char* what, const ls::CaptureRequest& request) {
        const ls::CaptureResult r = ls::runCapturePass(model, data, wp, request, progress);
        std::printf("%-18s %6.2f s  (%.2fx eval, %.0f scored tokens/s)\n", what, r.seconds, r.seconds / eval,
                    r.tokens() / r.seconds);
        if (!r.lensMethodChoice.empty())
            std::printf("  lens top-1: %s; %.1f exact dots per token-layer\n", r.lensMethodChoice.c_str(),
                        r.lensCandidatesPerToken);
        return r.seconds;
    };
    ls::CaptureRequest cossim;
    cossim.cossim = true;
    const double tCossim = capture("cossim", cossim);
    ls::CaptureRequest lens = cossim;
    lens.lens = true;
    const double tLens = capture("cossim + lens", lens);
    ls::CaptureRequest all = lens;
    all.lowRankRanks = {8, 16, 32, 64, 128, 256, 512, 768};
    all.lowRankLayer = static_cast<int>(layers - 1);
    const double tAll = capture("+ low-rank (8 r)", all);
    std::printf("logit lens share   %.0f%% of cossim + lens (%.2f s for %lld extra head projections per token)\n",
                100.0 * (tLens - tCossim) / tLens, tLens - tCossim, static_cast<long long>(layers));
    ls::CaptureRequest lossSep;
    lossSep.lens = true;
    lossSep.metrics = true;
    lossSep.probeLayer = static_cast<int>(layers);
    lossSep.probeSampleSize = 65536;
    capture("losssep pass", lossSep);
    {  // lens divergence: its observer in the capture pass (a full head projection per layer)
        const ls::LayerRunParams params;
        for (const ls::AnalysisRunner& runner : ls::analysisRunners())
            if (runner.name == "lensdiv") {
                const std::unique_ptr<ls::CaptureObserver> observer = runner.observe(model, params);
                ls::CaptureRequest lensDiv;
                lensDiv.observers = {observer.get()};
                capture("lensdiv pass", lensDiv);
            }
    }
    std::printf("low-rank share     %.0f%% of all three (SVD of the %lldx%lld head in float64, %zu ranks x 2 "
                "layers, timing)\n",
                100.0 * (tAll - tLens) / tAll, static_cast<long long>(vocab), static_cast<long long>(dim),
                all.lowRankRanks.size());
    std::printf("peak memory        %.0f MiB after %lld tokens\n", peakMiB(), static_cast<long long>(windows * seqLen));
    // Twice the tokens: peak memory may grow only by the per-token scalars (about 4 bytes x
    // (2L + 3) per token here, i.e. a fraction of a MiB per thousand tokens).
    data.tokens.resize(static_cast<size_t>(2 * windows * seqLen));
    randomIds(data.tokens, vocab, rng);
    const double before = peakMiB();
    capture("all, 2x tokens", all);
    std::printf("peak memory        %.0f MiB after %lld tokens (+%.0f MiB)\n", peakMiB(),
                static_cast<long long>(2 * windows * seqLen), peakMiB() - before);
    return 0;
}
