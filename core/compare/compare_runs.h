#pragma once
// Runs side by side (`layerscope-cli compare`, the GUI's comparison): what each run is, every
// per-layer quantity the runs' analyses give (registry.h, AnalysisSpec::layerQuantities), the
// scanned heads' scores and how the head rankings of two runs agree. Plain C++: the runs'
// results as they are (a run read from a file is summarised already); nothing is recomputed,
// so every value is the one the run's own CSVs print.
//
// Tables, long format (one value per row, so that pandas can pivot them):
//   compare_runs:     run,file,model,model_hash,data,data_hash,tokens,windows,analyses,status
//   compare_layers:   metric,layer,stage,run,value,diff_to_first
//   compare_heads:    name,layer,head,run,zero_dppl,mean_dppl,zero_rank,mean_rank
//   compare_rankings: run_a,run_b,metric,spearman,kendall,top10_overlap
//   compare_fronts:   front,run,x,y   (exit_pareto: x = compute_saved, y = top1_agreement of
//                     the exit sweep's Pareto points, by compute saved)
// run = 0, 1, ... in the order given. diff_to_first = value - run 0's value for the same
// (metric, layer, stage), NaN where run 0 has none. Rankings, for every pair of runs that both
// scanned heads and for zero and mean ablation, over the heads both scanned: Spearman's rho and
// Kendall's tau-b of their dPPL, and top10_overlap = the share of run_a's k most damaging
// heads (by its own rank) that are among run_b's k, k = min(10, heads both scanned).
#include <string>
#include <vector>

#include "io/table.h"

namespace ls {

struct LayerRun;

struct ComparedRun {
    std::string file;  // where it was read from (or a label)
    const LayerRun* run = nullptr;
};

struct RunComparison {
    std::vector<Table> tables;  // compare_runs, compare_layers, compare_heads, compare_rankings, compare_fronts
    // What differs between the runs, a sentence each: "model: run 1 (…) is not run 0's (…)",
    // "data: …", "seq_len: 128 in run 0, 64 in run 1". Empty when they agree in all three.
    std::vector<std::string> differences;
};

// Throws ls::Error for fewer than two runs.
RunComparison compareRuns(const std::vector<ComparedRun>& runs);

}  // namespace ls
