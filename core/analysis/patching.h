#pragma once
// Activation patching between prompt pairs (`layerscope-cli patch`, the GUI's Microscope panel).
// Each pair has a clean and a corrupted prompt of the same length and two tokens, answer and
// wrong. A run's metric is the logit difference m = z_answer - z_wrong at the last position.
// A patched run replaces one activation of the target run by the source run's, everything
// downstream recomputed:
//   denoise  the clean activation into the corrupted run;  noise  the corrupted into the clean.
// Its value is (m_patched - m_corrupted) / (m_clean - m_corrupted): the clean run is 1, the
// corrupted 0; each table cell is the mean of that over the pairs. Sites, in LayerScope's layer
// convention:
//   resid          h_l at one position p: l = 0 (the embeddings) .. L (block l's output)
//   heads          head h of block l (1..L, heads from 0), its output before W_O, at every position
//   heads by pos.  the same at one position p
//   mlp            block l's MLP output at every position
// Each patch reruns from where it acts only (the ablation scan's prefix caching): a head's patch
// edits block l's post-attention residual by (o_src - o_tgt)_h W_O[:, h] and reruns from its MLP.
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "analysis/analysis_result.h"
#include "common/progress.h"
#include "data/prompts.h"
#include "io/table.h"

namespace ls {

class Model;
class Tokenizer;
struct LayerRun;
struct ModelConfig;
struct RunInfo;

struct PatchParams {
    bool resid = true, heads = true, mlp = true;  // which sites
};
// "resid,heads,mlp" (any of them). Throws ls::ParamError("what", ...).
PatchParams parsePatchSites(const std::string& list);
std::string patchSitesText(const PatchParams& params);  // back to "resid,heads,mlp"

struct PairMetrics {
    double clean = 0, corrupted = 0;  // logit differences of the unpatched runs
};

// Directions index the value arrays: kDenoise = 0, kNoise = 1.
enum PatchDirection { kDenoise = 0, kNoise = 1 };
const char* patchDirectionName(int direction);  // "denoise", "noise"

struct PatchResult : AnalysisResult {
    int numLayers = 0, numHeads = 0, tokens = 0;  // L, H, T
    PatchParams sites;
    // The first pair's prompts, one label per position (the views' axes).
    std::vector<std::string> cleanTokens, corruptedTokens;
    std::vector<int32_t> cleanIds, corruptedIds;
    std::vector<PairMetrics> pairs;  // the pairs done
    // Per direction, the mean normalised metric (empty for a site not patched):
    std::vector<double> resid[2];            // (L + 1, T): [layer][position]
    std::vector<double> heads[2];            // (L, H): [layer - 1][head]
    std::vector<double> headsByPosition[2];  // (L, H, T)
    std::vector<double> mlp[2];              // (L)
    bool complete = true;  // false: canceled; the pairs done are averaged
    double seconds = 0;
    int64_t ownPassTokens() const override { return static_cast<int64_t>(pairs.size()) * tokens * 2; }
    int64_t ownPassWindows() const override { return static_cast<int64_t>(pairs.size()) * 2; }
};

// Patches every site of params for every pair. Throws ls::Error for a pair whose clean and
// corrupted runs give the same logit difference (the metric is undefined) or longer than the
// context; on cancel returns the pairs done (complete = false), or throws ls::Canceled if none.
PatchResult runPatching(const Model& model, const Tokenizer* tokenizer, const std::vector<PromptPair>& pairs,
                        const PatchParams& params, Progress& progress);

// The run that keeps it (run files, `show`, the GUI).
LayerRun patchRun(const Model& model, RunInfo info, const PatchParams& params, PatchResult result);

// patch_pairs, patch_tokens, patch_resid, patch_heads, patch_heads_position, patch_mlp; and back.
std::vector<Table> patchTables(const PatchResult& result);
PatchResult patchFromTables(const std::vector<Table>& tables);

}  // namespace ls
