// layerscope-cli run, in the compute module: layer analyses in one capture pass (and the head
// scans), with progress, tables, CSVs and an HDF5 run file.
#include <cstdio>
#include <optional>

#include "analysis/layer_run.h"
#include "analysis/plan.h"
#include "analysis/registry.h"
#include "common/error.h"
#include "compute_commands.h"
#include "inputs.h"
#include "io/run_file.h"
#include "progress_printer.h"
#include "run_report.h"

namespace cli {

int computeRun(const Args& args) {
    if (args.positional.empty())
        throw ls::Error("run needs the analyses to run, e.g. 'layerscope-cli run cossim,saturation --model ...'");
    ls::LayerRunParams params;
    params.analyses = ls::parseAnalysisList(args.positional);
    // The analyses' parameters, parsed by their specs in the registry before anything loads.
    ls::ParamValues values;
    for (const auto& [key, text] : args.values)
        if (const ls::ParamSpec* spec = ls::findParam(key)) values.set(key, ls::parseParam(*spec, text));
    const std::optional<std::string> out = args.get("out");
    if (!out && !args.get("csv") && !args.flag("json") && args.flag("quiet") && !args.flag("plan"))
        throw ls::Error("--quiet without --out or --csv would throw the results away");

    const double startup = ls::secondsSinceProcessStart();  // the phases core does not see
    const ls::Stopwatch loading;
    Inputs in = loadInputs(args);
    const double load = loading.seconds();
    params.windows = in.windows;
    if (const auto shard = args.get("shard")) params.windows.shard = ls::parseShard(*shard);
    params.dataset = in.dataOptions;
    ls::applyParams(values, in.model->config(), params);
    ls::resolveLayerRunParams(params, in.model->config());  // bad options fail before any work
    if (args.flag("plan")) {
        std::fprintf(stderr, "plan: running the analyses on the first window batches to time them...\n");
        const ls::RunPlan plan = ls::planLayerRun(*in.model, in.data, params, params.windows.shard.count,
                                                  interruptibleProgress());
        std::printf("%s\n", (args.flag("json") ? ls::planJson(plan) : ls::planText(plan)).c_str());
        return 0;
    }
    const auto all = ls::makeWindows(static_cast<int64_t>(in.data.tokens.size()), in.data.documentStarts, in.windows);
    const auto [first, end] = ls::shardWindowRange(all, params.windows.shard);  // every window when unsharded
    const std::vector<ls::Window> windows(all.begin() + static_cast<std::ptrdiff_t>(first),
                                          all.begin() + static_cast<std::ptrdiff_t>(end));
    const ls::WindowSummary summary = ls::summarizeWindows(windows, in.data.documentStarts);

    ls::Progress& progress = interruptibleProgress();
    ProgressPrinter printer(progress, summary.scoredTokens, !args.flag("json"));
    ls::LayerRun run =
        ls::runLayerAnalyses(*in.model, in.data, in.tokenizer ? &*in.tokenizer : nullptr, params, progress);
    if (run.info.complete && !progress.isCanceled()) printer.finish();
    printer.stop();
    // Ctrl-C: a head-ablation scan keeps the windows it finished, marked partial; anything
    // else writes nothing.
    if (progress.isCanceled() && run.info.complete) throw ls::Canceled();
    run.info.times.startup = startup;
    run.info.times.load = load;
    const ls::Stopwatch writing;
    if (out) ls::writeRunFile(*out, run);
    run.info.times.writing = writing.seconds();
    reportRun(run, args, /*computedHere=*/true);
    if (!run.info.complete) {
        std::fprintf(stderr, "\ninterrupted: the scan's finished windows were kept, marked partial\n");
        return 130;
    }
    if (out && !args.flag("json")) std::printf("run file: %s\n", out->c_str());
    return 0;
}

}  // namespace cli
