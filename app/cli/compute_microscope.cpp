// layerscope-cli prompt and patch, in the compute module: one prompt's attention patterns and
// direct logit attribution; activation patching over prompt pairs.
#include <cstdio>
#include <optional>
#include <sstream>

#include "analysis/layer_run.h"
#include "analysis/patching.h"
#include "analysis/prompt.h"
#include "common/error.h"
#include "common/phase_times.h"
#include "compute_commands.h"
#include "inputs.h"
#include "io/run_file.h"
#include "progress_printer.h"
#include "run_report.h"
#include "tokenizer/tokenizer.h"

namespace cli {

namespace {

void refuseQuietWithoutOutput(const Args& args) {
    if (!args.get("out") && !args.get("csv") && !args.flag("json") && args.flag("quiet"))
        throw ls::Error("--quiet without --out or --csv would throw the results away");
}

// --text, --ids, --prompts [--index] or --data [--window]: exactly one.
ls::Prompt promptFrom(const Args& args, const ls::Tokenizer* tok, const ls::ModelConfig& config, const std::filesystem::path& modelDir) {
    const int given = args.flag("text") + args.flag("ids") + args.flag("prompts") + args.flag("data");
    if (given != 1) throw ls::Error("give the prompt once: --text TEXT, --ids N,N,..., --prompts FILE or --data PATH");
    if (args.flag("index") && !args.flag("prompts")) throw ls::Error("--index chooses among --prompts FILE's prompts");
    if (args.flag("window") && !args.flag("data")) throw ls::Error("--window chooses among --data PATH's windows");
    const int32_t vocabSize = config.vocabSize;
    if (const auto data = args.get("data")) {
        const ls::Dataset dataset = ls::loadDataset(*data, tok, vocabSize, datasetOptionsFrom(args, *data));
        return ls::windowPrompt(dataset, windowParamsFrom(args, config, modelDir), args.integer("window", 0, 0));
    }
    if (const auto text = args.get("text")) {
        if (!tok) throw ls::Error("--text needs the model's tokenizer, and the model folder has none: give --ids");
        ls::Prompt p{*text, tok->encode(*text)};
        if (p.ids.empty()) throw ls::Error("--text has no tokens");
        return p;
    }
    if (const auto ids = args.get("ids")) {
        ls::Prompt p;
        std::istringstream in(*ids);
        std::string item;
        while (std::getline(in, item, ',')) {
            if (item.empty() || item.size() > 10 || item.find_first_not_of("0123456789") != std::string::npos)
                throw ls::Error("--ids: '" + item + "' is not a token id (write ids separated by commas)");
            p.ids.push_back(static_cast<int32_t>(std::stoll(item)));
        }
        return p;
    }
    const std::vector<ls::Prompt> prompts = ls::loadPrompts(*args.get("prompts"), tok, vocabSize);
    const int64_t index = args.integer("index", 1, 1);
    if (index > static_cast<int64_t>(prompts.size()))
        throw ls::Error(*args.get("prompts"), "holds " + std::to_string(prompts.size()) + " prompts; --index " + std::to_string(index) +
                                                  " is past them");
    return prompts[static_cast<size_t>(index - 1)];
}

// --token TEXT (one token) or --token-id N; -1 when neither.
int32_t tokenFrom(const Args& args, const ls::Tokenizer* tok) {
    if (args.flag("token") && args.flag("token-id")) throw ls::Error("--token and --token-id exclude each other: choose one");
    if (const auto text = args.get("token")) {
        if (!tok) throw ls::Error("--token needs the model's tokenizer, and the model folder has none: give --token-id");
        const std::vector<int32_t> ids = tok->encode(*text);
        if (ids.size() != 1)
            throw ls::Error("--token '" + *text + "' is " + std::to_string(ids.size()) + " tokens, not one: give --token-id");
        return ids.front();
    }
    return args.flag("token-id") ? static_cast<int32_t>(args.integer("token-id", 0, 0)) : -1;
}

}  // namespace

int computePrompt(const Args& args) {
    const double startup = ls::secondsSinceProcessStart();
    const ls::Stopwatch loading;
    const std::filesystem::path modelDir = args.require("model");
    refuseQuietWithoutOutput(args);
    ls::setComputeThreads(static_cast<int>(args.integer("threads", 0, 0)));
    const ls::Model model = ls::Model::load(modelDir, modelLoadOptions(args));
    const std::optional<ls::Tokenizer> tokenizer = tokenizerIfAny(modelDir);
    const ls::Tokenizer* tok = tokenizer ? &*tokenizer : nullptr;
    const ls::Prompt prompt = promptFrom(args, tok, model.config(), modelDir);
    ls::PromptParams p;
    p.position = static_cast<int>(args.integer("position", -1, 0));
    p.token = tokenFrom(args, tok);
    p.top = static_cast<int>(args.integer("top", p.top, 1));
    const double load = loading.seconds();

    const ls::Stopwatch computing;
    ls::RunInfo info = ls::runInfoFor(model, args.get("prompts").value_or(""), "prompt");
    ls::PromptResult result = ls::runPrompt(model, tok, prompt, p);
    info.times.startup = startup;
    info.times.load = load;
    info.times.capture = computing.seconds();
    ls::LayerRun run = ls::promptRun(model, std::move(info), p, std::move(result));
    return finishOwnCommandRun(run, args, "");
}

int computePatch(const Args& args) {
    const double startup = ls::secondsSinceProcessStart();
    const ls::Stopwatch loading;
    const std::filesystem::path modelDir = args.require("model"), pairsPath = args.require("pairs");
    refuseQuietWithoutOutput(args);
    ls::setComputeThreads(static_cast<int>(args.integer("threads", 0, 0)));
    const ls::Model model = ls::Model::load(modelDir, modelLoadOptions(args));
    const std::optional<ls::Tokenizer> tokenizer = tokenizerIfAny(modelDir);
    const ls::Tokenizer* tok = tokenizer ? &*tokenizer : nullptr;
    const std::vector<ls::PromptPair> pairs = ls::loadPromptPairs(pairsPath, tok, model.config().vocabSize);
    const ls::PatchParams p = args.get("what") ? ls::parsePatchSites(*args.get("what")) : ls::PatchParams{};
    const double load = loading.seconds();

    ls::Progress& progress = interruptibleProgress();
    const ls::Stopwatch computing;
    ls::RunInfo info = ls::runInfoFor(model, pairsPath, "prompt pairs");
    ProgressPrinter printer(progress, static_cast<int64_t>(pairs.size() * pairs.front().clean.size()) * 2,
                            !args.flag("json") && !args.flag("quiet"));
    ls::PatchResult result = ls::runPatching(model, tok, pairs, p, progress);
    if (result.complete) printer.finish();
    printer.stop();
    info.times.startup = startup;
    info.times.load = load;
    info.times.capture = computing.seconds();
    ls::LayerRun run = ls::patchRun(model, std::move(info), p, std::move(result));
    return finishOwnCommandRun(run, args, "the pairs finished were kept and averaged, marked partial");
}

}  // namespace cli
