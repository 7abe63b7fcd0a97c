#pragma once
// A Hugging Face model folder as its files describe it: config.json and the safetensors
// headers (plain C++; no weight is read). Model::load (model.h) reads the weights.
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
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
// milliseconds for any size (`layerscope-cli info` runs without LibTorch). Throws ls::Error as
// load does.
ModelDescription describeModel(const std::filesystem::path& dir);

// Bytes the model's weights take once loaded, with matrixBytes per element of the weight
// matrices (4: float32; 2: bfloat16 or float16) and float32 norms, biases and positions.
// (Compared with common/memory.h's availableMemoryBytes() before loading.)
int64_t weightBytes(const ModelConfig& config, int matrixBytes = 4);

// Human summary lines (architecture, layers, heads, dims, parameters), for CLI and GUI.
std::vector<std::pair<std::string, std::string>> modelSummary(const ModelDescription& model);

}  // namespace ls
