// Head-ablation benchmark on a GPT-2-small-shaped model (random weights, bench_support.h):
// one baseline evaluation, the full zero + mean scan (2 x 144 = 288 interventions, prefix
// caching and paired interventions), the plain approach (the whole model re-run per
// intervention, measured on a few heads and scaled to 288), and the attribution-patching
// estimate, all as multiples of the baseline. Aim: scan <= 0.7 x 288 baselines,
// attribution <= 3 baselines.
//   bench_ablation [--windows N] [--seq-len T] [--keep DIR]
// Prints figures; asserts nothing.
#include <cstdio>
#include <cstring>
#include <random>

#include "analysis/ablation.h"
#include "analysis/perplexity.h"
#include "bench_support.h"
#include "common/thread_pools.h"
#include "model/model.h"
#include "model/transformer_internal.h"

using namespace bench;

int main(int argc, char** argv) {
    const BenchArgs args = startBench(argc, argv, 2);
    const int64_t windows = args.windows, seqLen = args.seqLen;
    const ls::Model model = ls::Model::load(gpt2SmallDir(args));
    std::mt19937 rng(1);
    ls::Dataset data;
    fillRandomTokens(data, windows * seqLen, rng);
    ls::WindowParams wp;
    wp.seqLen = static_cast<int>(seqLen);
    ls::Progress progress;
    ls::runPerplexity(model, data, ls::PerplexityParams{wp}, progress);  // warm-up
    const double base = ls::runPerplexity(model, data, ls::PerplexityParams{wp}, progress).seconds;
    std::printf("data               %lld windows x %lld tokens\n", static_cast<long long>(windows),
                static_cast<long long>(seqLen));
    std::printf("baseline eval      %.2f s\n", base);

    // The plain approach: the whole model per intervention, on 4 heads, scaled to 288.
    {
        torch::InferenceMode guard;
        const auto t0 = std::chrono::steady_clock::now();
        const int samples = 4;
        for (int k = 0; k < samples; ++k) {
            torch::Tensor ids = torch::tensor(std::vector<int64_t>(data.tokens.begin(), data.tokens.end()))
                                    .view({windows, seqLen});
            ls::ForwardOptions o;
            o.logitsFrom = 0;
            o.logitsTo = seqLen - 1;
            o.editHeadOutputs = [&](int l, torch::Tensor& out) {
                if (l == k) out.select(2, 0).zero_();
            };
            model.impl().forward(ids, o);
        }
        const double perIntervention = seconds(t0) / samples;
        std::printf("plain approach     %.2f s per intervention -> %.0f s for 288 (%.2fx 288 baselines)\n",
                    perIntervention, 288 * perIntervention, perIntervention / base);
    }
    // Cost of one intervention by block, as the scan pays it: from block l's MLP on the edited
    // post-attention residual, zero and mean as one batch of 2B windows, halved; as a fraction
    // of a whole forward on the same windows. The scan's cost per intervention is their mean.
    {
        torch::InferenceMode guard;
        torch::Tensor ids = torch::tensor(std::vector<int64_t>(data.tokens.begin(), data.tokens.end()))
                                .view({windows, seqLen});
        std::vector<torch::Tensor> postAttention;
        ls::ForwardOptions o;
        o.logitsFrom = 0;
        o.logitsTo = seqLen - 1;
        o.observePostAttention = [&](int, const torch::Tensor& a) { postAttention.push_back(a); };
        auto t0 = std::chrono::steady_clock::now();
        model.impl().forward(ids, o);
        const double whole = seconds(t0);
        o.observePostAttention = nullptr;
        std::printf("intervention cost  ");
        double sum = 0;
        for (int l = 0; l < kLayers; ++l) {
            t0 = std::chrono::steady_clock::now();
            model.impl().forwardFromMlp(l, torch::cat({postAttention[l], postAttention[l]}, 0), o);
            const double f = seconds(t0) / 2 / whole;
            sum += f;
            std::printf("%.2f ", f);
        }
        std::printf("(by block; mean %.3f of a forward of %.2f s)\n", sum / kLayers, whole);
    }
    ls::AblationParams params;
    params.windows = wp;
    params.subsetTokens = seqLen;
    const ls::AblationResult r = ls::runAblationScan(model, data, params, progress);
    const double scan = r.seconds - r.attributionSeconds;
    std::printf("full scan          %.1f s for 288 interventions + baseline = %.3f x 288 baselines (aim <= 0.7)\n",
                scan, scan / (288 * base));
    std::printf("attribution        %.2f s = %.2f baselines (aim <= 3); rank correlation with the exact scan: "
                "zero %.3f, mean %.3f\n",
                r.attributionSeconds, r.attributionSeconds / base, r.attributionSpearmanZero, r.attributionSpearmanMean);
    return 0;
}
