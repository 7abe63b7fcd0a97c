// config.json -> ModelConfig for the architectures LayerScope runs.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_integer.h"
#include "model/config_internal.h"

namespace ls {

namespace {

using nlohmann::json;

// Reads an optional key; null counts as missing. Type errors name the key.
template <typename T>
T get(const json& j, const std::string& key, const T& fallback, const std::filesystem::path& file) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) return fallback;
    try {
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) return jsonInteger<T>(*it);
        else return it->get<T>();
    } catch (const std::exception&) {
        throw Error(file, "'" + key + "' has the wrong type (" + it->dump() + ")");
    }
}

template <typename T>
T require(const json& j, const std::string& key, const std::filesystem::path& file) {
    auto it = j.find(key);
    if (it == j.end() || it->is_null()) throw Error(file, "missing required key '" + key + "'");
    return get<T>(j, key, T{}, file);
}

void parseGpt2(const json& j, ModelConfig& c, const std::filesystem::path& file) {
    c.hiddenSize = require<int>(j, "n_embd", file);
    c.numLayers = require<int>(j, "n_layer", file);
    c.numHeads = require<int>(j, "n_head", file);
    c.numKvHeads = c.numHeads;
    c.vocabSize = require<int>(j, "vocab_size", file);
    c.maxPositions = get<int>(j, "n_positions", get<int>(j, "n_ctx", 1024, file), file);
    c.intermediateSize = get<int>(j, "n_inner", 4 * c.hiddenSize, file);
    c.normEps = get<double>(j, "layer_norm_epsilon", 1e-5, file);
    c.activation = get<std::string>(j, "activation_function", "gelu_new", file);
    c.tiedEmbeddings = get<bool>(j, "tie_word_embeddings", true, file);
    if (get<bool>(j, "scale_attn_by_inverse_layer_idx", false, file))
        throw Error(file, "scale_attn_by_inverse_layer_idx = true is not supported");
    if (!get<bool>(j, "scale_attn_weights", true, file))
        throw Error(file, "scale_attn_weights = false is not supported");
    c.attentionBias = true;
    c.mlpBias = true;
}

void parseLlama(const json& j, ModelConfig& c, const std::filesystem::path& file) {
    c.hiddenSize = require<int>(j, "hidden_size", file);
    c.numLayers = require<int>(j, "num_hidden_layers", file);
    c.numHeads = require<int>(j, "num_attention_heads", file);
    c.numKvHeads = get<int>(j, "num_key_value_heads", c.numHeads, file);
    c.vocabSize = require<int>(j, "vocab_size", file);
    c.intermediateSize = require<int>(j, "intermediate_size", file);
    c.maxPositions = get<int>(j, "max_position_embeddings", 2048, file);
    c.normEps = get<double>(j, "rms_norm_eps", 1e-6, file);
    c.activation = get<std::string>(j, "hidden_act", "silu", file);
    c.tiedEmbeddings = get<bool>(j, "tie_word_embeddings", false, file);
    c.ropeTheta = get<double>(j, "rope_theta", 10000.0, file);
    c.attentionBias = get<bool>(j, "attention_bias", false, file);
    c.mlpBias = get<bool>(j, "mlp_bias", false, file);
    if (j.contains("head_dim") && !j["head_dim"].is_null()) c.headDim = get<int>(j, "head_dim", 0, file);
    if (get<double>(j, "partial_rotary_factor", 1.0, file) != 1.0)
        throw Error(file, "partial_rotary_factor != 1 is not supported");

    auto rs = j.find("rope_scaling");
    if (rs != j.end() && !rs->is_null()) {
        if (!rs->is_object()) throw Error(file, "'rope_scaling' is not an object");
        // Newer configs say rope_type, older ones type.
        std::string type = get<std::string>(*rs, "rope_type", get<std::string>(*rs, "type", "", file), file);
        if (type == "default") type.clear();
        c.ropeScalingType = type;
        if (type == "linear") {
            c.ropeScalingFactor = require<double>(*rs, "factor", file);
        } else if (type == "llama3") {
            c.ropeScalingFactor = require<double>(*rs, "factor", file);
            c.ropeLowFreqFactor = get<double>(*rs, "low_freq_factor", 1.0, file);
            c.ropeHighFreqFactor = get<double>(*rs, "high_freq_factor", 4.0, file);
            c.ropeOriginalMaxPositions = require<int>(*rs, "original_max_position_embeddings", file);
        } else if (!type.empty()) {
            throw Error(file, "rope_scaling type '" + type + "' is not supported (supported: linear, llama3)");
        }
    }
}

}  // namespace

ModelConfig parseModelConfig(const std::filesystem::path& file) {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error(file, "cannot open (missing config.json?)");
    json j;
    try {
        j = json::parse(in);
    } catch (const json::exception& e) {
        throw Error(file, std::string("invalid JSON: ") + e.what());
    }
    if (!j.is_object()) throw Error(file, "is not a JSON object");

    ModelConfig c;
    c.modelType = get<std::string>(j, "model_type", "", file);
    c.torchDtype = get<std::string>(j, "torch_dtype", "", file);
    if (c.modelType == "gpt2")
        parseGpt2(j, c, file);
    else if (c.modelType == "llama")
        parseLlama(j, c, file);
    else if (c.modelType.empty())
        throw Error(file, "missing 'model_type' (supported: gpt2, llama)");
    else
        throw Error(file, "unsupported model_type '" + c.modelType + "' (supported: gpt2, llama)");

    auto positive = [&](int v, const char* what) {
        if (v <= 0) throw Error(file, std::string(what) + " must be positive, got " + std::to_string(v));
    };
    positive(c.hiddenSize, "hidden size");
    positive(c.numLayers, "number of layers");
    positive(c.numHeads, "number of attention heads");
    positive(c.numKvHeads, "number of key/value heads");
    positive(c.vocabSize, "vocab_size");
    positive(c.intermediateSize, "intermediate size");
    positive(c.maxPositions, "context length");
    if (c.headDim == 0) {
        if (c.hiddenSize % c.numHeads != 0)
            throw Error(file, "hidden size " + std::to_string(c.hiddenSize) + " is not divisible by " +
                                  std::to_string(c.numHeads) + " heads");
        c.headDim = c.hiddenSize / c.numHeads;
    }
    if (c.numHeads % c.numKvHeads != 0)
        throw Error(file, std::to_string(c.numHeads) + " attention heads are not divisible by " +
                              std::to_string(c.numKvHeads) + " key/value heads");
    if (c.modelType == "llama" && c.headDim % 2 != 0)
        throw Error(file, "head dimension " + std::to_string(c.headDim) + " must be even for RoPE");
    static const char* kActivations[] = {"gelu_new", "gelu", "gelu_pytorch_tanh", "relu", "silu", "swish"};
    if (std::find(std::begin(kActivations), std::end(kActivations), c.activation) == std::end(kActivations))
        throw Error(file, "unsupported activation '" + c.activation + "'");
    return c;
}

}  // namespace ls
