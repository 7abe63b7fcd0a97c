// The tensors of a model folder's safetensors files, and the ones a model reads (checkpoint.h).
#include "model/checkpoint.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "common/error.h"

namespace ls {

namespace fs = std::filesystem;

Checkpoint::Checkpoint(const fs::path& dir) {
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

fs::path Checkpoint::fileFor(const std::string& name) const {
    auto it = byName_.find(name);
    return it == byName_.end() ? files_.front()->path() : it->second.second->path();
}

namespace {
std::string shapeString(const std::vector<int64_t>& s) {
    std::string out = "[";
    for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + "]";
}
}  // namespace

const StTensor& Checkpoint::checked(const std::string& name, const std::vector<int64_t>& shape) const {
    auto it = byName_.find(name);
    if (it == byName_.end()) throw Error(fileFor(name), "required tensor '" + name + "' is missing");
    const StTensor& t = *it->second.first;
    if (t.shape != shape)
        throw Error(fileFor(name), "tensor '" + name + "' has shape " + shapeString(t.shape) + ", expected " + shapeString(shape));
    if (t.dtype != StDtype::F32 && t.dtype != StDtype::F16 && t.dtype != StDtype::BF16 && t.dtype != StDtype::F64)
        throw Error(fileFor(name), "tensor '" + name + "' has dtype " + t.dtypeName + "; supported: F32, F16, BF16, F64");
    return t;
}

void Checkpoint::prefetch() const {
    for (const auto& f : files_) f->prefetch();
}

void Checkpoint::addFile(const fs::path& file) {
    files_.push_back(std::make_unique<SafetensorsFile>(file));
    const SafetensorsFile* f = files_.back().get();
    for (const auto& [name, t] : f->tensors()) byName_[name] = {&t, f};
}

void Checkpoint::readIndex(const fs::path& dir, const fs::path& index) {
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

std::vector<ExpectedTensor> expectedTensors(const ModelConfig& c, const Checkpoint& ckpt) {
    const int64_t D = c.hiddenSize, F = c.intermediateSize, V = c.vocabSize;
    std::vector<ExpectedTensor> out;
    if (c.modelType == "gpt2") {
        const std::string p = ckpt.has("transformer.wte.weight") ? "transformer." : "";
        out.push_back({p + "wte.weight", {V, D}});
        out.push_back({p + "wpe.weight", {c.maxPositions, D}});
        for (int i = 0; i < c.numLayers; ++i) {
            const std::string b = p + "h." + std::to_string(i) + ".";
            for (const char* norm : {"ln_1.weight", "ln_1.bias", "ln_2.weight", "ln_2.bias"}) out.push_back({b + norm, {D}});
            out.push_back({b + "attn.c_attn.weight", {D, 3 * D}});  // Conv1D: (in, out)
            out.push_back({b + "attn.c_attn.bias", {3 * D}});
            out.push_back({b + "attn.c_proj.weight", {D, D}});
            out.push_back({b + "attn.c_proj.bias", {D}});
            out.push_back({b + "mlp.c_fc.weight", {D, F}});
            out.push_back({b + "mlp.c_fc.bias", {F}});
            out.push_back({b + "mlp.c_proj.weight", {F, D}});
            out.push_back({b + "mlp.c_proj.bias", {D}});
        }
        out.push_back({p + "ln_f.weight", {D}});
        out.push_back({p + "ln_f.bias", {D}});
        if (!c.tiedEmbeddings && ckpt.has("lm_head.weight")) out.push_back({"lm_head.weight", {V, D}});
        return out;
    }
    const int64_t qOut = int64_t(c.numHeads) * c.headDim, kvOut = int64_t(c.numKvHeads) * c.headDim;
    out.push_back({"model.embed_tokens.weight", {V, D}});
    for (int i = 0; i < c.numLayers; ++i) {
        const std::string b = "model.layers." + std::to_string(i) + ".";
        out.push_back({b + "input_layernorm.weight", {D}});
        out.push_back({b + "post_attention_layernorm.weight", {D}});
        auto linear = [&](const std::string& name, int64_t outDim, int64_t inDim, bool hasBias) {
            out.push_back({b + name + ".weight", {outDim, inDim}});
            if (hasBias) out.push_back({b + name + ".bias", {outDim}});
        };
        linear("self_attn.q_proj", qOut, D, c.attentionBias);
        linear("self_attn.k_proj", kvOut, D, c.attentionBias);
        linear("self_attn.v_proj", kvOut, D, c.attentionBias);
        linear("self_attn.o_proj", D, qOut, c.attentionBias);
        linear("mlp.gate_proj", F, D, c.mlpBias);
        linear("mlp.up_proj", F, D, c.mlpBias);
        linear("mlp.down_proj", D, F, c.mlpBias);
    }
    out.push_back({"model.norm.weight", {D}});
    if (!c.tiedEmbeddings) {
        if (!ckpt.has("lm_head.weight"))
            throw Error(ckpt.fileFor("model.norm.weight"),
                        "required tensor 'lm_head.weight' is missing (tie_word_embeddings is false)");
        out.push_back({"lm_head.weight", {V, D}});
    }
    return out;
}

void describeCheckpoint(const Checkpoint& checkpoint, ModelDescription& description) {
    std::set<std::string> dtypes;
    int64_t parameters = 0;
    for (const ExpectedTensor& e : expectedTensors(description.config, checkpoint)) {
        const StTensor& t = checkpoint.checked(e.name, e.shape);
        dtypes.insert(t.dtypeName);
        int64_t n = 1;
        for (int64_t d : e.shape) n *= d;
        parameters += n;
    }
    description.weightDtype.clear();
    for (const auto& d : dtypes) description.weightDtype += (description.weightDtype.empty() ? "" : "+") + d;
    description.parameterCount = parameters;
}

}  // namespace ls
