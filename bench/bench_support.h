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

#include "common/program_module.h"
#include "data/dataset.h"
#include "model/model.h"
#include "model/safetensors.h"

namespace bench {

namespace fs = std::filesystem;

// The random model's GPT-2 small shape.
constexpr int64_t kLayers = 12, kDim = 768, kVocab = 50257, kContext = 1024;

// The benchmarks' command line: --windows N --seq-len T --keep DIR (the random model's folder,
// kept between runs; default a folder in the system's temporary directory), and for the ones
// that also measure the demo model --demo DIR.
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

// What every benchmark does first: the thread pools tuned as the CLI and GUI tune them
// (common/program_module.h), the command line read, the compute threads printed.
inline BenchArgs startBenchmark(int argc, char** argv, int64_t defaultWindows) {
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

// The random GPT-2 small's folder (keepDir, or one in the system's temporary directory),
// written the first time it is asked for.
inline fs::path gpt2SmallDir(const fs::path& keepDir) {
    const fs::path dir = keepDir.empty() ? fs::temp_directory_path() / "layerscope-bench-gpt2" : keepDir;
    if (!fs::exists(dir / "model.safetensors")) writeGpt2Small(dir, kLayers, kDim, kVocab, kContext);
    return dir;
}

// Overwrites ids with random ids below vocab.
inline void randomIds(std::vector<int32_t>& ids, int64_t vocab, std::mt19937& rng) {
    for (auto& id : ids) id = static_cast<int32_t>(rng() % vocab);
}

// tokens random ids below vocab, as one document.
inline ls::Dataset randomDataset(int64_t tokens, int64_t vocab, std::mt19937& rng) {
    ls::Dataset data;
    data.tokens.resize(static_cast<size_t>(tokens));
    randomIds(data.tokens, vocab, rng);
    data.documentStarts = {0};
    return data;
}

}  // namespace bench
