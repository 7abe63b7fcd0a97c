#pragma once
// A causal language model loaded from a Hugging Face folder (config.json +
// model.safetensors or a sharded index). Plain C++ interface; the LibTorch weights and the
// forward pass live behind Model::Impl (model/transformer_internal.h, core only).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "model/model_folder.h"

namespace ls {

class Model {
public:
    // Throws ls::Error naming the file and the problem.
    static Model load(const std::filesystem::path& dir);

    const ModelConfig& config() const;
    const std::filesystem::path& directory() const;
    int64_t parameterCount() const;      // unique parameters (a tied head counts once)
    std::string weightDtype() const;     // dtype stored in the safetensors files ("F32", "F16", "BF16", mixed)
    std::string architectureName() const;// "GPT-2" or "Llama"

    // Logits for one sequence: ids (T,) -> (T * vocab) float32, row-major (T, vocab).
    // Throws ls::Error if T exceeds the context or an id is outside the vocabulary.
    std::vector<float> logits(const std::vector<int32_t>& ids) const;

    // Capture points of one forward pass, as plain float32 buffers (tests, tools):
    //   residuals[l]   (T, D) row-major: h_0 = block 1's input (embeddings), h_l = block l's output
    //   headOutputs[l] (T, H, hd) row-major: layer l+1's attention heads before the output projection
    struct Captures {
        std::vector<std::vector<float>> residuals;    // L + 1 entries
        std::vector<std::vector<float>> headOutputs;  // L entries
    };
    Captures capture(const std::vector<int32_t>& ids) const;

    struct Impl;
    const Impl& impl() const { return *impl_; }

private:
    explicit Model(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
    std::shared_ptr<Impl> impl_;
};

// LibTorch intra-op threads for every forward pass in this process. 0 = one per core
// (Debian's OpenMP build otherwise starts with a single thread). Returns the number set.
int setComputeThreads(int threads = 0);

// Human summary lines (model_folder.h) of a loaded model.
std::vector<std::pair<std::string, std::string>> modelSummary(const Model& model);

}  // namespace ls
