#pragma once
// Shared by the benchmarks: timing, the machine's matmul roofline, and a random
// GPT-2-small-shaped model folder (the same weights for every benchmark).
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "common/thread_pools.h"
#include "data/dataset.h"
#include "model/model.h"
#include "model/safetensors.h"

namespace bench {

namespace fs = std::filesystem;

// The random model's shape: GPT-2 small.
constexpr int64_t kLayers = 12, kDim = 768, kVocab = 50257, kCtx = 1024;

// The benchmarks' command line: --windows N --seq-len T --keep DIR (the random model's folder,
// kept between runs; default a folder in the system's temporary directory), --demo DIR (bench_lens).
struct BenchArgs {
    int64_t windows = 2, seqLen = 1024;
    fs::path keepDir, demoDir;
};

inline BenchArgs parseBenchArgs(int argc, char** argv, int64_t defaultWindows) {
    BenchArgs a;
    a.windows = defaultWindows;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!std::strcmp(argv[i], "--windows")) a.windows = std::stoll(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--seq-len")) a.seqLen = std::stoll(argv[i + 1]);
        else if (!std::strcmp(argv[i], "--keep")) a.keepDir = argv[i + 1];
        else if (!std::strcmp(argv[i], "--demo")) a.demoDir = argv[i + 1];
    }
    return a;
}

// Every benchmark's start: thread pools tuned as the CLI and GUI do (common/thread_pools.h),
// the command line read, the compute threads printed.
inline BenchArgs startBench(int argc, char** argv, int64_t defaultWindows) {
    ls::tuneThreadPools(argv);
    const BenchArgs args = parseBenchArgs(argc, argv, defaultWindows);
    std::printf("threads            %d (torch intra-op)\n", ls::setComputeThreads(0));
    return args;
}

inline double seconds(std::chrono::steady_clock::time_point since) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Best-of-5 GFLOP/s of a square fp32 matmul, the roofline the eval is measured against.
inline double matmulGflops(int64_t n) {
    torch::InferenceMode guard;
    auto a = torch::randn({n, n}), b = torch::randn({n, n});
    auto c = torch::mm(a, b);  // warm-up
    double best = 0;
    for (int rep = 0; rep < 5; ++rep) {
        const auto t0 = std::chrono::steady_clock::now();
        const int iters = 10;
        for (int i = 0; i < iters; ++i) c = torch::mm(a, b);
        best = std::max(best, 2.0 * n * n * n * iters / seconds(t0) / 1e9);
    }
    return best;
}

// Writes config.json + model.safetensors of a random GPT-2 small into dir.
inline void writeGpt2Small(const fs::path& dir, int64_t layers, int64_t dim, int64_t vocab, int64_t ctx) {
    fs::create_directories(dir);
    std::ofstream(dir / "config.json") << "{\"model_type\": \"gpt2\", \"n_layer\": " << layers << ", \"n_head\": 12, "
                                       << "\"n_embd\": " << dim << ", \"n_positions\": " << ctx
                                       << ", \"vocab_size\": " << vocab << ", \"activation_function\": \"gelu_new\"}\n";
    torch::manual_seed(0);
    std::vector<torch::Tensor> keep;
    std::vector<ls::StTensorToWrite> tensors;
    auto add = [&](const std::string& name, std::vector<int64_t> shape, double stdev, double mean = 0) {
        keep.push_back((torch::randn(shape) * stdev + mean).contiguous());
        tensors.push_back({name, "F32", shape, keep.back().data_ptr(), static_cast<uint64_t>(keep.back().nbytes())});
    };
    add("wte.weight", {vocab, dim}, 0.02);
    add("wpe.weight", {ctx, dim}, 0.01);
    for (int64_t l = 0; l < layers; ++l) {
        const std::string p = "h." + std::to_string(l) + ".";
        add(p + "ln_1.weight", {dim}, 0.02, 1.0);
        add(p + "ln_1.bias", {dim}, 0.02);
        add(p + "attn.c_attn.weight", {dim, 3 * dim}, 0.02);
        add(p + "attn.c_attn.bias", {3 * dim}, 0.02);
        add(p + "attn.c_proj.weight", {dim, dim}, 0.02);
        add(p + "attn.c_proj.bias", {dim}, 0.02);
        add(p + "ln_2.weight", {dim}, 0.02, 1.0);
        add(p + "ln_2.bias", {dim}, 0.02);
        add(p + "mlp.c_fc.weight", {dim, 4 * dim}, 0.02);
        add(p + "mlp.c_fc.bias", {4 * dim}, 0.02);
        add(p + "mlp.c_proj.weight", {4 * dim, dim}, 0.02);
        add(p + "mlp.c_proj.bias", {dim}, 0.02);
    }
    add("ln_f.weight", {dim}, 0.02, 1.0);
    add("ln_f.bias", {dim}, 0.02);
    ls::writeSafetensors(dir / "model.safetensors", tensors);
}

// The random GPT-2 small's folder (--keep, or one in the temporary directory), written when missing.
inline fs::path gpt2SmallDir(const BenchArgs& args) {
    const fs::path dir = args.keepDir.empty() ? fs::temp_directory_path() / "layerscope-bench-gpt2" : args.keepDir;
    if (!fs::exists(dir / "model.safetensors")) writeGpt2Small(dir, kLayers, kDim, kVocab, kCtx);
    return dir;
}

// count random token ids in [0, kVocab), one document.
inline void fillRandomTokens(ls::Dataset& data, int64_t count, std::mt19937& rng) {
    data.tokens.resize(static_cast<size_t>(count));
    for (auto& id : data.tokens) id = static_cast<int32_t>(rng() % kVocab);
    data.documentStarts = {0};
}

}  // namespace bench
