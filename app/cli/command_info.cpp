// layerscope-cli info: what a model folder holds.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "model/model.h"

namespace cli {

namespace {

int info(const Args& args) {
    const ls::Model model = ls::Model::load(args.require("model"));
    const ls::ModelConfig& c = model.config();
    if (!args.flag("json")) {
        for (const auto& [key, value] : ls::modelSummary(model)) std::printf("%-16s %s\n", key.c_str(), value.c_str());
        return 0;
    }
    nlohmann::json j = {{"model", model.directory().string()},
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
                        {"parameters", model.parameterCount()},
                        {"dtype", model.weightDtype()},
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
             "--model DIR [--json]",
             "architecture, layers, heads, dims and parameter count of a model folder",
             "Reads config.json and the safetensors header (and checks the weights) of a Hugging Face model folder "
             "and prints its architecture, sizes and parameter count.",
             {{"options",
               {{"model", "DIR", "The model folder (required)."},
                {"json", "", "Print one JSON object instead of a table."}}}}},
            info};
}

}  // namespace cli
