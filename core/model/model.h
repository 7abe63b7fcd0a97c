#pragma once
// A causal language model loaded from a Hugging Face folder (config.json +
// model.safetensors or a sharded index). Plain C++ interface; the LibTorch weights and the
// forward pass live behind Model::Impl (model/transformer_internal.h, core only).
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace ls {

struct ModelConfig {
    std::string modelType;        // "gpt2" or "llama"
    int numLayers = 0;
    int numHeads = 0;
    int numKvHeads = 0;           // == numHeads unless grouped-query attention
    int hiddenSize = 0;           // dim
    int headDim = 0;              // hiddenSize / numHeads unless config says otherwise
    int intermediateSize = 0;     // FFN inner dim
    int vocabSize = 0;
    int maxPositions = 0;         // n_positions / max_position_embeddings
    double normEps = 1e-5;
    std::string activation;       // "gelu_new", "silu", ...
    bool tiedEmbeddings = true;
    // Llama only
    double ropeTheta = 10000.0;
    std::string ropeScalingType;  // "" (none), "linear", "llama3"
    double ropeScalingFactor = 1.0;
    double ropeLowFreqFactor = 1.0, ropeHighFreqFactor = 4.0;
    int ropeOriginalMaxPositions = 0;
    bool attentionBias = false, mlpBias = false;
    std::string torchDtype;       // as declared in config.json, informational
};

// What a model folder holds, from config.json and the safetensors headers alone.
struct ModelDescription {
    std::filesystem::path directory;
    ModelConfig config;
    int64_t parameterCount = 0;  // unique parameters (a tied head counts once)
    std::string weightDtype;     // dtype stored in the safetensors files ("F32", "F16", "BF16", mixed)
    std::string architectureName() const { return config.modelType == "gpt2" ? "GPT-2" : "Llama"; }
};

// Reads config.json and the safetensors headers and checks every tensor the model needs (name,
// shape, dtype) as Model::load does, without reading a weight: no NaN check, no memory check, in
// a fraction of a second for any size (`layerscope-cli info`). Throws ls::Error as load does.
ModelDescription describeModel(const std::filesystem::path& dir);

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

// Bytes the model's weights take once loaded (float32, whatever the checkpoint's dtype).
int64_t float32WeightBytes(const ModelConfig& config);
// (Compared with common/memory.h's availableMemoryBytes() before loading.)

// Human summary lines (architecture, layers, heads, dims, parameters), for CLI and GUI.
std::vector<std::pair<std::string, std::string>> modelSummary(const ModelDescription& model);
std::vector<std::pair<std::string, std::string>> modelSummary(const Model& model);

}  // namespace ls
