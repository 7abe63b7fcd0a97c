#pragma once
// Attention-head ablation (spec section 4, seed 003). Zero ablation sets head (l, h)'s slice
// of the concatenated attention output (before the output projection) to 0 at every position;
// mean ablation replaces it by that head's mean output over exactly the evaluation tokens (the
// scored positions), computed in a first pass over all of them. dPPL = PPL_ablated / PPL_base - 1.
//
// Numbering: layer counts blocks from 1 (as everywhere in LayerScope); head counts from 0;
// `name` is TransformerLens's "L{layer-1}H{head}" (0-based layer), e.g. L0H8 = block 1, head 8.
//
// The scan streams over windows (window-outer, heads inner): each window batch runs once
// unmodified, caching every scanned block's head outputs and post-attention residual; an
// intervention in block l edits that residual by (r - o_h) W_o[:, h] and reruns only from
// block l's MLP, zero and mean together as one batch. So memory stays one batch of residual
// streams, a scan canceled part-way holds every head evaluated on the same first windows
// (marked partial), and the subset scan (the first --subset-tokens tokens) is the snapshot
// taken when those windows are done.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/progress.h"
#include "data/windows.h"
#include "io/table.h"

namespace ls {

class Model;
struct Dataset;
struct ModelConfig;

struct AblationResult;

// One attention head: layer 1..L (blocks from 1, as everywhere in LayerScope), head 0..H-1.
struct HeadId {
    int layer = 0, head = 0;
    bool operator<(const HeadId& o) const { return layer != o.layer ? layer < o.layer : head < o.head; }
    bool operator==(const HeadId& o) const { return layer == o.layer && head == o.head; }
};
// "--heads" in TransformerLens names, 0-based layers: "L0H3,L5H1" (heads), "L2" (every head of
// a layer); sorted, duplicates dropped. Throws ls::Error naming a malformed or out-of-range item.
std::vector<HeadId> parseHeadList(const std::string& list, int numLayers, int numHeads);
// Throws ls::Error for a head outside the model.
void checkHeads(const std::vector<HeadId>& heads, const ModelConfig& config);

struct AblationParams {
    WindowParams windows;
    std::vector<HeadId> heads;    // the heads to scan; empty = every head
    int64_t subsetTokens = 2048;  // ranking stability: the scan on the first windows holding this many tokens
    bool attribution = true;      // first-order estimates from one forward + backward per window
    // Called (on the scanning thread) after every window batch with the scan so far: every
    // head on the windows done, complete = false. For views that fill as results arrive.
    std::function<void(const AblationResult&)> onSnapshot;
};

struct HeadAblation {
    int layer = 0;  // 1..L
    int head = 0;   // 0..H-1
    double zeroPpl = 0, meanPpl = 0;
    double zeroDppl = 0, meanDppl = 0;  // relative: PPL / base - 1
    double zeroMeanRatio = 0;           // zeroDppl / meanDppl
    int zeroRank = 0, meanRank = 0;     // 1 = most damaging
    // Attribution patching: estimated change of the mean loss (nats) and the dPPL it implies.
    double estZeroDloss = 0, estMeanDloss = 0;
    std::string name() const;  // "L{layer-1}H{head}"
};

struct AblationResult {
    int numLayers = 0, numHeads = 0;     // the model's; `heads` holds the scanned ones (all by default)
    bool complete = true;
    int64_t tokens = 0, windows = 0;     // evaluated (all windows unless canceled)
    double baseLoss = 0, basePpl = 0;
    std::vector<HeadAblation> heads;     // the scanned heads, (layer, head) order; ranks among them
    // Ranking stability: the same scan on the first windows only.
    int64_t subsetTokens = 0, subsetWindows = 0;
    double subsetBasePpl = 0;
    std::vector<HeadAblation> subsetHeads;
    double spearman = 0, kendall = 0;    // subset vs full zero-ablation dPPL over all heads
    bool hasAttribution = false;
    double attributionSpearmanZero = 0, attributionSpearmanMean = 0;  // estimate vs exact
    double seconds = 0, baselineSeconds = 0, attributionSeconds = 0;
};

// Throws ls::Error on bad input; on cancel returns what was finished with complete = false
// (at least one window), or throws ls::Canceled if nothing was.
AblationResult runAblationScan(const Model& model, const Dataset& data, const AblationParams& params,
                               Progress& progress);

// Fills ranks and the rank correlations from the PPLs (used by the scan and by run files).
void rankAblation(AblationResult& result);

// ablation_heads, ablation_summary, ranking_stability, attribution (when estimated).
std::vector<Table> ablationTables(const AblationResult& result);
// The inverse of ablationTables (run files). Throws ls::Error on missing tables or columns.
AblationResult ablationFromTables(const std::vector<Table>& tables);

// ReLU linearisation of attention heads (seed 003, V4 and P4). Head (l, h)'s softmax weights
// become relu(q.k / sqrt(hd)) under the causal mask, divided by the number of attended
// positions (Count, the default) or by the row sum of the relu values (RowSum; an all-zero row
// stays zero). Heads are linearised cumulatively in order of increasing individual damage
// (the PPL with that head alone linearised), skipping protected layers.
enum class ReluNormalize { Count, RowSum };
const char* reluNormalizeName(ReluNormalize n);        // "count", "rowsum"
ReluNormalize parseReluNormalize(const std::string& name);  // throws ls::Error("--normalize ...")

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

struct LinearizeThreshold {
    double limit = 0;  // 1.1, 1.5, 2.0
    int nHeads = 0;    // the largest N on the curve with ratio <= limit
    double ppl = 0, ratio = 0;
};

struct ContextPoint {
    int seqLen = 0, nHeads = 0;
    int64_t tokens = 0;
    double ppl = 0, ratio = 0;  // ratio to the baseline at the same seq_len
};

struct LinearizeResult {
    int64_t tokens = 0;
    double basePpl = 0;
    std::string normalize;
    std::vector<LinearizedHead> heads;  // the candidates (chosen, unprotected), (layer, head) order
    std::vector<CurvePoint> curve;
    std::vector<LinearizeThreshold> thresholds;
    std::vector<ContextPoint> context;
    double seconds = 0;
};

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
