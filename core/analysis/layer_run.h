#pragma once
// One run of the layer analyses (cos-sim, saturation, low-rank head, token inspector):
// what was asked, on what, the per-token scalars of the capture pass, and the results.
// Data walks one way: model -> windows -> capture pass -> scalars -> results -> views /
// CSV / run file. A run file stores the scalars and parameters; reading it back runs the
// same summaries, so a reopened run yields the same results as a fresh one.
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "analysis/ablation.h"
#include "analysis/analysis_result.h"
#include "analysis/capture_pass.h"
#include "analysis/cossim.h"
#include "analysis/early_exit.h"
#include "analysis/generation.h"
#include "analysis/inspect.h"
#include "analysis/linearize.h"
#include "analysis/losssep.h"
#include "analysis/lowrank.h"
#include "analysis/patching.h"
#include "analysis/prompt.h"
#include "analysis/tuned_lens.h"
#include "common/phase_times.h"
#include "data/dataset.h"
#include "data/windows.h"
#include "io/table.h"

namespace ls {

class Model;
class Tokenizer;
struct AnalysisSpec;
struct ModelConfig;

// "cossim,saturation" -> {"cossim", "saturation"}; throws ls::Error for a name the registry
// (analysis/registry.h) does not have.
std::vector<std::string> parseAnalysisList(const std::string& list);

struct LayerRunParams {
    std::vector<std::string> analyses;             // names from analysisRegistry()
    WindowParams windows;
    DatasetOptions dataset;                        // how the dataset was read (reproducibility)
    // Shared by several analyses (sharedParams() in registry.h).
    int layer = 0;                      // chosen layer 1..L; 0 = default L-1 (1 if L == 1)
    int bins = 60;                      // histogram bins
    std::vector<HeadId> heads;          // the heads to scan / linearise; empty = every head
    // Layer L as Hugging Face's output_hidden_states[-1]: with the final norm, norm_f(h_L). It
    // changes what compares or learns on hidden states (cos-sim's c_L, probes at layer L);
    // the logit lens at L is the model's output either way.
    bool finalNormLast = false;
    // The lens of every lens-based analysis (saturation, lensdiv, the inspector, losssep's
    // per-layer metrics and the probes on them, exit, the low-rank head's detection): logit or
    // tuned (analysis/tuned_lens.h). runLayerAnalyses loads a tuned one into tunedLens and sets
    // lensChoice.hash; a run read from a file has the choice and hash only.
    LensChoice lensChoice;
    std::shared_ptr<const TunedLens> tunedLens;
    // Each analysis's own, set and read by its registry entry (its own header says what).
    CossimParams cossim;                // layer and bins: the shared ones
    LensParams lens;                    // saturation and lensdiv
    LowRankParams lowRank;
    InspectParams inspect;
    LossSepParams lossSep;              // bins: the shared one
    ExitParams exit;
    AblationParams ablation;            // windows, heads: the run's
    // linearize and context (ReLU attention; windows come from `windows`; heads and
    // contextSweep are filled from `heads` and the "context" analysis by resolveLayerRunParams)
    LinearizeParams linearize;
    GenerationParams generation;        // generate (its own command and tab; prompts, not windows)
    PromptParams prompt;                // prompt (its own command; one prompt)
    PatchParams patch;                  // patch (its own command; prompt pairs)

    bool wants(const std::string& analysis) const;
};

// Fills defaults (layer, ranks) and checks every parameter against the model: a layer out
// of range, a rank outside 1..hidden size, a hard ratio outside (0, 1), top-k outside
// 1..vocab, bins < 1, an unknown analysis. Throws ls::Error naming the option.
void resolveLayerRunParams(LayerRunParams& params, const ModelConfig& config);

struct RunInfo {
    std::string layerscopeVersion;
    std::string modelPath, modelHash;      // hash: FNV-1a 64 of config.json + weight files, hex
    std::string modelSummary;              // "GPT-2, 4 layers, 4 heads, dim 64, vocab 77"
    std::string datasetPath, datasetHash;  // hash: FNV-1a 64 of the dataset file, hex
    std::string datasetFormat;
    std::string startedAt, finishedAt;     // ISO 8601 UTC
    bool complete = true;
    // Where the time went: core fills set-up, capture and summaries; the program that ran it
    // (CLI, GUI) start-up, load and writing.
    PhaseTimes times;
};

struct LayerRun {
    RunInfo info;
    LayerRunParams params;
    CaptureResult capture;
    // Each analysis's result, by registry name. An analysis with a pass of its own (the
    // probes of losssep, ablation, linearize, lensdiv) leaves what its pass made here; the
    // summaries then fill the rest from the capture. A run file keeps what cannot be
    // recomputed from the capture (the analysis's `write`), and reopening summarises again.
    std::map<std::string, std::shared_ptr<const AnalysisResult>> results;
    // That result as T (shares ownership), or null when the run has none.
    template <typename T>
    std::shared_ptr<const T> result(const std::string& name) const {
        const auto it = results.find(name);
        return it == results.end() ? nullptr : std::dynamic_pointer_cast<const T>(it->second);
    }
    template <typename T>
    void setResult(const std::string& name, T result) {
        results[name] = std::make_shared<const T>(std::move(result));
    }
    bool hasInspect() const { return capture.inspect.positions > 0; }
    // Scored tokens and windows: the capture pass's, or the head scans' when only they ran.
    int64_t scoredTokens() const;
    int64_t windowCount() const;

    // Every table of every analysis that ran, in a stable order. perTokenSaturation adds
    // saturation_tokens.
    std::vector<Table> tables(bool perTokenSaturation = false) const;
    // The same, by the analysis they belong to (registry order; analyses without tables here
    // left out).
    std::vector<std::pair<const AnalysisSpec*, std::vector<Table>>> tablesByAnalysis(bool perTokenSaturation = false) const;
};

// The summaries of every requested analysis from the run's capture and the results its
// passes left in it (plain C++, no model needed).
void summariseLayerRun(LayerRun& run);

// Live reports from the worker thread, for views that fill while a run goes on: analysis is
// the registry name of the analysis whose pass sent it (losssep: each probe epoch, a
// ProbeEpoch; ablation: the scan so far after every window batch, an AblationResult).
struct LayerRunCallbacks {
    std::function<void(const std::string& analysis, std::shared_ptr<const LiveReport> report)> onLiveReport;
    // After each pass over the data: "capture" (the capture pass), or the registry name of the
    // analysis whose own pass it was, and its wall time (run --plan separates them).
    std::function<void(const std::string& pass, double seconds)> onPassTimed;

    void report(const std::string& analysis, std::shared_ptr<const LiveReport> live) const {
        if (onLiveReport) onLiveReport(analysis, std::move(live));
    }
};

// Who ran what on which model and input, as every run file records it (started now; the
// hashes are computed here). inputFormat: the dataset's format name, or "prompts".
RunInfo runInfoFor(const Model& model, const std::filesystem::path& input, const std::string& inputFormat);
// Now, as ISO 8601 UTC ("2026-12-07T03:41:39Z").
std::string utcTimestamp();
// The run that keeps the result of an analysis with a command of its own (generate, prompt,
// patch; the caller then sets its result): info from runInfoFor() taken when it started,
// finished now; params names the analysis and holds its parameters; complete: not canceled.
LayerRun ownCommandRun(const Model& model, RunInfo info, LayerRunParams params, bool complete);

// Resolves params, runs the capture pass, the probes (losssep) and the summaries. tokenizer
// (may be null) gives the inspector's token texts. Throws ls::Error / ls::Canceled.

LayerRun runLayerAnalyses(const Model& model, const Dataset& data, const Tokenizer* tokenizer,
                          LayerRunParams params, Progress& progress, const LayerRunCallbacks& callbacks = {});

// 64-bit FNV-1a of files' bytes, as 16 hex digits (identifies inputs in run files).
std::string contentHash(const std::vector<std::filesystem::path>& files);
// The model folder's files that define it: config.json and the safetensors file(s).
std::vector<std::filesystem::path> modelFiles(const std::filesystem::path& modelDir);

}  // namespace ls
