#include "inputs.h"

#include <algorithm>
#include <csignal>

#include "common/error.h"

namespace cli {

namespace {

ls::Progress* g_progress = nullptr;  // set once, before the handlers; never freed
void onInterrupt(int) { g_progress->cancel(); }

// --documents respect|pack (default pack: windows run across document boundaries).
bool documentsRespected(const Args& args) {
    const std::string v = args.get("documents").value_or("pack");
    if (v != "respect" && v != "pack") throw ls::Error("--documents must be 'respect' or 'pack', got '" + v + "'");
    return v == "respect";
}

}  // namespace

ls::Progress& interruptibleProgress() {
    // Never destroyed: a Ctrl-C that lands after the command returned, while the process
    // exits, must still find a live object (a stack Progress there was a use after scope).
    static ls::Progress* const progress = [] {
        g_progress = new ls::Progress;
        std::signal(SIGINT, onInterrupt);
        std::signal(SIGTERM, onInterrupt);
        return g_progress;
    }();
    return *progress;
}

ls::DatasetOptions datasetOptionsFrom(const Args& args, const std::filesystem::path& dataPath) {
    ls::DatasetOptions o;
    o.format = ls::parseDataFormat(args.get("format").value_or("auto"));
    if (o.format == ls::DataFormat::Auto) o.format = ls::detectFormat(dataPath);
    if (auto t = args.get("prompt-template")) o.promptTemplate = *t;
    if (auto t = args.get("prompt-template-no-input")) o.promptTemplateNoInput = *t;
    o.maxDocuments = args.integer("num-samples", 0, 0);
    return o;
}

ls::WindowParams windowParamsFrom(const Args& args, const ls::ModelConfig& c, const std::filesystem::path& modelDir) {
    ls::WindowParams w;
    w.seqLen = static_cast<int>(args.integer("seq-len", std::min(1024, c.maxPositions), 2));
    w.stride = static_cast<int>(args.integer("stride", w.seqLen, 1));
    w.maxTokens = args.integer("max-tokens", 0, 2);
    w.maxWindows = args.integer("max-windows", 0, 0);
    w.respectDocuments = documentsRespected(args);
    if (w.seqLen > c.maxPositions)
        throw ls::Error("--seq-len " + std::to_string(w.seqLen) + " exceeds the context of " + modelDir.string() + " (" +
                        std::to_string(c.maxPositions) + " tokens)");
    if (w.stride > w.seqLen)
        throw ls::Error("--stride " + std::to_string(w.stride) + " is larger than --seq-len " + std::to_string(w.seqLen));
    return w;
}

ls::Model::LoadOptions modelLoadOptions(const Args& args) {
    ls::Model::LoadOptions options;
    if (const auto dtype = args.get("weights-dtype")) options.weights = ls::parseWeightsDtype(*dtype);
    return options;
}

Inputs loadInputs(const Args& args) {
    Inputs in;
    in.modelDir = args.require("model");
    in.dataPath = args.require("data");
    in.model.emplace(ls::Model::load(in.modelDir, modelLoadOptions(args)));
    const ls::ModelConfig& c = in.model->config();
    in.windows = windowParamsFrom(args, c, in.modelDir);
    ls::setComputeThreads(static_cast<int>(args.integer("threads", 0, 0)));

    in.dataOptions = datasetOptionsFrom(args, in.dataPath);
    // The inspector shows token texts whenever the folder has a tokenizer.
    try {
        in.tokenizer = ls::Tokenizer::fromModelDir(in.modelDir);
    } catch (const ls::Error& e) {
        if (ls::formatNeedsTokenizer(in.dataOptions.format))
            throw ls::Error(in.dataPath, std::string(ls::dataFormatName(in.dataOptions.format)) +
                                             " data needs the model's tokenizer, which could not be loaded: " + e.what());
    }
    in.data = ls::loadDataset(in.dataPath, in.tokenizer ? &*in.tokenizer : nullptr, c.vocabSize, in.dataOptions);
    return in;
}

std::optional<ls::Tokenizer> tokenizerIfAny(const std::filesystem::path& modelDir) {
    try {
        return ls::Tokenizer::fromModelDir(modelDir);
    } catch (const ls::Error&) {
        return std::nullopt;
    }
}

}  // namespace cli
