// Loading a Hugging Face model folder into float32 LibTorch weights.
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "common/error.h"
#include "common/number_text.h"
#include "common/memory.h"
#include "model/config_internal.h"
#include "model/transformer_internal.h"

namespace ls {

namespace {

namespace fs = std::filesystem;

// All tensors of a checkpoint, possibly spread over shards, by name.
class Checkpoint {
public:
    bool headerOnly = false;  // WeightLoader checks names, shapes and dtypes and reads no weight
    explicit Checkpoint(const fs::path& dir) {
        const fs::path single = dir / "model.safetensors";
        const fs::path index = dir / "model.safetensors.index.json";
        if (fs::exists(single)) {
            addFile(single);
        } else if (fs::exists(index)) {
            readIndex(dir, index);
        } else {
            throw Error(dir, "no model.safetensors or model.safetensors.index.json in the model folder");
        }
    }

    bool has(const std::string& name) const { return byName_.count(name) != 0; }

    const StTensor& tensor(const std::string& name) const {
        auto it = byName_.find(name);
        if (it == byName_.end()) throw Error(fileFor(name), "required tensor '" + name + "' is missing");
        return *it->second.first;
    }

    fs::path fileFor(const std::string& name) const {
        auto it = byName_.find(name);
        return it == byName_.end() ? files_.front()->path() : it->second.second->path();
    }

    std::set<std::string> dtypesUsed(const std::set<std::string>& names) const {
        std::set<std::string> out;
        for (const auto& n : names) out.insert(tensor(n).dtypeName);
        return out;
    }

private:
    void addFile(const fs::path& file) {
        files_.push_back(std::make_unique<SafetensorsFile>(file));
        const SafetensorsFile* f = files_.back().get();
        for (const auto& [name, t] : f->tensors()) byName_[name] = {&t, f};
    }

    void readIndex(const fs::path& dir, const fs::path& index) {
        std::ifstream in(index, std::ios::binary);
        if (!in) throw Error(index, "cannot open");
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(in);
        } catch (const nlohmann::json::exception& e) {
            throw Error(index, std::string("invalid JSON: ") + e.what());
        }
        if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
            throw Error(index, "has no 'weight_map' object");
        std::set<std::string> shards;
        for (const auto& [name, file] : j["weight_map"].items()) {
            if (!file.is_string()) throw Error(index, "weight_map entry '" + name + "' is not a file name");
            shards.insert(file.get<std::string>());
        }
        if (shards.empty()) throw Error(index, "weight_map is empty");
        for (const auto& shard : shards) {
            const fs::path file = dir / shard;
            if (!fs::exists(file)) throw Error(index, "refers to shard '" + shard + "', which does not exist");
            addFile(file);
        }
    }

    std::vector<std::unique_ptr<SafetensorsFile>> files_;
    std::map<std::string, std::pair<const StTensor*, const SafetensorsFile*>> byName_;
};

torch::ScalarType torchType(StDtype d) {
    switch (d) {
        case StDtype::F64: return torch::kFloat64;
        case StDtype::F32: return torch::kFloat32;
        case StDtype::F16: return torch::kFloat16;
        case StDtype::BF16: return torch::kBFloat16;
        default: return torch::ScalarType::Undefined;
    }
}

// Builds LayerWeights/ModelWeights from a checkpoint, checking every shape.
class WeightLoader {
public:
    WeightLoader(const Checkpoint& ckpt, std::string prefix) : ckpt_(ckpt), prefix_(std::move(prefix)) {}

    // Copies the tensor out of the mapping (it may be unaligned) and upcasts to float32.
    torch::Tensor load(const std::string& shortName, std::vector<int64_t> expectedShape) {
        const std::string name = prefix_ + shortName;
        const StTensor& t = ckpt_.tensor(name);
        used_.insert(name);
        if (t.shape != expectedShape)
            throw Error(ckpt_.fileFor(name), "tensor '" + name + "' has shape " + shapeString(t.shape) +
                                                 ", expected " + shapeString(expectedShape));
        const auto type = torchType(t.dtype);
        if (type == torch::ScalarType::Undefined)
            throw Error(ckpt_.fileFor(name), "tensor '" + name + "' has dtype " + t.dtypeName +
                                                 "; supported: F32, F16, BF16, F64");
        if (ckpt_.headerOnly)  // shape only: the loaders' reshaping works on it, no byte is read
            return torch::empty(expectedShape, torch::TensorOptions().dtype(torch::kFloat32).device(torch::kMeta));
        torch::Tensor raw = torch::empty(expectedShape, torch::TensorOptions().dtype(type));
        std::memcpy(raw.data_ptr(), t.data, t.bytes);
        torch::Tensor weight = raw.to(torch::kFloat32).contiguous();
        // A NaN or infinite weight would make every result NaN; say so at load instead.
        const int64_t bad = weight.numel() - torch::isfinite(weight).sum().item<int64_t>();
        if (bad > 0)
            throw Error(ckpt_.fileFor(name), "tensor '" + name + "' has " + std::to_string(bad) + " of " +
                                                 std::to_string(weight.numel()) +
                                                 " values that are NaN or infinite (in float32): the checkpoint is "
                                                 "corrupt or was saved after training diverged");
        return weight;
    }

    torch::Tensor loadOptional(const std::string& shortName, std::vector<int64_t> shape, bool wanted) {
        if (!wanted) return {};
        return load(shortName, std::move(shape));
    }

    bool has(const std::string& shortName) const { return ckpt_.has(prefix_ + shortName); }
    const std::set<std::string>& used() const { return used_; }

private:
    static std::string shapeString(const std::vector<int64_t>& s) {
        std::string out = "[";
        for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
        return out + "]";
    }
    const Checkpoint& ckpt_;
    std::string prefix_;
    std::set<std::string> used_;
};

void loadGpt2(const Checkpoint& ckpt, const ModelConfig& c, ModelWeights& w, std::set<std::string>& used) {
    // Published gpt2 checkpoints have bare names; GPT2LMHeadModel.save_pretrained adds "transformer.".
    const std::string prefix = ckpt.has("transformer.wte.weight") ? "transformer." : "";
    WeightLoader ld(ckpt, prefix);
    const int64_t D = c.hiddenSize, F = c.intermediateSize, V = c.vocabSize;
    w.tokenEmbedding = ld.load("wte.weight", {V, D});
    w.positionEmbedding = ld.load("wpe.weight", {c.maxPositions, D});
    for (int i = 0; i < c.numLayers; ++i) {
        const std::string p = "h." + std::to_string(i) + ".";
        LayerWeights L;
        L.norm1Weight = ld.load(p + "ln_1.weight", {D});
        L.norm1Bias = ld.load(p + "ln_1.bias", {D});
        L.norm2Weight = ld.load(p + "ln_2.weight", {D});
        L.norm2Bias = ld.load(p + "ln_2.bias", {D});
        // GPT-2's Conv1D stores (in, out); transpose once to Linear's (out, in).
        torch::Tensor qkv = ld.load(p + "attn.c_attn.weight", {D, 3 * D}).t();  // (3D, D)
        torch::Tensor qkvBias = ld.load(p + "attn.c_attn.bias", {3 * D});
        auto parts = qkv.split(D, 0);
        auto biasParts = qkvBias.split(D, 0);
        L.qWeight = parts[0].contiguous();
        L.kWeight = parts[1].contiguous();
        L.vWeight = parts[2].contiguous();
        L.qBias = biasParts[0].contiguous();
        L.kBias = biasParts[1].contiguous();
        L.vBias = biasParts[2].contiguous();
        L.oWeight = ld.load(p + "attn.c_proj.weight", {D, D}).t().contiguous();
        L.oBias = ld.load(p + "attn.c_proj.bias", {D});
        L.upWeight = ld.load(p + "mlp.c_fc.weight", {D, F}).t().contiguous();  // (F, D)
        L.upBias = ld.load(p + "mlp.c_fc.bias", {F});
        L.downWeight = ld.load(p + "mlp.c_proj.weight", {F, D}).t().contiguous();  // (D, F)
        L.downBias = ld.load(p + "mlp.c_proj.bias", {D});
        w.layers.push_back(std::move(L));
    }
    w.finalNormWeight = ld.load("ln_f.weight", {D});
    w.finalNormBias = ld.load("ln_f.bias", {D});
    used = ld.used();
    if (!c.tiedEmbeddings && ckpt.has("lm_head.weight")) {
        WeightLoader head(ckpt, "");
        w.head = head.load("lm_head.weight", {V, D});
        used.insert("lm_head.weight");
    } else {
        w.head = w.tokenEmbedding;
    }
}

void loadLlama(const Checkpoint& ckpt, const ModelConfig& c, ModelWeights& w, std::set<std::string>& used) {
    WeightLoader ld(ckpt, "model.");
    const int64_t D = c.hiddenSize, F = c.intermediateSize, V = c.vocabSize;
    const int64_t qOut = int64_t(c.numHeads) * c.headDim, kvOut = int64_t(c.numKvHeads) * c.headDim;
    w.tokenEmbedding = ld.load("embed_tokens.weight", {V, D});
    for (int i = 0; i < c.numLayers; ++i) {
        const std::string p = "layers." + std::to_string(i) + ".";
        LayerWeights L;
        L.norm1Weight = ld.load(p + "input_layernorm.weight", {D});
        L.norm2Weight = ld.load(p + "post_attention_layernorm.weight", {D});
        // A linear layer: weight (out, in), and its bias (out) when the config says it has one.
        auto linear = [&](const std::string& name, int64_t out, int64_t in, bool hasBias, torch::Tensor& weight,
                          torch::Tensor& bias) {
            weight = ld.load(p + name + ".weight", {out, in});
            bias = ld.loadOptional(p + name + ".bias", {out}, hasBias);
        };
        linear("self_attn.q_proj", qOut, D, c.attentionBias, L.qWeight, L.qBias);
        linear("self_attn.k_proj", kvOut, D, c.attentionBias, L.kWeight, L.kBias);
        linear("self_attn.v_proj", kvOut, D, c.attentionBias, L.vWeight, L.vBias);
        linear("self_attn.o_proj", D, qOut, c.attentionBias, L.oWeight, L.oBias);
        linear("mlp.gate_proj", F, D, c.mlpBias, L.gateWeight, L.gateBias);
        linear("mlp.up_proj", F, D, c.mlpBias, L.upWeight, L.upBias);
        linear("mlp.down_proj", D, F, c.mlpBias, L.downWeight, L.downBias);
        w.layers.push_back(std::move(L));
    }
    w.finalNormWeight = ld.load("norm.weight", {D});
    used = ld.used();
    if (c.tiedEmbeddings) {
        w.head = w.tokenEmbedding;
    } else {
        if (!ckpt.has("lm_head.weight"))
            throw Error(ckpt.fileFor("model.norm.weight"),
                        "required tensor 'lm_head.weight' is missing (tie_word_embeddings is false)");
        WeightLoader head(ckpt, "");
        w.head = head.load("lm_head.weight", {V, D});
        used.insert("lm_head.weight");
    }
    w.ropeInvFreq = ropeInverseFrequencies(c);
}

// q, k and v as one (H*hd + 2*KVH*hd, D) matrix so attention's input projection is one GEMM;
// q/k/v (and their biases) become views into it, so no weight is stored twice.
void fuseQkv(ModelWeights& w) {
    for (LayerWeights& L : w.layers) {
        const std::vector<int64_t> sizes{L.qWeight.size(0), L.kWeight.size(0), L.vWeight.size(0)};
        L.qkvWeight = torch::cat({L.qWeight, L.kWeight, L.vWeight}, 0);
        auto parts = L.qkvWeight.split_with_sizes(sizes, 0);
        L.qWeight = parts[0];
        L.kWeight = parts[1];
        L.vWeight = parts[2];
        if (L.qBias.defined()) {
            L.qkvBias = torch::cat({L.qBias, L.kBias, L.vBias}, 0);
            auto biases = L.qkvBias.split_with_sizes(sizes, 0);
            L.qBias = biases[0];
            L.kBias = biases[1];
            L.vBias = biases[2];
        }
    }
}

int64_t countParameters(const ModelWeights& w) {
    int64_t n = 0;
    for (const auto& t : parameterList(w)) n += t.numel();
    return n;
}

}  // namespace

std::vector<torch::Tensor> parameterList(const ModelWeights& w) {
    // A tied head shares storage with the embedding; q, k and v are views into one fused
    // matrix at different offsets. (Storage and offset rather than data_ptr: weights described
    // from the headers alone, on the meta device, have no data.)
    std::set<std::pair<const void*, int64_t>> seen;
    std::vector<torch::Tensor> out;
    auto add = [&](const torch::Tensor& t) {
        if (t.defined() && seen.insert({t.storage().unsafeGetStorageImpl(), t.storage_offset()}).second) out.push_back(t);
    };
    add(w.tokenEmbedding);
    add(w.positionEmbedding);
    for (const auto& L : w.layers)
        for (const auto* t : {&L.norm1Weight, &L.norm1Bias, &L.norm2Weight, &L.norm2Bias, &L.qWeight,
                              &L.kWeight, &L.vWeight, &L.oWeight, &L.qBias, &L.kBias, &L.vBias, &L.oBias,
                              &L.gateWeight, &L.upWeight, &L.downWeight, &L.gateBias, &L.upBias, &L.downBias})
            add(*t);
    add(w.finalNormWeight);
    add(w.finalNormBias);
    add(w.head);
    return out;
}

// RoPE inverse frequencies (hd/2), with HF's "linear" or "llama3" scaling applied.
torch::Tensor ropeInverseFrequencies(const ModelConfig& c) {
    const int64_t half = c.headDim / 2;
    std::vector<float> inv(half);
    for (int64_t i = 0; i < half; ++i) {
        // HF: 1 / theta ** (arange(0, hd, 2).float() / hd), computed in float32
        const float exponent = static_cast<float>(2 * i) / static_cast<float>(c.headDim);
        float f = 1.0f / std::pow(static_cast<float>(c.ropeTheta), exponent);
        if (c.ropeScalingType == "linear") {
            f /= static_cast<float>(c.ropeScalingFactor);
        } else if (c.ropeScalingType == "llama3") {
            // transformers' _compute_llama3_parameters
            const double factor = c.ropeScalingFactor, low = c.ropeLowFreqFactor, high = c.ropeHighFreqFactor;
            const double oldContext = c.ropeOriginalMaxPositions;
            const double lowFreqWavelen = oldContext / low, highFreqWavelen = oldContext / high;
            const double wavelen = 2.0 * M_PI / f;
            if (wavelen > lowFreqWavelen) {
                f = static_cast<float>(f / factor);
            } else if (wavelen >= highFreqWavelen) {  // medium band: smooth interpolation
                const double smooth = (oldContext / wavelen - low) / (high - low);
                f = static_cast<float>((1 - smooth) * f / factor + smooth * f);
            }
        }
        inv[i] = f;
    }
    return torch::from_blob(inv.data(), {half}, torch::kFloat32).clone();
}

int64_t float32WeightBytes(const ModelConfig& c) {
    // In double: a config with absurd (but individually valid) sizes must not overflow int64.
    const double D = c.hiddenSize, F = c.intermediateSize, V = c.vocabSize, hd = c.headDim;
    const double attention = D * hd * (2.0 * c.numHeads + 2.0 * c.numKvHeads);  // q, k, v, o
    const double mlp = (c.modelType == "llama" ? 3 : 2) * D * F;
    double n = V * D * (c.tiedEmbeddings ? 1 : 2) + double(c.numLayers) * (attention + mlp + 4 * D);
    if (c.modelType == "gpt2") n += double(c.maxPositions) * D;
    return 4 * n >= 9.2e18 ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(4 * n);
}

namespace {

// Model::load and describeModel: the folder's config and weights (on the meta device, shapes
// only, when headerOnly), their dtypes and parameter count.
void readModelFolder(const fs::path& dir, bool headerOnly, ModelDescription& description, ModelWeights& weights) {
    if (!fs::exists(dir)) throw Error(dir, "model folder does not exist");
    if (!fs::is_directory(dir)) throw Error(dir, "is not a folder (a model is a folder with config.json and model.safetensors)");
    description.directory = dir;
    description.config = parseModelConfig(dir / "config.json");
    const ModelConfig& c = description.config;

    Checkpoint ckpt(dir);
    ckpt.headerOnly = headerOnly;
    // Every weight becomes float32: a checkpoint too large for this machine gets a message
    // before the loading starts, not an out-of-memory kill halfway.
    const int64_t needed = float32WeightBytes(c), available = availableMemoryBytes();
    if (!headerOnly && available >= 0 && needed > available)
        throw Error(dir, "the weights need about " + formatBytes(needed) +
                             " as float32 (LayerScope computes in float32), but only " + formatBytes(available) +
                             " of memory is available");
    std::set<std::string> used;
    try {
        // Normal tensors, not inference tensors: autograd through the model (attribution
        // patching) must be able to save them; they never require grad themselves.
        torch::NoGradGuard guard;
        if (c.modelType == "gpt2")
            loadGpt2(ckpt, c, weights, used);
        else
            loadLlama(ckpt, c, weights, used);
        fuseQkv(weights);
    } catch (const c10::Error& e) {
        throw Error(dir, std::string("failed to read weights: ") + e.what_without_backtrace());
    }
    std::string dtypes;
    for (const auto& d : ckpt.dtypesUsed(used)) dtypes += (dtypes.empty() ? "" : "+") + d;
    description.weightDtype = dtypes;
    description.parameterCount = countParameters(weights);
}

}  // namespace

ModelDescription describeModel(const std::filesystem::path& dir) {
    ModelDescription description;
    ModelWeights shapes;  // meta tensors, dropped here
    readModelFolder(dir, /*headerOnly=*/true, description, shapes);
    return description;
}

Model Model::load(const std::filesystem::path& dir) {
    auto impl = std::make_shared<Impl>();
    ModelDescription description;
    readModelFolder(dir, /*headerOnly=*/false, description, impl->weights);
    impl->directory = description.directory;
    impl->config = description.config;
    impl->weightDtype = description.weightDtype;
    impl->parameterCount = description.parameterCount;
    return Model(std::move(impl));
}

const ModelConfig& Model::config() const { return impl_->config; }
const std::filesystem::path& Model::directory() const { return impl_->directory; }
int64_t Model::parameterCount() const { return impl_->parameterCount; }
std::string Model::weightDtype() const { return impl_->weightDtype; }
std::string Model::architectureName() const { return ModelDescription{impl_->directory, impl_->config}.architectureName(); }

void checkTokenIds(const ModelConfig& c, const int32_t* ids, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
        if (ids[i] < 0 || ids[i] >= c.vocabSize)
            throw Error("token id " + std::to_string(ids[i]) + " at index " + std::to_string(i) +
                        " is outside the model's vocabulary (0.." + std::to_string(c.vocabSize - 1) + ")");
}

namespace {

// Checks one sequence for Model::logits / Model::capture and makes it a (1, T) int64 tensor.
torch::Tensor singleSequence(const ModelConfig& c, const std::vector<int32_t>& ids, const char* what) {
    if (ids.empty()) throw Error(std::string(what) + ": no tokens given");
    if (static_cast<int64_t>(ids.size()) > c.maxPositions)
        throw Error(std::string(what) + ": " + std::to_string(ids.size()) + " tokens exceed the model's context of " +
                    std::to_string(c.maxPositions));
    checkTokenIds(c, ids.data(), static_cast<int64_t>(ids.size()));
    return torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()), torch::kInt64).unsqueeze(0);
}

std::vector<float> toVector(const torch::Tensor& t) {
    const torch::Tensor c = t.contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

}  // namespace

std::vector<float> Model::logits(const std::vector<int32_t>& ids) const {
    torch::InferenceMode guard;
    const torch::Tensor input = singleSequence(impl_->config, ids, "logits");
    return toVector(impl_->forward(input).squeeze(0));  // (T, V)
}

Model::Captures Model::capture(const std::vector<int32_t>& ids) const {
    torch::InferenceMode guard;
    const torch::Tensor input = singleSequence(impl_->config, ids, "capture");
    Captures out;
    ForwardOptions options;
    options.computeLogits = false;
    options.observeResidual = [&](int, const torch::Tensor& h) { out.residuals.push_back(toVector(h.squeeze(0))); };
    options.editHeadOutputs = [&](int, torch::Tensor& heads) { out.headOutputs.push_back(toVector(heads.squeeze(0))); };
    impl_->forward(input, options);
    return out;
}

int setComputeThreads(int threads) {
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    torch::set_num_threads(threads);
    return torch::get_num_threads();
}

std::vector<std::pair<std::string, std::string>> modelSummary(const Model& model) {
    return modelSummary(ModelDescription{model.directory(), model.config(), model.parameterCount(), model.weightDtype()});
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
        {"Weights", model.weightDtype + " (computed in float32)"},
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
