// The logit lens's top-1 at every layer: the full head projection (float32 GEMM + argmax)
// against the certified top-1 (int8 or low rank, analysis/certified_lens_internal.h) on the same
// residual streams, for a random GPT-2-small-shaped model (bench_support.h) and for the demo
// model. Prints time per layer pass, the method chosen, exact dot products per token, and the
// agreement with the float32 full projection (the certified top-1 is the exact argmax; the
// float32 one may differ on near-ties).
//   bench_lens [--windows N] [--seq-len T] [--keep DIR] [--demo DIR]
// Prints figures; asserts nothing.
#include <cstdio>
#include <cstring>
#include <random>

#include "analysis/certified_lens_internal.h"
#include "bench_support.h"
#include "model/model.h"
#include "model/transformer_internal.h"

using namespace bench;

namespace {

void compare(const char* name, const ls::Model& model, int64_t windows, int64_t seqLen) {
    const ls::Model::Impl& m = model.impl();
    torch::InferenceMode guard;
    torch::manual_seed(3);
    const torch::Tensor ids = torch::randint(model.config().vocabSize, {windows, seqLen}, torch::kInt64);
    std::vector<torch::Tensor> normed;  // norm_f(h_l) (windows * seqLen, D), l = 0..L
    ls::ForwardOptions o;
    o.computeLogits = false;
    o.observeResidual = [&](int, const torch::Tensor& h) { normed.push_back(m.normFinal(h.reshape({-1, h.size(-1)}))); };
    m.forward(ids, o);
    const int64_t tokens = windows * seqLen;
    const auto& head = m.weights.head;
    std::printf("== %s: %lld x %lld head, %zu lens layers x %lld tokens\n", name, static_cast<long long>(head.size(0)),
                static_cast<long long>(head.size(1)), normed.size(), static_cast<long long>(tokens));

    std::vector<torch::Tensor> full;
    at::linear(normed[0], head).argmax(-1);  // warm-up
    auto t0 = std::chrono::steady_clock::now();
    for (const torch::Tensor& x : normed) full.push_back(at::linear(x, head).argmax(-1));
    const double fullSeconds = seconds(t0);
    std::printf("full projection    %.3f s (%.2f ms per 1k token-layers)\n", fullSeconds,
                1e3 * fullSeconds / (double(tokens) * normed.size()) * 1e3);

    t0 = std::chrono::steady_clock::now();
    ls::CertifiedLens lens(head);
    const double setup = seconds(t0);
    t0 = std::chrono::steady_clock::now();
    const std::string choice = lens.chooseMethod(normed[normed.size() / 2], tokens * static_cast<int64_t>(normed.size()));
    const double choose = seconds(t0);
    std::printf("certified setup    %.2f s (construction), method choice %.2f s (set-ups included):\n  %s\n", setup,
                choose, choice.c_str());
    int64_t agree = 0;
    t0 = std::chrono::steady_clock::now();
    std::vector<torch::Tensor> certified;
    for (const torch::Tensor& x : normed) certified.push_back(lens.top1(x));
    const double certifiedSeconds = seconds(t0);
    for (size_t l = 0; l < normed.size(); ++l) agree += certified[l].eq(full[l]).sum().item<int64_t>();
    std::printf("certified top-1    %.3f s = %.2fx the full projections; %.1f exact dots per token-layer (of %lld); "
                "agrees with float32 argmax on %.4f%%\n",
                certifiedSeconds, certifiedSeconds / fullSeconds,
                static_cast<double>(lens.candidates()) / static_cast<double>(lens.tokens()),
                static_cast<long long>(head.size(0)), 100.0 * agree / (double(tokens) * normed.size()));
}

}  // namespace

int main(int argc, char** argv) {
    const BenchArgs args = startBenchmark(argc, argv, 1);
    const fs::path demoDir = args.demoDir.empty() ? fs::path(LAYERSCOPE_SOURCE_DIR "/resources/demo/model") : args.demoDir;
    compare("random GPT-2 small", ls::Model::load(gpt2SmallDir(args.keepDir)), args.windows, args.seqLen);
    compare("demo model", ls::Model::load(demoDir), 8, 128);
    return 0;
}
