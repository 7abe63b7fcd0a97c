#pragma once
// The model half of the analysis registry (registry.h holds the plain half: name, parameters,
// tables, run-file group). An analysis that needs the forward's states beyond the capture
// pass's shared scalars (CaptureRequest) adds one entry here, defined in its own torch file
// (<name>Runner() in <name>_capture.cpp). This half lives in layerscope_core because it
// runs LibTorch; layerscope_base (the fuzzers, the views' tests) never needs it.
#include <memory>
#include <string>
#include <vector>

#include "analysis/capture_observer_internal.h"

namespace ls {

class Model;
class Progress;
struct Dataset;
struct LayerRun;
struct LayerRunCallbacks;
struct LayerRunParams;

struct AnalysisRunner {
    std::string name;  // the registry's name
    // Its observer for one capture pass over the run's windows.
    std::unique_ptr<CaptureObserver> (*observe)(const Model& model, const LayerRunParams& params) = nullptr;
    // Its own work after the capture pass (the probes on its sample, the head scans), in
    // runner order: fills its part of run. Reports within its share of progress; throws
    // ls::Canceled (a scan may instead keep what it finished and mark the run partial).
    void (*runPass)(const Model& model, const Dataset& data, LayerRun& run, Progress& progress,
                    const LayerRunCallbacks& callbacks) = nullptr;
    // Its work that needs the whole run's data, done again on a run merged from shards (no
    // model: the probes of losssep learn on the merged sample). Null: nothing to redo.
    void (*afterMerge)(LayerRun& run, Progress& progress) = nullptr;
    // Its rough cost, in forward passes over the data, for the run's progress shares (0: no
    // work for these parameters).
    double (*cost)(const Model& model, const LayerRunParams& params) = nullptr;
};

// Every runner, in registry order.
const std::vector<AnalysisRunner>& analysisRunners();

// Half a forward per head that a head scan (ablation, linearize) covers: all or --heads.
double scannedHeadsCost(const Model& model, const LayerRunParams& params);

AnalysisRunner lensDivRunner();
AnalysisRunner lossSepRunner();
AnalysisRunner ablationRunner();
AnalysisRunner linearizeRunner();

}  // namespace ls
