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

// How the weight matrices (embeddings, projections, head) are kept in memory (--weights-dtype).
// float32: converted at load (LayerScope's default for models that fit). bfloat16: kept in
// bfloat16 (a float32 or float16 checkpoint is rounded to it), half the memory. auto: float32 when
// it fits in the memory available with room to run, else the checkpoint's own bfloat16 or
// float16 (nothing rounded). Norms, biases and activations are float32 either way; how half
// matrices are multiplied is in transformer_internal.h (HalfMatmul).
enum class WeightsDtype { Auto, Float32, BFloat16 };
WeightsDtype parseWeightsDtype(const std::string& name);  // "auto" ...; throws ls::ParamError("weights-dtype")

// Whether this process multiplies bfloat16 weight matrices in bfloat16 (the CPU has AVX512-BF16
// or AMX, and LAYERSCOPE_BF16_MATMUL is not "convert"); else each is converted to float32.
bool bf16MatmulAvailable();

struct ModelLoadOptions {
    WeightsDtype weights = WeightsDtype::Auto;
    // Multiply bfloat16 matrices by converting each to float32 even on a CPU with bfloat16
    // matmuls (exact to the stored weights; slower). Tests, and LAYERSCOPE_BF16_MATMUL=convert.
    bool convertHalfMatrices = false;
};

class Model {
public:
    using LoadOptions = ModelLoadOptions;
    // Throws ls::Error naming the file and the problem (and too little memory, with the
    // estimate for the dtype chosen).
    static Model load(const std::filesystem::path& dir, const LoadOptions& options = {});

    const ModelConfig& config() const;
    const std::filesystem::path& directory() const;
    int64_t parameterCount() const;      // unique parameters (a tied head counts once)
    std::string weightDtype() const;     // dtype stored in the safetensors files ("F32", "F16", "BF16", mixed)
    std::string weightsInMemory() const; // "float32", or "bfloat16 matrices (...how multiplied)"
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
