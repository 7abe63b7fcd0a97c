#pragma once
// The result of an analysis that keeps its own result type (analysis/<name>.h derives from
// this): a LayerRun holds it by the analysis's name (LayerRun::results), the run file writes
// and reads it through the analysis's registry entry, and its view takes it by that name.
namespace ls {

struct AnalysisResult {
    virtual ~AnalysisResult() = default;
};

}  // namespace ls
