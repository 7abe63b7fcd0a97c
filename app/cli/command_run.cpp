// layerscope-cli run: layer analyses in one capture pass (and the head scans), with progress,
// tables, CSVs and an HDF5 run file.
#include <cstdio>
#include <optional>

#include "analysis/layer_run.h"
#include "analysis/registry.h"
#include "commands.h"
#include "common/error.h"
#include "inputs.h"
#include "io/run_file.h"
#include "progress_printer.h"
#include "run_report.h"

namespace cli {

namespace {

int run(const Args& args) {
    if (args.positional.empty())
        throw ls::Error("run needs the analyses to run, e.g. 'layerscope-cli run cossim,saturation --model ...'");
    ls::LayerRunParams params;
    params.analyses = ls::parseAnalysisList(args.positional);
    // The analyses' parameters, parsed by their specs in the registry before anything loads.
    ls::ParamValues values;
    for (const auto& [key, text] : args.values)
        if (const ls::ParamSpec* spec = ls::findParam(key)) values.set(key, ls::parseParam(*spec, text));
    const std::optional<std::string> out = args.get("out");
    if (!out && !args.get("csv") && !args.flag("json") && args.flag("quiet"))
        throw ls::Error("--quiet without --out or --csv would throw the results away");

    Inputs in = loadInputs(args);
    params.windows = in.windows;
    params.dataset = in.dataOptions;
    ls::applyParams(values, in.model->config(), params);
    ls::resolveLayerRunParams(params, in.model->config());  // bad options fail before any work
    const auto windows = ls::makeWindows(static_cast<int64_t>(in.data.tokens.size()), in.data.documentStarts, in.windows);
    const ls::WindowSummary summary = ls::summarizeWindows(windows, in.data.documentStarts);

    ls::Progress& progress = interruptibleProgress();
    ProgressPrinter printer(progress, summary.scoredTokens, !args.flag("json"));
    const ls::LayerRun run =
        ls::runLayerAnalyses(*in.model, in.data, in.tokenizer ? &*in.tokenizer : nullptr, params, progress);
    if (run.info.complete && !progress.isCanceled()) printer.finish();
    printer.stop();
    // Ctrl-C: a head-ablation scan keeps the windows it finished, marked partial; anything
    // else writes nothing.
    if (progress.isCanceled() && run.info.complete) throw ls::Canceled();
    if (out) ls::writeRunFile(*out, run);
    reportRun(run, args);
    if (!run.info.complete) {
        std::fprintf(stderr, "\ninterrupted: the scan's finished windows were kept, marked partial\n");
        return 130;
    }
    if (out && !args.flag("json")) std::printf("run file: %s\n", out->c_str());
    return 0;
}

std::string analysesHelp() {
    std::string text =
        "Runs the layer analyses named in ANALYSES (comma-separated) in one capture pass per window, which keeps "
        "only per-token scalars; ablation, linearize and context run their own passes. Prints their tables "
        "(progress, tokens/s and ETA on stderr); --out writes an HDF5 run file, --csv every table as CSV. Layers "
        "count blocks from 1 (layer 0 is the embeddings); attention heads count from 0. Ctrl-C writes nothing, "
        "except that a head-ablation scan keeps the windows it finished, marked partial.\n"
        "Analyses:";
    for (const ls::AnalysisSpec& a : ls::analysisRegistry()) text += "\n  " + a.name + ": " + a.description;
    return text;
}

// The registry's parameters as options: the shared ones, then each analysis's.
std::vector<OptionGroup> analysisOptions() {
    auto group = [](const std::string& title, const std::vector<ls::ParamSpec>& params) {
        OptionGroup g{title, {}};
        for (const ls::ParamSpec& p : params) g.options.push_back({p.key, p.valueName, p.help});
        return g;
    };
    std::vector<OptionGroup> groups{group("parameters of several analyses", ls::sharedParams().params)};
    for (const ls::AnalysisSpec& a : ls::analysisRegistry())
        if (!a.params.empty()) groups.push_back(group(a.name + " — " + a.title, a.params));
    return groups;
}

}  // namespace

Command runCommand() {
    OptionGroup output = reportOptions();
    output.options.insert(output.options.begin(), {"out", "RUN.h5", "Write an HDF5 run file (reopened by show and the GUI)."});
    output.options.push_back({"quiet", "", "Print no tables (with --out, --csv or --json)."});
    std::vector<OptionGroup> groups{windowOptions(), datasetOptions(), output};
    for (OptionGroup& g : analysisOptions()) groups.push_back(std::move(g));
    return {{"run",
             "ANALYSES",
             "ANALYSES --model DIR --data PATH [options]",
             "layer analyses in one capture pass: tables, CSVs and a run file",
             analysesHelp(),
             groups},
            run,
            /*computes=*/true};
}

}  // namespace cli
