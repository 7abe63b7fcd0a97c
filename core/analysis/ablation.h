#pragma once
// Attention-head ablation (spec section 4, seed 003). Zero ablation sets head (l, h)'s slice
// of the concatenated attention output (before the output projection) to 0 at every position;
// mean ablation replaces it by that head's mean output over exactly the evaluation tokens (the
// scored positions), computed in a first pass over all of them. dPPL = PPL_ablated / PPL_base - 1.
//
// Numbering as in heads.h; `name` is TransformerLens's "L{layer-1}H{head}".
//
// The scan streams over windows (window-outer, heads inner): each window batch runs once
// unmodified, caching every scanned block's head outputs and post-attention residual; an
// intervention in block l edits that residual by (r - o_h) W_o[:, h] and reruns only from
// block l's MLP, zero and mean together as one batch. So memory stays one batch of residual
// streams, a scan canceled part-way holds every head evaluated on the same first windows
// (marked partial), and the subset scan (the first --subset-tokens tokens) is the snapshot
// taken when those windows are done.
#include <cstdint>
#include <cmath>
#include <functional>
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
struct AblationResult;

// In a LayerRunParams, windows, heads and onSnapshot are the run's: set as the scan starts.
struct AblationParams {
    WindowParams windows;
    std::vector<HeadId> heads;    // the heads to scan; empty = every head
    int64_t subsetTokens = 2048;  // ranking stability: the scan on the first windows holding this many tokens
    int64_t subsetWindows = 0;    // > 0: the first this many windows instead (the notes' "2K" = 2 x 1024)
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

// How head importance falls with rank (seed 003, Ph1): least squares of log zero-ablation dPPL
// (relative) on log rank over the heads with positive dPPL, dPPL ~ rank^-alpha.
struct ZipfFit {
    double alpha = std::nan("");      // -slope
    double intercept = std::nan("");  // log dPPL at rank 1 on the fitted line
    double r2 = std::nan("");         // coefficient of determination of the fit
    int heads = 0;                    // heads with positive dPPL (the fit needs 2 at least)
    double at(int rank) const { return std::exp(intercept - alpha * std::log(double(rank))); }  // the line's dPPL
};
// The heads with a positive (finite) zero-ablation dPPL, most damaging first: the fit's ranks 1, 2, ...
std::vector<const HeadAblation*> damagingHeads(const std::vector<HeadAblation>& heads);
ZipfFit fitZipf(const std::vector<HeadAblation>& heads);

struct AblationResult : AnalysisResult {
    int numLayers = 0, numHeads = 0;     // the model's; `heads` holds the scanned ones (all by default)
    bool complete = true;
    int64_t tokens = 0, windows = 0;     // evaluated (all windows unless canceled)
    int64_t ownPassTokens() const override { return tokens; }
    int64_t ownPassWindows() const override { return windows; }
    double baseLoss = 0, basePpl = 0;
    std::vector<HeadAblation> heads;     // the scanned heads, (layer, head) order; ranks among them
    // Ranking stability: the same scan on the first windows only.
    int64_t subsetTokens = 0, subsetWindows = 0;
    double subsetBasePpl = 0;
    std::vector<HeadAblation> subsetHeads;
    double spearman = 0, kendall = 0;    // subset vs full zero-ablation dPPL over all heads
    ZipfFit zipf;                        // of the full scan's zero ablation
    bool hasAttribution = false;
    double attributionSpearmanZero = 0, attributionSpearmanMean = 0;  // estimate vs exact
    double seconds = 0, baselineSeconds = 0, attributionSeconds = 0;
    // Every head's mean output over the evaluation tokens: (L * H * hd), (layer, head, dim)
    // order; what mean ablation puts in. Kept in the run file (generation's mean-ablate reads it).
    std::vector<float> headMeans;
};

// The same means, computed on their own (generation's mean-ablate on --data).
std::vector<float> meanHeadOutputs(const Model& model, const Dataset& data, const WindowParams& params, Progress& progress);

// Throws ls::Error on bad input; on cancel returns what was finished with complete = false
// (at least one window), or throws ls::Canceled if nothing was.
AblationResult runAblationScan(const Model& model, const Dataset& data, const AblationParams& params,
                               Progress& progress);

// Fills ranks and the rank correlations from the PPLs (used by the scan and by run files).
void rankAblation(AblationResult& result);

// The scan of a run computed in shards (run --shard): every head's PPL over all the shards'
// tokens (their loss sums added), the subset from the shards holding the run's first windows,
// ranks and correlations recomputed. Shards in order; throws ls::Error for partial scans or
// different heads.
AblationResult mergeAblationShards(const std::vector<const AblationResult*>& shards);

// ablation_heads, ablation_summary, ranking_stability, attribution (when estimated).
std::vector<Table> ablationTables(const AblationResult& result);
// The inverse of ablationTables (run files). Throws ls::Error on missing tables or columns.
AblationResult ablationFromTables(const std::vector<Table>& tables);

}  // namespace ls
