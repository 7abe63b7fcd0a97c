#pragma once
// The analyses, each described once: name, title, one-line description and its typed
// parameters (params.h). The command line builds `run`'s options and --help from this table,
// the GUI its analysis checkboxes and tooltips. Each entry lives in its analysis's own file
// (cossimAnalysis() in cossim.cpp, ...); registry.cpp lists them, one line each.
#include <string>
#include <vector>

#include "analysis/params.h"

namespace ls {

struct LayerRunParams;
struct ModelConfig;

struct AnalysisSpec {
    std::string name;         // "cossim": the CLI's and the run file's name
    std::string title;        // "Cos-sim per layer"
    std::string description;  // one line: what it computes
    bool checkedByDefault = false;  // the GUI's default: the analyses that take seconds on the demo
    std::vector<ParamSpec> params;  // its own; parameters several analyses use are in sharedParams()
    // Sets its part of the run's parameters from the values given; absent keys keep their
    // defaults. config is the loaded model's. Throws ls::ParamError.
    void (*apply)(const ParamValues& values, const ModelConfig& config, LayerRunParams& params) = nullptr;
};

// Every analysis, in menu order.
const std::vector<AnalysisSpec>& analysisRegistry();
// The entry of that name, or null.
const AnalysisSpec* findAnalysis(const std::string& name);
// The parameters several analyses share (layer, bins, heads), as an entry without a name.
const AnalysisSpec& sharedParams();
// The spec of a parameter key, shared or of any analysis; null when there is none.
const ParamSpec* findParam(const std::string& key);
// Applies values through the shared entry and every analysis's entry.
void applyParams(const ParamValues& values, const ModelConfig& config, LayerRunParams& params);

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

}  // namespace ls
