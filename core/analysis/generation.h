#pragma once
// Generation under interventions (seed 003, Phase 3): continuations of prompts for several
// conditions of the same model (baseline, zero / mean ablated heads, ReLU-linearised heads),
// decoded with a KV cache on the conditions' own kernels, with their speed, their PPL under the
// baseline model (the notes' measure) and under the condition's own model, repetition
// statistics, best-of-N and self-refinement, and a FLOP model.
//
// Definitions (docs/generation.md has them with the CSV columns):
//   new tokens      exactly max_new_tokens per continuation (no stop token: lengths compare).
//   ppl_base        exp(mean over the new tokens of -log p_base(token | everything before it)),
//                   p_base the unmodified model's softmax at temperature 1.
//   ppl_self        the same under the condition's model (the distribution it sampled from
//                   before temperature, top-k and top-p).
//   distinct_n      distinct n-grams / n-grams among the new tokens (NaN when there are none).
//   longest_repeat  the longest run of new tokens that occurs twice in them (overlap allowed).
//   prefill_ms      the prompt's forward, filling the cache (gives the first new token).
//   ms_per_token    each further token's decode step, averaged (tokens_per_second = 1000 / it);
//                   a prompt's samples (best-of) decode as one batch, one step for all of them.
//   best-of-N       N sampled continuations per prompt; the one with the lowest ppl_base kept.
//   self-refinement iteration k >= 2 continues from prompt + separator + iteration k-1's new
//                   tokens + separator (the separator is "\n\n" tokenized, none for id prompts).
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "analysis/analysis_result.h"
#include "analysis/heads.h"
#include "analysis/linearize.h"
#include "common/progress.h"
#include "data/prompts.h"
#include "io/table.h"

namespace ls {

class Model;
class Tokenizer;
struct LayerRun;
struct ModelConfig;
struct RunInfo;

// One condition of the model, as given on the command line:
//   baseline | ablate:HEADS | mean-ablate:HEADS | relu:HEADS | relu:N
// HEADS in TransformerLens names ("L0H3,L5": head 3 of block 1 and every head of block 6);
// relu:N = the first N heads of a linearisation order (LinearizeResult's, `--order RUN.h5`).
struct GenerationCondition {
    enum class Kind { Baseline, ZeroAblate, MeanAblate, Relu };
    std::string name;            // the spec as given: the CSV's condition column
    Kind kind = Kind::Baseline;
    std::vector<HeadId> heads;   // resolved (sorted)
};
// Throws ls::ParamError("condition", ...) naming the spec. order: heads by increasing damage
// (relu:N); empty when no order was given (relu:N then throws).
GenerationCondition parseCondition(const std::string& spec, const ModelConfig& config, const std::vector<HeadId>& order);
std::vector<GenerationCondition> parseConditions(const std::vector<std::string>& specs, const ModelConfig& config,
                                                 const std::vector<HeadId>& order);
// Whether a condition mean-ablates (the heads' mean outputs must be given).
bool needsHeadMeans(const std::vector<GenerationCondition>& conditions);

struct SamplingParams {
    bool greedy = true;        // argmax (ties: the lowest id); else sample with the rest
    double temperature = 1.0;  // > 0
    int topK = 0;              // 0 = every token
    double topP = 1.0;         // nucleus: the fewest most likely tokens whose probability reaches P
    uint64_t seed = 0;         // continuation (prompt p, sample s, iteration k) draws from its own stream
};

// "1,2,3,5" -> {1, 2, 3, 5} (sorted, each once). Throws ls::ParamError("best-of", ...).
std::vector<int> parseBestOf(const std::string& text);

// "greedy", or "temperature 0.8, top-k 50, top-p 0.95, seed 1".
std::string samplingText(const SamplingParams& sampling);

struct GenerationParams {
    std::vector<std::string> conditions{"baseline"};  // specs, in table order
    int maxNewTokens = 32;
    SamplingParams sampling;
    std::vector<int> bestOf{1};          // N values; max(N) samples are drawn per prompt
    int refine = 1;                      // iterations (1 = no refinement)
    ReluNormalize normalize = ReluNormalize::Count;
    std::string separator = "\n\n";      // between refinement iterations (text prompts)
    bool useCache = true;                // false: re-run the whole sequence for every token
    int samples() const;                 // max of bestOf
};

struct Continuation {
    int condition = 0;            // index into GenerationResult::conditions
    int prompt = 0, sample = 0, iteration = 1;  // 0-based prompt and sample, iteration from 1
    std::vector<int32_t> ids;     // the new tokens
    std::string text;             // decoded, when a tokenizer exists
    int64_t contextTokens = 0;    // what it continued from (prompt, or prompt + earlier iterations)
    double prefillMs = 0, msPerToken = 0, tokensPerSecond = 0;
    double pplBase = 0, pplSelf = 0;
    double distinct[3] = {0, 0, 0};  // distinct_1..3
    int longestRepeat = 0;
};

// FLOPs of one decoded token of a condition at a context of T positions (multiply-adds count 2;
// norms, embeddings and residual adds left out): weights (projections, MLP, head) and attention
// per head: q.k and weights.v 4 T hd, softmax 5 T (max, subtract, exp, sum, divide), the ReLU
// kernel 2 T (relu, scale).
struct FlopModel {
    int64_t context = 0;
    double weights = 0;         // per token, independent of T
    double attention = 0;       // every head softmax (the baseline)
    double total = 0;           // weights + attention
    double kernelSaving = 0;    // what the ReLU kernel saves: linearised heads x 3 T
    double boundSaving = 0;     // the bound if a linearised head's attention cost nothing (the
                                // notes' kernelised estimate): linearised heads x (4 T hd + 5 T)
};
FlopModel flopModel(const ModelConfig& config, int64_t context, int linearisedHeads);
// Tokens the saving buys at equal FLOPs: the saving over `tokens` tokens / a token's FLOPs.
int extraTokensAtEqualFlops(double savingPerToken, double totalPerToken, int64_t tokens);

struct ConditionSummary {
    std::string condition;
    int heads = 0;
    int64_t continuations = 0;
    double newTokens = 0, prefillMs = 0, msPerToken = 0, tokensPerSecond = 0;  // means
    double pplBase = 0, pplSelf = 0, distinct2 = 0, longestRepeat = 0;        // means
    FlopModel flops;             // at the longest context a continuation reached
    int kernelExtraTokens = 0, boundExtraTokens = 0;
};

struct BestOfPoint {
    std::string condition;
    int iteration = 1, n = 1;
    int64_t prompts = 0;
    double pplBase = 0;  // mean over prompts of the best of the first n samples' ppl_base
};

struct RefinementPoint {
    std::string condition;
    int iteration = 1;
    int64_t continuations = 0;
    double pplBase = 0, pplSelf = 0, distinct2 = 0, longestRepeat = 0;  // means
};

struct GenerationResult : AnalysisResult {
    std::vector<GenerationCondition> conditions;
    std::vector<Prompt> prompts;
    std::vector<Continuation> continuations;  // condition, prompt, sample, iteration order
    bool complete = true;                     // false: canceled, what was finished is here
    std::vector<int> bestOf;
    int refine = 1;
    // Summaries of the continuations (summariseGeneration).
    std::vector<ConditionSummary> summaries;
    std::vector<BestOfPoint> bestOfTable;
    std::vector<RefinementPoint> refinement;
    double seconds = 0;
};

// What the views show while it runs: a continuation so far (about every 0.2 s while it grows:
// its ids and text only) or finished (everything).
struct GenerationProgress : LiveReport {
    Continuation continuation;
    bool finished = true;
    std::string promptText;  // the prompt's text, or "(N token ids)"
};

// Generates every continuation. Mean ablation needs headMeans: (L * H * hd) float32, (layer,
// head, dim) order (ablation.h's mean head outputs). Throws ls::ParamError for bad params, ls::Error
// when a prompt plus its new tokens exceed the model's context (naming the prompt); on cancel
// returns what was finished with complete = false, or throws ls::Canceled if nothing was.
// onContinuation (may be empty) is called on the generating thread as continuations grow and
// when each is finished.
GenerationResult runGeneration(const Model& model, const Tokenizer* tokenizer, const std::vector<Prompt>& prompts,
                               const std::vector<GenerationCondition>& conditions, const GenerationParams& params,
                               const std::vector<float>& headMeans, Progress& progress,
                               const std::function<void(const GenerationProgress&)>& onContinuation = {});

// The run that keeps a generation (run files, `show`, the GUI): info from runInfoFor() taken
// when it started; finished now.
LayerRun generationRun(const Model& model, RunInfo info, const GenerationParams& params, GenerationResult result);

// Fills the per-condition, best-of-N and refinement tables from the continuations.
void summariseGeneration(GenerationResult& result, const ModelConfig& config);
// distinct_n and longest_repeat of a token sequence.
double distinctNgrams(const std::vector<int32_t>& ids, int n);
int longestRepeat(const std::vector<int32_t>& ids);

// generation (one row per continuation), generation_summary, best_of, refinement; and back.
std::vector<Table> generationTables(const GenerationResult& result);
GenerationResult generationFromTables(const std::vector<Table>& tables);

}  // namespace ls
