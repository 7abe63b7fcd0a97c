// layerscope-cli run: layer analyses in one capture pass (and the head scans), with progress,
// tables, CSVs and an HDF5 run file.
#include <cstdio>
#include <optional>

#include "analysis/layer_run.h"
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
    params.layer = static_cast<int>(args.integer("layer", 0, 1));
    if (auto r = args.get("ranks")) params.ranks = parseIntList("ranks", *r);
    if (auto r = args.get("hard-ratios")) params.hardRatios = parseRealList("hard-ratios", *r);
    params.postAttentionLens = args.flag("post-attention");
    params.lensMethod = args.get("lens-method").value_or(params.lensMethod);
    params.inspectWindow = static_cast<int>(args.integer("inspect-window", 0, 0));
    params.topK = static_cast<int>(args.integer("top-k", 5, 1));
    params.bins = static_cast<int>(args.integer("bins", 60, 1));
    params.specialDrop = args.real("special-drop", 0.1);
    if (auto v = args.get("confidence-thresholds")) params.lossSep.confidenceThresholds = parseRealList("confidence-thresholds", *v);
    if (auto v = args.get("subset-confidences")) params.lossSep.subsetConfidences = parseRealList("subset-confidences", *v);
    params.lossSep.bins = params.bins;
    params.probes = !args.flag("no-probes");
    params.probeLayer = static_cast<int>(args.integer("probe-layer", -1, 0));
    params.probeSampleSize = args.integer("probe-sample", params.probeSampleSize, 1);
    params.probe.seed = static_cast<uint64_t>(args.integer("seed", 0, 0));
    if (auto v = args.get("metric-ranks")) params.metricRanks = parseIntList("metric-ranks", *v);
    params.exit.signal = args.get("signal").value_or(params.exit.signal);
    if (auto v = args.get("layers")) params.exit.layers = parseIntList("layers", *v);
    if (auto v = args.get("thresholds")) params.exit.thresholds = parseRealList("thresholds", *v);
    if (args.get("threshold")) params.exit.threshold = args.real("threshold", 0);
    if (auto v = args.get("layer-thresholds")) params.exit.layerThresholds = parseRealList("layer-thresholds", *v);
    params.subsetTokens = args.integer("subset-tokens", params.subsetTokens, 0);
    params.attribution = !args.flag("no-attribution");
    params.linearize.normalize = ls::parseReluNormalize(args.get("normalize").value_or("count"));
    params.linearize.steps = static_cast<int>(args.integer("steps", params.linearize.steps, 1));
    if (auto v = args.get("protect-layers")) params.linearize.protectLayers = parseIntList("protect-layers", *v);
    if (auto v = args.get("context-lengths")) params.linearize.contextLengths = parseIntList("context-lengths", *v);
    if (auto v = args.get("context-heads")) params.linearize.contextHeads = parseIntList("context-heads", *v);
    const std::optional<std::string> out = args.get("out");
    if (!out && !args.get("csv") && !args.flag("json") && args.flag("quiet"))
        throw ls::Error("--quiet without --out or --csv would throw the results away");

    Inputs in = loadInputs(args);
    params.windows = in.windows;
    params.dataset = in.dataOptions;
    if (auto v = args.get("heads"))
        params.heads = ls::parseHeadList(*v, in.model->config().numLayers, in.model->config().numHeads);
    ls::resolveLayerRunParams(params, in.model->config());  // bad options fail before any work
    const auto windows = ls::makeWindows(static_cast<int64_t>(in.data.tokens.size()), in.data.documentStarts, in.windows);
    const ls::WindowSummary summary = ls::summarizeWindows(windows, in.data.documentStarts);

    ls::Progress progress;
    cancelOnInterrupt(progress);
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
    for (const ls::AnalysisInfo& a : ls::layerAnalyses()) text += std::string("\n  ") + a.name + ": " + a.description;
    return text;
}

}  // namespace

Command runCommand() {
    OptionGroup output = reportOptions();
    output.options.insert(output.options.begin(), {"out", "RUN.h5", "Write an HDF5 run file (reopened by show and the GUI)."});
    output.options.push_back({"quiet", "", "Print no tables (with --out, --csv or --json)."});
    return {{"run",
             "ANALYSES",
             "ANALYSES --model DIR --data PATH [options]",
             "layer analyses in one capture pass: tables, CSVs and a run file",
             analysesHelp(),
             {windowOptions(),
              datasetOptions(),
              output,
              {"layer analyses (cossim, saturation, lowrank, inspect)",
               {{"layer", "L", "The chosen layer 1..L for exit thresholds and low-rank agreement (default L-1)."},
                {"ranks", "8,16,32", "Ranks of the low-rank head (default 8, 16, ... below the dim, and the dim)."},
                {"hard-ratios", "0.3,0.5,0.7", "Hard-token ratios for the cos-sim exit thresholds, each in (0, 1)."},
                {"post-attention", "", "saturation: also the lens after each attention, before the MLP."},
                {"lens-method", "auto|full|int8|lowrank:R",
                 "How the lens top-1 is computed: auto (default) times the certified exact methods and keeps the "
                 "fastest; full is the float32 projection; int8 (CPUs with VNNI) and lowrank:R force a certified "
                 "method."},
                {"inspect-window", "W", "inspect: the window shown (from 0)."},
                {"top-k", "K", "inspect: tokens kept per position and layer (default 5)."},
                {"bins", "B", "Histogram bins (default 60)."},
                {"special-drop", "D", "cossim: a layer whose mean drops by more than D is special (default 0.1)."}}},
              {"loss separation (losssep)",
               {{"probe-layer", "L", "Hidden states of this layer 0..L train the probes (default L)."},
                {"probe-sample", "N", "Tokens sampled for the probes (default 65536)."},
                {"no-probes", "", "Train no probes."},
                {"seed", "S", "The probes' seed (default 0)."},
                {"metric-ranks", "8,16", "Low-rank versions of the metrics at these ranks."},
                {"confidence-thresholds", "0.01,0.02,0.05", "Confidence thresholds of the threshold table (default 0.01, 0.02, 0.05; the median is added)."},
                {"subset-confidences", "0.3,0.5,0.9", "Minimum confidences of the high-confidence subsets (default 0.3, 0.5, 0.6, 0.7, 0.8, 0.9)."}}},
              {"early exit (exit)",
               {{"signal", "confidence|max_z|max_minus_mean|margin|entropy|cossim", "The exit signal (default confidence)."},
                {"layers", "1,2,3", "Layers where a token may exit (default all)."},
                {"thresholds", "a,b,c", "The threshold sweep (default 41 quantiles)."},
                {"threshold", "x", "The policy's threshold (default the median)."},
                {"layer-thresholds", "t1,t2,...", "One threshold per allowed layer."}}},
              {"head ablation (ablation)",
               {{"heads", "L0H3,L5",
                 "Only these heads (TransformerLens names, layer from 0; L5 = every head of it); also for linearize."},
                {"subset-tokens", "N", "Ranking stability: the ranking on the first N tokens against all (default 2048)."},
                {"no-attribution", "", "Skip the attribution-patching estimate."}}},
              {"ReLU linearisation and context sweep (linearize, context)",
               {{"normalize", "count|rowsum", "Divide relu(q.k/sqrt(d)) by the attended positions or by the row sum."},
                {"steps", "N", "The cumulative curve has a point every N heads (default 10), and one with all."},
                {"protect-layers", "1,2", "Layers whose heads are never linearised."},
                {"context-lengths", "128,256,512,1024", "Context lengths of the sweep (those that fit the model)."},
                {"context-heads", "30,70", "Numbers of linearised heads in the sweep (default the 1.1x and 1.5x limits)."}}}}},
            run,
            /*computes=*/true};
}

}  // namespace cli
