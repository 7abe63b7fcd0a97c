#pragma once
// ReLU linearisation of attention heads (seed 003, V4 and P4). Head (l, h)'s softmax weights
// become relu(q.k / sqrt(hd)) under the causal mask, divided by the number of attended
// positions (Count, the default) or by the row sum of the relu values (RowSum; an all-zero row
// stays zero). Heads are linearised cumulatively in order of increasing individual damage
// (the PPL with that head alone linearised), skipping protected layers.
// The context-length sweep (the "context" analysis) runs inside this scan: PPL at several
// window lengths for the baseline and the first N linearised heads.
#include <cstdint>
#include <string>
#include <vector>

#include "analysis/analysis_result.h"
#include "analysis/heads.h"
#include "common/progress.h"
#include "data/windows.h"
#include "io/table.h"

namespace ls {

class Model;
struct Dataset;
struct ModelConfig;

enum class ReluNormalize { Count, RowSum };
const char* reluNormalizeName(ReluNormalize n);        // "count", "rowsum"
ReluNormalize parseReluNormalize(const std::string& name);  // throws ls::ParamError("normalize", ...)

struct LinearizeParams {
    WindowParams windows;
    ReluNormalize normalize = ReluNormalize::Count;
    int steps = 10;                      // curve points at N = 0, steps, 2 steps, ..., and all
    std::vector<HeadId> heads;           // the candidate heads; empty = every head
    std::vector<int> protectLayers;      // layers 1..L whose heads stay softmax
    bool contextSweep = true;            // run the context-length sweep (the "context" analysis)
    // Context lengths to sweep; LayerRunParams resolves an empty list to the seed's 128, 256,
    // 512, 1024 that fit the model's context (or the context itself).
    std::vector<int> contextLengths;
    std::vector<int> contextHeads;       // N for the context sweep; empty = the 1.1x and 1.5x thresholds
                                         // (or the curve's first step when both are 0)
    // false: each context length has windows of its own, one after the other over the stream
    // (a short length's windows mostly start mid-document, the longest's at its starts);
    // true: every length's windows start where the longest length's do (the first L_c tokens
    // of each of them), so that only the context length differs between the rows.
    bool contextAligned = false;
};

struct LinearizedHead {
    int layer = 0, head = 0;
    double ppl = 0, ratio = 0;  // alone linearised; ratio = ppl / base
    int order = 0;              // 1 = least damage
};

struct CurvePoint {
    int nHeads = 0;
    double ppl = 0, ratio = 0;
};

// The PPL-ratio limits the scan finds exactly: the largest N with ratio <= limit.
inline constexpr double kLinearizeLimits[] = {1.1, 1.5, 2.0};

struct LinearizeThreshold {
    double limit = 0;  // 1.1, 1.5, 2.0
    int nHeads = 0;    // the largest N on the curve with ratio <= limit
    double ppl = 0, ratio = 0;
};

struct ContextPoint {
    int seqLen = 0, nHeads = 0;
    int64_t tokens = 0;
    double ppl = 0, ratio = 0;  // ratio to the baseline at the same seq_len
    int64_t windows = 0;        // 0: not known (a run file from before the sweep kept it)
    bool aligned = false;       // LinearizeParams::contextAligned (window_starts "aligned" or "own")
};

struct LinearizeResult : AnalysisResult {
    int64_t tokens = 0;
    int64_t ownPassTokens() const override { return tokens; }
    double basePpl = 0;
    std::string normalize;
    std::vector<LinearizedHead> heads;  // the candidates (chosen, unprotected), (layer, head) order
    // N = 0, steps, 2 steps, ..., M, and every N between a limit's point and the next of
    // those (so that each limit is exact, not a multiple of steps), in N order.
    std::vector<CurvePoint> curve;
    std::vector<LinearizeThreshold> thresholds;
    std::vector<ContextPoint> context;
    double seconds = 0;
};

// The candidate heads by increasing damage (order 1 first): what relu:N takes the first N of.
std::vector<HeadId> linearisationOrder(const LinearizeResult& result);

// Throws ls::Error for a protected layer outside 1..L, protecting every layer (or every chosen
// head's layer), a head outside the model, steps < 1, a context length beyond the model's
// context (checkLinearizeParams); ls::Canceled when canceled.
void checkLinearizeParams(const LinearizeParams& params, const ModelConfig& config);
LinearizeResult runLinearization(const Model& model, const Dataset& data, const LinearizeParams& params,
                                 Progress& progress);

// linearize_heads, linearize_curve, linearize_thresholds, context; and back (run files).
std::vector<Table> linearizeTables(const LinearizeResult& result);
LinearizeResult linearizeFromTables(const std::vector<Table>& tables);

}  // namespace ls
