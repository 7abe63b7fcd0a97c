// Decode benchmark on a GPT-2-small-shaped model (random weights, bench_support.h): for each
// context C in 128, 512, 1024, one sequence's decode step at position C (the KV cache holding
// C - 1 positions) per condition: baseline, 72 ReLU heads (blocks 1-6) and all 144 heads ReLU;
// against the plain re-run of the whole sequence for the same token. Beside each: the time spent
// in the attention (from the block's input to its post-attention residual, read at the forward's
// observation points), and the FLOP model's ratio (analysis/generation.h).
//   bench_generate [--windows STEPS] [--keep DIR]      (STEPS: decode steps timed, default 24)
// Prints figures; asserts nothing. Python eager with its cache: bench/generate_eager.py.
#include <algorithm>
#include <cstdio>
#include <random>

#include "analysis/generation.h"
#include "bench_support.h"
#include "model/model.h"
#include "model/transformer_internal.h"

using namespace bench;
using Clock = std::chrono::steady_clock;

namespace {

// A sequence's decode step at context C under one condition: its cache holds C - 1 positions
// and is rewound after each step, so every step is at the same context.
struct Decoder {
    const ls::Model::Impl& m;
    ls::ReluHeads relu;
    ls::KvCache cache;
    ls::ForwardOptions step;
    torch::Tensor next;
    int64_t C = 0;
    double attention = 0;  // seconds of the last step between each block's input and its post-attention residual
    Clock::time_point blockStart;

    Decoder(const ls::Model::Impl& model, const std::vector<int32_t>& ids, ls::ReluHeads heads)
        : m(model), relu(std::move(heads)), C(static_cast<int64_t>(ids.size())) {
        cache = m.makeCache(1, C);
        ls::ForwardOptions prefill;
        prefill.reluHeads = &relu;
        prefill.cache = &cache;
        prefill.logitsFrom = C - 2;
        m.forward(torch::tensor(std::vector<int64_t>(ids.begin(), ids.end() - 1), torch::kInt64).view({1, -1}), prefill);
        next = torch::tensor(std::vector<int64_t>{ids.back()}, torch::kInt64).view({1, 1});
        step.reluHeads = &relu;
        step.cache = &cache;
        step.observeResidual = [this](int, const torch::Tensor&) { blockStart = Clock::now(); };
        step.observePostAttention = [this](int, const torch::Tensor&) { attention += seconds(blockStart); };
    }
    double run() {  // seconds
        cache.length = C - 1;
        attention = 0;
        const auto t0 = Clock::now();
        m.forward(next, step);
        return seconds(t0);
    }
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

// The plain approach: the whole sequence (C positions) for the same token.
double timeRerun(const ls::Model::Impl& m, const std::vector<int32_t>& ids, const ls::ReluHeads* relu, int steps) {
    ls::ForwardOptions o;
    o.reluHeads = relu;
    o.logitsFrom = static_cast<int64_t>(ids.size()) - 1;
    const torch::Tensor all = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()), torch::kInt64).view({1, -1});
    std::vector<double> times;
    for (int s = 0; s < steps + 1; ++s) {
        const auto t0 = Clock::now();
        m.forward(all, o);
        if (s >= 1) times.push_back(seconds(t0));
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    const BenchArgs args = startBenchmark(argc, argv, 24);
    const int steps = static_cast<int>(args.windows);
    const ls::Model model = ls::Model::load(gpt2SmallDir(args.keepDir));
    const ls::Model::Impl& m = model.impl();
    const ls::ModelConfig& c = model.config();
    torch::InferenceMode guard;
    std::mt19937 rng(1);

    struct Condition {
        const char* name;
        int reluLayers;  // the first this many blocks' heads are ReLU
    };
    const std::vector<Condition> conditions = {{"baseline", 0}, {"relu 72 (blocks 1-6)", 6}, {"relu 144 (all)", 12}};
    std::printf("decode step at context C, GPT-2 small shape, batch 1: medians of %d steps, the conditions in turn\n", steps);
    std::printf("%-6s %-22s %10s %8s %9s %9s %10s %10s %10s %11s\n", "C", "condition", "ms/token", "tok/s", "attn ms",
                "kernel us", "step x", "attn x", "kernel x", "FLOP model");
    for (const int64_t C : {int64_t(128), int64_t(512), int64_t(1024)}) {
        std::vector<int32_t> ids(static_cast<size_t>(C));
        randomIds(ids, kVocab, rng);
        std::vector<Decoder> decoders;
        decoders.reserve(conditions.size());
        for (const Condition& condition : conditions) {
            ls::ReluHeads relu;
            for (int l = 0; l < condition.reluLayers; ++l)
                for (int h = 0; h < c.numHeads; ++h) relu.byLayer[l].push_back(h);
            decoders.emplace_back(m, ids, std::move(relu));
        }
        // Interleaved, so that the machine's drift falls on every condition alike.
        std::vector<std::vector<double>> stepTimes(conditions.size()), attentionTimes(conditions.size());
        for (int s = 0; s < steps + 2; ++s)
            for (size_t i = 0; i < decoders.size(); ++i) {
                const double t = decoders[i].run();
                if (s >= 2) stepTimes[i].push_back(t), attentionTimes[i].push_back(decoders[i].attention);
            }
        // The attention kernel alone (q.k, softmax or ReLU, weights.v) for one block's 12 heads at
        // context C, softmax against ReLU on every head: what the ReLU kernel changes.
        const torch::Tensor q = torch::randn({1, 1, c.numHeads, c.headDim}) * 0.125;
        const torch::Tensor k = torch::randn({1, c.numKvHeads, C, c.headDim}), v = torch::randn({1, c.numKvHeads, C, c.headDim});
        std::vector<int64_t> allHeads(static_cast<size_t>(c.numHeads));
        for (int h = 0; h < c.numHeads; ++h) allHeads[static_cast<size_t>(h)] = h;
        std::vector<double> softmaxKernel, reluKernel;
        for (int s = 0; s < 50 * steps; ++s) {
            auto t0 = Clock::now();
            ls::mixedCausalAttention(q, k, v, C - 1, {}, false);
            softmaxKernel.push_back(seconds(t0));
            t0 = Clock::now();
            ls::mixedCausalAttention(q, k, v, C - 1, allHeads, false);
            reluKernel.push_back(seconds(t0));
        }
        const double baseStep = median(stepTimes[0]), baseAttention = median(attentionTimes[0]);
        for (size_t i = 0; i < conditions.size(); ++i) {
            const double stepTime = median(stepTimes[i]), attention = median(attentionTimes[i]);
            const ls::FlopModel f = ls::flopModel(c, C, conditions[i].reluLayers * c.numHeads);
            // the kernel: every ReLU block runs the ReLU kernel instead of the softmax one
            const double kernel = median(softmaxKernel) * (c.numLayers - conditions[i].reluLayers) + median(reluKernel) * conditions[i].reluLayers;
            const double baseKernel = median(softmaxKernel) * c.numLayers;
            std::printf("%-6lld %-22s %10.2f %8.1f %9.2f %9.1f %10.3f %10.3f %10.3f %11.4f\n", static_cast<long long>(C),
                        conditions[i].name, 1e3 * stepTime, 1.0 / stepTime, 1e3 * attention, 1e6 * kernel, baseStep / stepTime,
                        baseAttention / attention, baseKernel / kernel, f.total / (f.total - f.kernelSaving));
        }
        const double rerun = timeRerun(m, ids, nullptr, std::max(3, steps / 6));
        std::printf("%-6lld %-22s %10.2f %8.1f   (the cache: %.1fx)\n", static_cast<long long>(C), "baseline re-run",
                    1e3 * rerun, 1.0 / rerun, rerun / baseStep);
    }
    std::printf("x: the baseline's time / the condition's (above 1 = faster): the whole step, the attention blocks "
                "(projections included), the attention kernel alone (12 blocks); FLOP model: the ratio of FLOPs per "
                "token with the ReLU kernel's saving.\n");
    return 0;
}
