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
struct LayerRunParams;

struct AnalysisRunner {
    std::string name;  // the registry's name
    // Its observer for one capture pass over the run's windows.
    std::unique_ptr<CaptureObserver> (*observe)(const Model& model, const LayerRunParams& params) = nullptr;
    // Its rough cost, in forward passes over the data, for the run's progress shares.
    double (*cost)(const Model& model, const LayerRunParams& params) = nullptr;
};

// Every runner, in registry order.
const std::vector<AnalysisRunner>& analysisRunners();

AnalysisRunner lensDivRunner();

}  // namespace ls
