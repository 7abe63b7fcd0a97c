#pragma once
// The result of an analysis (analysis/<name>.h derives its Result from this): a LayerRun
// holds it by the analysis's name (LayerRun::results), the run file writes and reads what
// cannot be recomputed through the analysis's registry entry, and its view takes it by name.
#include <cstdint>

namespace ls {

// What an analysis's pass reports while it runs, for a view that fills as the run goes: a
// snapshot of a scan (a partial result), a probe's epoch. It goes out by the analysis's name
// (LayerRunCallbacks), and that analysis's view knows its type.
struct LiveReport {
    virtual ~LiveReport() = default;
};

struct AnalysisResult : LiveReport {
    virtual ~AnalysisResult() = default;
    // A result from a forward pass of its own (not the shared capture pass): the tokens and
    // windows it scored, which the run reports when it had no capture pass. 0: none.
    virtual int64_t ownPassTokens() const { return 0; }
    virtual int64_t ownPassWindows() const { return 0; }
};

}  // namespace ls
