// layerscope-cli run: layer analyses in one capture pass (and the head scans), with progress,
// tables, CSVs and an HDF5 run file (run by compute_run.cpp).
#include "analysis/registry.h"
#include "commands.h"
#include "run_report.h"

namespace cli {

namespace {

std::string analysesHelp() {
    std::string text =
        "Runs the layer analyses named in ANALYSES (comma-separated) in one capture pass per window, which keeps "
        "only per-token scalars; ablation, linearize and context run their own passes. Prints their tables "
        "(progress, tokens/s and ETA on stderr); --out writes an HDF5 run file, --csv every table as CSV. Layers "
        "count blocks from 1 (layer 0 is the embeddings); attention heads count from 0. Ctrl-C writes nothing, "
        "except that a head-ablation scan keeps the windows it finished, marked partial.\n"
        "Analyses:";
    for (const ls::AnalysisSpec& a : ls::analysisRegistry())
        if (a.ownCommand.empty()) text += "\n  " + a.name + ": " + a.description;
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
    const OptionGroup scale{"shards and plans (docs/sharding.md)",
                            {{"shard", "K/N",
                              "Compute shard K of N (whole window batches, the K-th of N contiguous ranges) and write "
                              "a run file marked as that shard; 'layerscope-cli merge' joins the N files into the "
                              "run one machine makes. linearize and context cannot be sharded."},
                             {"plan", "",
                              "Print what the run will cost on this machine, without running it: time, peak memory "
                              "and run-file size, whole and in N shards (with --shard, its N too), from the same "
                              "analyses timed on the first window batches (--json: as JSON)."}}};
    std::vector<OptionGroup> groups{windowOptions(), datasetOptions(), output, scale};
    for (OptionGroup& g : analysisOptions()) groups.push_back(std::move(g));
    return {{"run",
             "ANALYSES",
             "ANALYSES --model DIR --data PATH [options]",
             "layer analyses in one capture pass: tables, CSVs and a run file",
             analysesHelp(),
             groups},
            nullptr,
            always};
}

}  // namespace cli
