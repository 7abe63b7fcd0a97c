// A model folder from its config and safetensors headers (model_folder.h); plain C++.
#include "model/model_folder.h"

#include <limits>

#include "common/error.h"
#include "common/number_text.h"
#include "model/checkpoint.h"
#include "model/config_internal.h"

namespace ls {

ModelDescription describeModel(const std::filesystem::path& dir) {
    if (!std::filesystem::exists(dir)) throw Error(dir, "model folder does not exist");
    if (!std::filesystem::is_directory(dir))
        throw Error(dir, "is not a folder (a model is a folder with config.json and model.safetensors)");
    ModelDescription description;
    description.directory = dir;
    description.config = parseModelConfig(dir / "config.json");
    describeCheckpoint(Checkpoint(dir), description);
    return description;
}

int64_t weightBytes(const ModelConfig& c, int matrixBytes) {
    // In double: a config with absurd (but individually valid) sizes must not overflow int64.
    const double D = c.hiddenSize, F = c.intermediateSize, V = c.vocabSize, hd = c.headDim;
    const double attention = D * hd * (2.0 * c.numHeads + 2.0 * c.numKvHeads);  // q, k, v, o
    const double mlp = (c.modelType == "llama" ? 3 : 2) * D * F;
    const double matrices = V * D * (c.tiedEmbeddings ? 1 : 2) + double(c.numLayers) * (attention + mlp);
    double rest = double(c.numLayers) * 4 * D;  // norms and biases, about
    if (c.modelType == "gpt2") rest += double(c.maxPositions) * D;
    const double bytes = matrixBytes * matrices + 4 * rest;
    return bytes >= 9.2e18 ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(bytes);
}


std::vector<std::pair<std::string, std::string>> modelSummary(const ModelDescription& model) {
    const ModelConfig& c = model.config;
    std::vector<std::pair<std::string, std::string>> out = {
        {"Folder", model.directory.string()},
        {"Architecture", model.architectureName() + " (model_type " + c.modelType + ")"},
        {"Layers", std::to_string(c.numLayers)},
        {"Attention heads", std::to_string(c.numHeads) +
                                (c.numKvHeads != c.numHeads ? " (" + std::to_string(c.numKvHeads) + " key/value)" : "")},
        {"Hidden size", std::to_string(c.hiddenSize) + " (head dim " + std::to_string(c.headDim) + ")"},
        {"FFN size", std::to_string(c.intermediateSize) + " (" + c.activation + ")"},
        {"Vocabulary", countText(c.vocabSize)},
        {"Context", countText(c.maxPositions)},
        {"Parameters", countText(model.parameterCount)},
        {"Weights", model.weightDtype + (model.weightDtype == "BF16" || model.weightDtype == "F16"
                                             ? " (in memory: float32 if it fits, else as stored; --weights-dtype)"
                                             : " (in memory: float32)")},
        {"Output head", c.tiedEmbeddings ? "tied to embeddings" : "separate"},
    };
    if (c.modelType == "llama") {
        std::string rope = "theta " + std::to_string(static_cast<long long>(c.ropeTheta));
        if (!c.ropeScalingType.empty()) rope += ", " + c.ropeScalingType + " scaling x" + std::to_string(c.ropeScalingFactor);
        out.push_back({"RoPE", rope});
    }
    return out;
}

}  // namespace ls
