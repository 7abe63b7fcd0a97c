// Eval throughput benchmark: a GPT-2-small-shaped model (12 layers, 768 dim, 12 heads,
// 50257 vocab, random weights written here) evaluated at seq_len 1024, next to this
// machine's measured fp32 matmul GFLOP/s and the fraction of that roofline achieved.
//   bench_eval [--windows N] [--seq-len T] [--keep DIR]
// Prints figures; asserts nothing.
#include <sys/resource.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "analysis/perplexity.h"
#include "model/model.h"
#include "model/transformer_internal.h"
#include "bench_support.h"
#include "common/thread_pools.h"

namespace fs = std::filesystem;

using namespace bench;

int main(int argc, char** argv) {
    const BenchArgs args = startBench(argc, argv, 4);
    const int64_t windows = args.windows, seqLen = args.seqLen;
    const double gflops = matmulGflops(1024);
    std::printf("matmul 1024^3 fp32 %.1f GFLOP/s (best of 5)\n", gflops);

    const fs::path dir = gpt2SmallDir(args);
    const auto t0 = std::chrono::steady_clock::now();
    const ls::Model model = ls::Model::load(dir);
    std::printf("load               %.2f s (%lld parameters)\n", seconds(t0), static_cast<long long>(model.parameterCount()));

    std::mt19937 rng(1);
    ls::Dataset data;
    fillRandomTokens(data, windows * seqLen, rng);
    ls::PerplexityParams params;
    params.windows.seqLen = static_cast<int>(seqLen);
    ls::Progress progress;
    // Warm-up window (allocator, thread pool), then the timed run.
    {
        ls::Dataset warm = data;
        warm.tokens.resize(static_cast<size_t>(seqLen));
        ls::runPerplexity(model, warm, params, progress);
    }
    const ls::PerplexityResult r = ls::runPerplexity(model, data, params, progress);
    const double inputTokensPerSecond = windows * seqLen / r.seconds;

    // Forward FLOPs per input token: 2 x (block weights) + attention scores and mixing over
    // the full T x T matrices (4 T D per layer) + the output head on the scored positions.
    const double blockFlops = 2.0 * kLayers * 12.0 * kDim * kDim;
    const double attnFlops = 4.0 * seqLen * kDim * kLayers;
    const double headFlops = 2.0 * kVocab * kDim * (seqLen - 1) / seqLen;
    const double flopsPerToken = blockFlops + attnFlops + headFlops;
    const double achieved = inputTokensPerSecond * flopsPerToken / 1e9;
    std::printf("eval               %lld windows x %lld tokens in %.2f s\n", static_cast<long long>(windows),
                static_cast<long long>(seqLen), r.seconds);
    std::printf("throughput         %.1f tokens/s (scored: %.1f tokens/s)\n", inputTokensPerSecond, r.tokensPerSecond);
    std::printf("model FLOPs/token  %.1f MFLOP\n", flopsPerToken / 1e6);
    std::printf("achieved           %.1f GFLOP/s = %.0f%% of the matmul roofline (%.1f tokens/s at 100%%)\n", achieved,
                100.0 * achieved / gflops, gflops * 1e9 / flopsPerToken);
    // Where the time goes: the blocks alone (no head) for one window.
    {
        torch::InferenceMode guard;
        torch::Tensor ids = torch::tensor(std::vector<int64_t>(data.tokens.begin(), data.tokens.begin() + seqLen))
                                .view({1, seqLen});
        ls::ForwardOptions blocksOnly;
        blocksOnly.computeLogits = false;
        model.impl().forward(ids, blocksOnly);
        const auto t1 = std::chrono::steady_clock::now();
        model.impl().forward(ids, blocksOnly);
        const double blocks = seconds(t1);
        const double perWindow = r.seconds / windows;
        std::printf("per window         %.2f s: blocks %.2f s (%.0f GFLOP/s), head + loss %.2f s (%.0f GFLOP/s)\n",
                    perWindow, blocks, (blockFlops + attnFlops) * seqLen / blocks / 1e9, perWindow - blocks,
                    headFlops * seqLen / (perWindow - blocks) / 1e9);
    }
    struct rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    std::printf("peak memory        %.0f MiB (weights %.0f MiB float32)\n", usage.ru_maxrss / 1024.0,
                model.parameterCount() * 4.0 / (1 << 20));
    std::printf("mean loss          %.4f (random weights: about ln(%lld) = %.2f expected)\n", r.meanLoss,
                static_cast<long long>(kVocab), std::log(static_cast<double>(kVocab)));
    return 0;
}
