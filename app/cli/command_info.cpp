// layerscope-cli info: what a model folder holds (read here, without LibTorch); --system: what
// this machine computes with (compute_system_info.cpp).
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "model/model_folder.h"

namespace cli {

namespace {

int modelInfo(const Args& args) {
    // The headers only: no weight is read, so any size answers at once.
    const ls::ModelDescription model = ls::describeModel(args.require("model"));
    const ls::ModelConfig& c = model.config;
    if (!args.flag("json")) {
        for (const auto& [key, value] : ls::modelSummary(model)) std::printf("%-16s %s\n", key.c_str(), value.c_str());
        return 0;
    }
    nlohmann::json j = {{"model", model.directory.string()},
                        {"model_type", c.modelType},
                        {"architecture", model.architectureName()},
                        {"layers", c.numLayers},
                        {"heads", c.numHeads},
                        {"kv_heads", c.numKvHeads},
                        {"dim", c.hiddenSize},
                        {"head_dim", c.headDim},
                        {"ffn_dim", c.intermediateSize},
                        {"vocab_size", c.vocabSize},
                        {"context", c.maxPositions},
                        {"parameters", model.parameterCount},
                        {"dtype", model.weightDtype},
                        {"tied_embeddings", c.tiedEmbeddings},
                        {"activation", c.activation}};
    if (c.modelType == "llama") {
        j["rope_theta"] = c.ropeTheta;
        j["rope_scaling"] = c.ropeScalingType.empty() ? nlohmann::json(nullptr) : nlohmann::json(c.ropeScalingType);
    }
    std::cout << j.dump(2) << "\n";
    return 0;
}

}  // namespace

Command infoCommand() {
    return {{"info",
             "",
             "--model DIR [--json] | --system [--json]",
             "a model folder's architecture and sizes; or this machine's LibTorch, BLAS and CPU",
             "Reads config.json and the safetensors headers of a Hugging Face model folder (checking every tensor's "
             "name, shape and dtype, reading no weight) and prints its architecture, sizes and parameter count. With --system instead: LibTorch's version, the "
             "BLAS library actually loaded (OpenBLAS, or the reference BLAS that is about 50x slower: then a "
             "warning), thread counts and the CPU features the fast paths use (AVX2, AVX-512, VNNI, bf16, AMX).",
             {{"options",
               {{"model", "DIR", "The model folder (required without --system)."},
                {"system", "", "Describe this machine and the libraries loaded instead of a model."},
                {"json", "", "Print one JSON object instead of a table."}}}}},
            modelInfo,
            [](const Args& args) { return args.flag("system"); }};
}

}  // namespace cli
