// layerscope-cli compare: runs side by side, from their run files (compare/compare_runs.h).
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "common/error.h"
#include "compare/compare_runs.h"
#include "io/run_file.h"
#include "run_report.h"

namespace cli {

namespace {

// compare_layers as a terminal reads it: one row per (metric, layer, stage), a column per run.
ls::Table layersByRun(const ls::Table& layers, size_t runs) {
    using K = ls::Column::Kind;
    ls::Table t{"compare_layers", "Per-layer quantities (value per run; the CSV has the differences)", {}};
    ls::addColumns(t, {{"metric", K::Text}, {"layer", K::Integer}, {"stage", K::Text}});
    for (size_t r = 0; r < runs; ++r) t.add("run " + std::to_string(r), K::Real);
    const ls::Column& metric = layers.column("metric");
    const ls::Column& layer = layers.column("layer");
    const ls::Column& stage = layers.column("stage");
    const ls::Column& run = layers.column("run");
    const ls::Column& value = layers.column("value");
    for (size_t i = 0; i < layers.rows();) {
        std::vector<ls::Cell> row{metric.texts[i], static_cast<int64_t>(layer.numbers[i]), stage.texts[i]};
        std::vector<double> byRun(runs, std::nan(""));
        size_t j = i;
        for (; j < layers.rows() && metric.texts[j] == metric.texts[i] && layer.numbers[j] == layer.numbers[i] &&
               stage.texts[j] == stage.texts[i];
             ++j)
            byRun[static_cast<size_t>(run.numbers[j])] = value.numbers[j];
        for (double v : byRun) row.emplace_back(v);
        ls::addRow(t, row);
        i = j;
    }
    return t;
}

int compare(const Args& args) {
    if (args.positionals.size() < 2)
        throw ls::Error("compare needs two or more run files: 'layerscope-cli compare A.h5 B.h5 [more.h5 ...]'");
    std::vector<ls::LayerRun> runs;
    runs.reserve(args.positionals.size());
    for (const std::string& file : args.positionals) runs.push_back(ls::readRunFile(file));
    std::vector<ls::ComparedRun> compared;
    for (size_t i = 0; i < runs.size(); ++i) compared.push_back({args.positionals[i], &runs[i]});
    const ls::RunComparison c = ls::compareRuns(compared);

    if (auto dir = args.get("csv"))
        for (const ls::Table& t : c.tables) ls::writeCsv(t, *dir);
    if (args.flag("quiet")) return 0;
    if (args.flag("json")) {
        nlohmann::json j = {{"differences", c.differences}};
        addTablesJson(j, c.tables);
        std::cout << j.dump(2) << "\n";
        return 0;
    }
    std::printf("%s\n", ls::toText(c.tables[0]).c_str());
    if (c.differences.empty()) {
        std::printf("The runs have the same model, data and parameters.\n\n");
    } else {
        std::printf("The runs differ in:\n");
        for (const std::string& d : c.differences) std::printf("  %s\n", d.c_str());
        std::printf("\n");
    }
    if (c.tables[1].rows() > 0) std::printf("%s\n", ls::toText(layersByRun(c.tables[1], runs.size())).c_str());
    if (c.tables[3].rows() > 0) std::printf("%s\n", ls::toText(c.tables[3]).c_str());
    if (c.tables[1].rows() == 0 && c.tables[2].rows() == 0)
        std::printf("No per-layer quantities or head scans to compare: the runs hold none of cossim, saturation, "
                    "lensdiv, losssep or ablation.\n");
    std::printf("(every value, and compare_heads, in the CSV files: --csv DIR)\n");
    return 0;
}

}  // namespace

Command compareCommand() {
    CommandSpec spec{
        "compare",
        "RUN.h5",
        "A.h5 B.h5 [more.h5 ...] [--csv DIR] [--json] [--quiet]",
        "runs side by side: per-layer quantities, head scores and rankings",
        "Reads two or more run files (written by `run --out` or the GUI's Save Run As) and sets what they hold side by "
        "side, without the models or the datasets. Runs are numbered 0, 1, ... in the order given; differences are "
        "to run 0. It says which of model, data and parameters differ, and compares whatever the runs share: a 2-layer "
        "model against a 4-layer one has rows for the layers each has.\n"
        "The CSVs are long (one value per row) so that pandas can pivot them:\n"
        "  compare_runs.csv: run,file,model,model_hash,data,data_hash,tokens,windows,analyses,status\n"
        "  compare_layers.csv: metric,layer,stage,run,value,diff_to_first (cossim_mean, cossim_median, "
        "saturation_rate, kl_to_final, cross_entropy, entropy, top1_accuracy, oracle_ratio:<method> per layer and "
        "at its best layer, stage best)\n"
        "  compare_heads.csv: name,layer,head,run,zero_dppl,mean_dppl,zero_rank,mean_rank\n"
        "  compare_rankings.csv: run_a,run_b,metric,spearman,kendall,top10_overlap (zero and mean ablation, over "
        "the heads both runs scanned; Kendall's tau-b; top10_overlap: the share of run_a's 10 most damaging heads "
        "among run_b's 10)\n"
        "  compare_fronts.csv: front,run,x,y (exit_pareto: compute_saved and top1_agreement of the Pareto points of "
        "each run's exit sweep, by compute saved: the logit lens against a tuned lens, say)",
        {{"output",
          {{"csv", "DIR", "Write the five tables as DIR/compare_*.csv."},
           {"json", "", "Print the differences and every table as one JSON object instead of text."},
           {"quiet", "", "Print nothing (with --csv)."}}}}};
    spec.manyPositionals = true;
    return {spec, compare};
}

}  // namespace cli
