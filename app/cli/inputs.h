#pragma once
// What the computing commands share: the model, its tokenizer (when the data needs one), the
// dataset and the window options, all read and checked before any work starts; and Ctrl-C.
#include <filesystem>
#include <optional>

#include "common/progress.h"
#include "data/dataset.h"
#include "data/windows.h"
#include "model/model.h"
#include "options.h"
#include "tokenizer/tokenizer.h"

namespace cli {

struct Inputs {
    std::filesystem::path modelDir, dataPath;
    std::optional<ls::Model> model;
    std::optional<ls::Tokenizer> tokenizer;
    ls::DatasetOptions dataOptions;
    ls::Dataset data;
    ls::WindowParams windows;
};

// The window options (--seq-len, --stride, --max-tokens, --max-windows, --documents; absent ones
// take their defaults), checked against the model's context. Throws ls::Error naming the option.
ls::WindowParams windowParamsFrom(const Args& args, const ls::ModelConfig& config, const std::filesystem::path& modelDir);

// --model, --data, the window options (windowOptions()) and the dataset options.
Inputs loadInputs(const Args& args);

// --format, --prompt-template, --prompt-template-no-input, --num-samples; the format is
// resolved here, so callers know whether a tokenizer is needed.
ls::DatasetOptions datasetOptionsFrom(const Args& args, const std::filesystem::path& dataPath);

// The command's progress, which SIGINT and SIGTERM cancel (the computation stops at its next
// check). One per process: it lives until the process ends.
ls::Progress& interruptibleProgress();
// The model folder's tokenizer, or none when it has none (token-id prompts need none; text
// prompts then say so).
std::optional<ls::Tokenizer> tokenizerIfAny(const std::filesystem::path& modelDir);

// --weights-dtype as Model::load's options (throws ls::ParamError for a bad value).
ls::Model::LoadOptions modelLoadOptions(const Args& args);

}  // namespace cli
