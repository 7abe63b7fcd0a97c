#pragma once
// The analyses, each described once: name, title, one-line description and its typed
// parameters (params.h). The command line builds `run`'s options and --help from this table,
// the GUI its analysis checkboxes and tooltips. Each entry lives in its analysis's own file
// (cossimAnalysis() in cossim.cpp, ...); registry.cpp lists them, one line each.
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <utility>
#include <vector>

#include "analysis/params.h"

namespace ls {

class H5Reader;
class H5Writer;
struct CaptureRequest;
struct LayerRun;
struct LayerRunParams;
struct ModelConfig;
struct Table;

// What `compare` sets side by side across runs (compare/compare_runs.h): a per-layer
// quantity ("cossim_mean" at layer 3, stage "block"), and a scanned head's scores.
struct LayerQuantity {
    std::string metric;
    int layer = 0;       // in the analysis's own convention (its CSV's layer column)
    std::string stage;   // "block", "attention", or "best" (layer: where the best is)
    double value = 0;
};
// What `compare` draws as one trade-off curve per run: a point of a named front
// ("exit_pareto": x = compute saved, y = top-1 agreement with the final layer).
struct FrontPoint {
    std::string front;
    double x = 0, y = 0;
};
struct HeadScore {
    int layer = 0;  // 1..L
    int head = 0;   // 0..H-1
    double zeroDppl = 0, meanDppl = 0;
    int zeroRank = 0, meanRank = 0;  // 1 = most damaging
};

struct AnalysisSpec {
    std::string name;         // "cossim": the CLI's and the run file's name
    std::string title;        // "Cos-sim per layer"
    std::string description;  // one line: what it computes
    bool checkedByDefault = false;  // the GUI's default: the analyses that take seconds on the demo
    // Non-empty for an analysis that runs from a command of its own ("generate": prompts, not
    // windows of a dataset), not from `run` or the layer-analyses panel; its run files,
    // tables, `show` and views are the registry's like any other's.
    std::string ownCommand;
    std::vector<ParamSpec> params;  // its own; parameters several analyses use are in sharedParams()
    // Sets its part of the run's parameters from the values given; absent keys keep their
    // defaults. config is the loaded model's. Throws ls::ParamError.
    void (*apply)(const ParamValues& values, const ModelConfig& config, LayerRunParams& params) = nullptr;
    // The inverse of apply: the values of its parameters that params holds (the GUI's fields
    // show them; a default-constructed LayerRunParams gives the defaults). A key left out is
    // one chosen from the model or the data (its ParamSpec::placeholder); a flag is set to
    // whether it is given.
    void (*values)(const LayerRunParams& params, ParamValues& out) = nullptr;
    // What it needs from the capture pass (one forward per window, shared by all analyses);
    // null for an analysis that runs passes of its own (ablation, linearize, context).
    void (*request)(const LayerRunParams& params, CaptureRequest& request) = nullptr;
    // Its results from the run's capture and parameters (plain C++, no model: a run file
    // reopened gives the same); null when its results come from its own pass.
    void (*summarise)(LayerRun& run) = nullptr;
    // Appends its tables (CSV, `show`, run files) when the run holds its results.
    // perTokenSaturation: also the per-token table of saturation.
    void (*tables)(const LayerRun& run, bool perTokenSaturation, std::vector<Table>& out) = nullptr;
    // Its parameters in the run file (the attribute params_json of its group /analyses/<name>,
    // with the keys of run-file format 1), and back. fromJson throws for a missing or
    // malformed key (std::exception; the caller names the file).
    void (*paramsToJson)(const LayerRunParams& params, nlohmann::json& out) = nullptr;
    void (*paramsFromJson)(const nlohmann::json& in, LayerRunParams& params) = nullptr;
    // What it keeps in its run-file group beyond its parameters: what its own pass made, which
    // cannot be recomputed from the capture (the capture's per-token scalars are the capture
    // pass's: analysis/capture_file.h). read restores that into run.results before the run is
    // summarised again, from a file of run-file format `version` (format 1 had no groups: the
    // analysis knows where it kept its results then); it throws ls::Error for a damaged group
    // (the caller adds the file's name).
    void (*write)(const LayerRun& run, H5Writer& file, const std::string& group) = nullptr;
    void (*read)(const H5Reader& file, const std::string& group, int version, LayerRun& run) = nullptr;
    // When the analysis is asked for: fills its defaults from the model and checks its
    // parameters against it before any work (ls::ParamError). It may add analyses it needs
    // (context adds linearize); theirs run too.
    void (*resolve)(LayerRunParams& params, const ModelConfig& config) = nullptr;
    // What a terminal shows of it (`run` and `show` without --json), given its own tables;
    // null: every one of them as text. Long tables (per bin, per token) stay in the CSVs.
    std::string (*terminalReport)(const LayerRun& run, const std::vector<Table>& tables) = nullptr;
    // What compare sets side by side: its per-layer quantities, or a head scan's scores, as
    // its own tables give them (the same doubles its CSVs print). Null: nothing to compare.
    void (*layerQuantities)(const LayerRun& run, std::vector<LayerQuantity>& out) = nullptr;
    void (*headScores)(const LayerRun& run, std::vector<HeadScore>& out) = nullptr;
    // Its trade-off curves (exit's Pareto front), as its own tables give them. Null: none.
    void (*fronts)(const LayerRun& run, std::vector<FrontPoint>& out) = nullptr;
    // Run in shards (run --shard K/N, then merge; analysis/shards.h): combines the shards' results
    // of its own pass, given in shard order, into merged (whose capture is already the shards'
    // concatenated and whose results the summaries fill after). Null: it keeps nothing of its
    // own beyond the capture.
    void (*mergeShards)(const std::vector<const LayerRun*>& shards, LayerRun& merged) = nullptr;
    // Why it cannot run in shards with these parameters; null or empty: it can.
    std::string (*shardRefusal)(const LayerRunParams& params) = nullptr;
    // Its settings as (label, value) rows for the GUI's run summary; null: none.
    std::vector<std::pair<std::string, std::string>> (*settings)(const LayerRun& run) = nullptr;
};

// An entry with its name, title and description (and whether the GUI checks it by default);
// the analysis's file sets the rest field by field.
inline constexpr bool kCheckedByDefault = true;
AnalysisSpec analysisEntry(std::string name, std::string title, std::string description, bool checkedByDefault = false);

// Its tables as text, but the named ones (those too long for a terminal).
std::string tablesAsText(const std::vector<Table>& tables, const std::vector<std::string>& csvOnly = {});

// Every analysis, in menu order.
const std::vector<AnalysisSpec>& analysisRegistry();
// The entry of that name, or null.
const AnalysisSpec* findAnalysis(const std::string& name);
// The parameters several analyses share (layer, bins, heads), as an entry without a name; its
// params JSON also holds the analyses, the windows and the dataset options.
const AnalysisSpec& sharedParams();
// Every parameter of the run as run files keep them in /meta (params_json): the shared entry's
// and those of the analyses it holds.
nlohmann::json runParamsJson(const LayerRunParams& params);
// The spec of a parameter key, shared or of any analysis; null when there is none.
const ParamSpec* findParam(const std::string& key);
// Applies values through the shared entry and every analysis's entry.
void applyParams(const ParamValues& values, const ModelConfig& config, LayerRunParams& params);
// The values params holds, through the same entries (their `values`): applyParams of them
// gives params back.
ParamValues paramValues(const LayerRunParams& params);

// The entries, each defined in its analysis's file.
AnalysisSpec cossimAnalysis();
AnalysisSpec saturationAnalysis();
AnalysisSpec lowRankAnalysis();
AnalysisSpec inspectAnalysis();
AnalysisSpec lossSepAnalysis();
AnalysisSpec exitAnalysis();
AnalysisSpec ablationAnalysis();
AnalysisSpec linearizeAnalysis();
AnalysisSpec contextAnalysis();
AnalysisSpec lensDivAnalysis();
AnalysisSpec generationAnalysis();
AnalysisSpec promptAnalysis();
AnalysisSpec patchAnalysis();

}  // namespace ls
