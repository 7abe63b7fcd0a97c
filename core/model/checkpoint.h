#pragma once
// A model folder's weights as the safetensors files describe them (plain C++, no LibTorch):
// every tensor by name, over one file or the shards an index names, and the tensors a model
// of a given config reads from them (names and shapes), checked with one set of messages.
// Model::load (model.cpp) and describeModel (model_folder.cpp) share it, so `info` refuses
// what loading refuses without reading a weight.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "model/model_folder.h"
#include "model/safetensors.h"

namespace ls {

class Checkpoint {
public:
    // Opens model.safetensors, or the shards model.safetensors.index.json names (headers only:
    // the files are mapped, no weight is read). Throws ls::Error(file, problem).
    explicit Checkpoint(const std::filesystem::path& dir);

    bool has(const std::string& name) const { return byName_.count(name) != 0; }
    // The tensor, checked: present, of this shape, of a float dtype LayerScope reads.
    const StTensor& checked(const std::string& name, const std::vector<int64_t>& shape) const;
    std::filesystem::path fileFor(const std::string& name) const;  // the shard holding it
    void prefetch() const;  // every file read ahead (SafetensorsFile::prefetch)

private:
    void addFile(const std::filesystem::path& file);
    void readIndex(const std::filesystem::path& dir, const std::filesystem::path& index);

    std::vector<std::unique_ptr<SafetensorsFile>> files_;
    std::map<std::string, std::pair<const StTensor*, const SafetensorsFile*>> byName_;
};

// One tensor a model reads from its checkpoint: its name in the files and its shape there
// (GPT-2's Conv1D weights as stored, (in, out)).
struct ExpectedTensor {
    std::string name;
    std::vector<int64_t> shape;
};

// Every tensor a model of this config reads, in loading order: a tied head is not listed (it
// is the embedding), an untied one is. GPT-2 names carry the checkpoint's prefix
// ("transformer." from GPT2LMHeadModel.save_pretrained, none in the published files).
// Throws ls::Error when an untied Llama head is missing.
std::vector<ExpectedTensor> expectedTensors(const ModelConfig& config, const Checkpoint& checkpoint);

// Checks every expected tensor (name, shape, dtype) and fills description's parameter count
// and weight dtypes from them.
void describeCheckpoint(const Checkpoint& checkpoint, ModelDescription& description);

}  // namespace ls
