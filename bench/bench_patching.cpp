// Activation-patching benchmark on a GPT-2-small-shaped model (random weights, bench_support.h):
// pairs of T-token prompts patched at every site, each site's time as patches per second and
// as the number of whole forwards of one prompt a patch costs. A patch reruns the model only
// from where it acts (a head's from its block's MLP), in batches: aim well under one forward
// per head patch.
//   bench_patching [--windows PAIRS] [--seq-len T] [--keep DIR]
// Prints figures; asserts nothing.
#include <cstdio>
#include <random>

#include "analysis/patching.h"
#include "bench_support.h"
#include "model/model.h"
#include "model/transformer_internal.h"

using namespace bench;

int main(int argc, char** argv) {
    BenchArgs args = startBenchmark(argc, argv, 2);
    if (args.seqLen == 1024) args.seqLen = 20;  // (the default window) a prompt, not a window
    const ls::Model model = ls::Model::load(gpt2SmallDir(args.keepDir));
    const int64_t T = args.seqLen, pairsCount = args.windows, L = kLayers, H = model.config().numHeads;
    std::mt19937 rng(3);
    std::uniform_int_distribution<int32_t> token(0, int32_t(kVocab - 1));
    std::vector<ls::PromptPair> pairs(static_cast<size_t>(pairsCount));
    for (ls::PromptPair& p : pairs) {
        for (int64_t t = 0; t < T; ++t) p.clean.push_back(token(rng));
        p.corrupted = p.clean;
        p.corrupted[static_cast<size_t>(T / 2)] = token(rng);  // one token differs
        p.answer = token(rng);
        p.wrong = token(rng);
    }
    // One whole forward of one prompt (last position's logits), the unit.
    double forward = 0;
    {
        torch::InferenceMode guard;
        const torch::Tensor ids = torch::tensor(std::vector<int64_t>(pairs[0].clean.begin(), pairs[0].clean.end())).view({1, T});
        ls::ForwardOptions o;
        o.logitsFrom = T - 1;
        model.impl().forward(ids, o);  // warm-up
        const auto t0 = std::chrono::steady_clock::now();
        const int repeats = 20;
        for (int i = 0; i < repeats; ++i) model.impl().forward(ids, o);
        forward = seconds(t0) / repeats;
    }
    std::printf("pairs              %lld of %lld tokens\n", static_cast<long long>(pairsCount), static_cast<long long>(T));
    std::printf("one forward        %.2f ms (one prompt)\n", 1000 * forward);
    ls::Progress progress;
    struct Site {
        const char* name;
        ls::PatchParams params;
        int64_t patchesPerPair;  // both directions
    };
    const Site sites[] = {{"resid", {true, false, false}, 2 * (L + 1) * T},
                          {"heads", {false, true, false}, 2 * L * H * (1 + T)},
                          {"mlp", {false, false, true}, 2 * L}};
    for (const Site& s : sites) {
        const auto t0 = std::chrono::steady_clock::now();
        ls::runPatching(model, nullptr, pairs, s.params, progress);
        const double total = seconds(t0);
        const double patches = double(s.patchesPerPair * pairsCount);
        // The two unpatched runs per pair are in the total: they are whole forwards.
        const double perPatch = (total - 2.0 * pairsCount * forward) / patches;
        std::printf("%-6s %7.0f patches in %6.2f s: %.3f ms per patch = %.3f forwards\n", s.name, patches, total, 1000 * perPatch,
                    perPatch / forward);
    }
    return 0;
}
