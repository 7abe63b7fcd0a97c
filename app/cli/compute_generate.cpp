// layerscope-cli generate, in the compute module: continuations under conditions, with
// progress, tables, CSVs, JSONL and an HDF5 run file.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>

#include "analysis/ablation.h"
#include "analysis/generation.h"
#include "analysis/layer_run.h"
#include "common/error.h"
#include "common/file_io.h"
#include "common/phase_times.h"
#include "compute_commands.h"
#include "inputs.h"
#include "io/run_file.h"
#include "progress_printer.h"
#include "run_report.h"

namespace cli {

namespace {

ls::SamplingParams samplingFrom(const Args& args) {
    ls::SamplingParams s;
    const bool sampled = args.flag("temperature");
    if (sampled && args.flag("greedy")) throw ls::Error("--greedy and --temperature exclude each other: choose one");
    for (const char* option : {"top-k", "top-p"})
        if (!sampled && args.flag(option)) throw ls::Error(std::string("--") + option + " needs --temperature (sampling)");
    s.greedy = !sampled;
    s.temperature = args.real("temperature", 1.0);
    s.topK = static_cast<int>(args.integer("top-k", 0, 0));
    s.topP = args.real("top-p", 1.0);
    s.seed = static_cast<uint64_t>(args.integer("seed", 0, 0));
    return s;
}

// The linearisation order of a run with the linearize analysis: least damage first.
std::vector<ls::HeadId> linearisationOrder(const std::filesystem::path& path) {
    const ls::LayerRun run = ls::readRunFile(path);
    const auto lin = run.result<ls::LinearizeResult>("linearize");
    if (!lin || lin->heads.empty())
        throw ls::Error(path, "has no linearisation order: give a run of the linearize analysis (layerscope-cli run linearize)");
    return ls::linearisationOrder(*lin);
}

// The heads' mean outputs (L * H * hd) kept by an ablation run.
std::vector<float> meansFromRun(const std::filesystem::path& path, const ls::ModelConfig& c) {
    const ls::LayerRun run = ls::readRunFile(path);
    const auto ablation = run.result<ls::AblationResult>("ablation");
    if (!ablation) throw ls::Error(path, "has no ablation results: give a run of the ablation analysis (layerscope-cli run ablation)");
    if (ablation->headMeans.empty())
        throw ls::Error(path, "was written before ablation runs kept the heads' mean outputs: run the ablation again, or give --data");
    if (ablation->headMeans.size() != static_cast<size_t>(c.numLayers) * c.numHeads * c.headDim)
        throw ls::Error(path, "holds mean outputs for another model shape (" + std::to_string(ablation->numLayers) + " layers, " +
                                  std::to_string(ablation->numHeads) + " heads)");
    return ablation->headMeans;
}

void writeJsonl(const std::filesystem::path& path, const ls::GenerationResult& r, bool withText) {
    std::string lines;
    for (const ls::Continuation& c : r.continuations) {
        nlohmann::ordered_json j = {{"condition", r.conditions[static_cast<size_t>(c.condition)].name},
                            {"prompt", c.prompt},
                            {"sample", c.sample},
                            {"iteration", c.iteration},
                            {"ids", c.ids}};
        if (withText) j["text"] = c.text;
        lines += j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
    }
    ls::writeFileAtomically(path, lines);
}

}  // namespace

int computeGenerate(const Args& args) {
    const double startup = ls::secondsSinceProcessStart();
    const ls::Stopwatch loading;
    const std::filesystem::path modelDir = args.require("model"), promptsPath = args.require("prompts");
    const std::optional<std::string> out = args.get("out");
    if (!out && !args.get("csv") && !args.get("jsonl") && !args.flag("json") && args.flag("quiet"))
        throw ls::Error("--quiet without --out, --csv or --jsonl would throw the results away");
    ls::setComputeThreads(static_cast<int>(args.integer("threads", 0, 0)));
    const ls::Model model = ls::Model::load(modelDir, modelLoadOptions(args));
    const ls::ModelConfig& c = model.config();
    const std::optional<ls::Tokenizer> tokenizer = tokenizerIfAny(modelDir);
    const ls::Tokenizer* tok = tokenizer ? &*tokenizer : nullptr;
    const std::vector<ls::Prompt> prompts = ls::loadPrompts(promptsPath, tok, c.vocabSize);

    ls::GenerationParams p;
    if (const auto specs = args.all("condition"); !specs.empty()) p.conditions = specs;
    p.maxNewTokens = static_cast<int>(args.integer("max-new-tokens", p.maxNewTokens, 1));
    p.sampling = samplingFrom(args);
    if (const auto bestOf = args.get("best-of")) p.bestOf = ls::parseBestOf(*bestOf);
    p.refine = static_cast<int>(args.integer("refine", p.refine, 1));
    if (const auto n = args.get("normalize")) p.normalize = ls::parseReluNormalize(*n);
    if (const auto separator = args.get("separator")) p.separator = *separator;
    p.useCache = !args.flag("no-cache");
    const std::vector<ls::HeadId> order = args.get("order") ? linearisationOrder(*args.get("order")) : std::vector<ls::HeadId>{};
    const std::vector<ls::GenerationCondition> conditions = ls::parseConditions(p.conditions, c, order);
    const bool meanAblation = ls::needsHeadMeans(conditions);

    // The heads' mean outputs for mean-ablate: kept by an ablation run, or computed on --data
    // (read now; computed with the generation, which it counts with: it runs the model).
    std::vector<float> headMeans;
    std::optional<ls::Dataset> meansData;
    if (meanAblation && args.get("means")) {
        headMeans = meansFromRun(*args.get("means"), c);
    } else if (meanAblation && args.get("data")) {
        const std::filesystem::path dataPath = *args.get("data");
        meansData = ls::loadDataset(dataPath, tok, c.vocabSize, datasetOptionsFrom(args, dataPath));
    }
    const double load = loading.seconds();

    ls::Progress& progress = interruptibleProgress();
    const ls::Stopwatch generating;
    if (meansData) headMeans = ls::meanHeadOutputs(model, *meansData, windowParamsFrom(args, c, modelDir), progress);

    ls::RunInfo info = ls::runInfoFor(model, promptsPath, "prompts");
    const int64_t newTokens = static_cast<int64_t>(conditions.size() * prompts.size()) * p.samples() * p.refine * p.maxNewTokens;
    ProgressPrinter printer(progress, newTokens, !args.flag("json") && !args.flag("quiet"));
    ls::GenerationResult result = ls::runGeneration(model, tok, prompts, conditions, p, headMeans, progress);
    if (result.complete) printer.finish();
    printer.stop();
    info.times.startup = startup;
    info.times.load = load;
    info.times.capture = generating.seconds();
    ls::LayerRun run = ls::generationRun(model, std::move(info), p, std::move(result));

    return finishOwnCommandRun(run, args, "the finished continuations were kept, marked partial", [&](const ls::LayerRun& done) {
        if (const auto jsonl = args.get("jsonl")) writeJsonl(*jsonl, *done.result<ls::GenerationResult>("generate"), tok != nullptr);
    });
}

}  // namespace cli
