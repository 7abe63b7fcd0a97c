#pragma once
// One prompt under the microscope (`layerscope-cli prompt`, the GUI's Microscope panel): every
// layer x head attention pattern with per-head summaries, and the direct logit attribution of
// one token at one position to the embeddings, every head, every attention bias and every MLP.
//
// Definitions (docs/microscope.md has them with the CSV columns). L blocks (named from 1), H
// query heads (from 0), T positions (from 0), x_i the prompt's token at i, w_ij head attention.
//   attention summaries, each the mean over query positions i = 1..T-1 (position 0 can only
//   attend to itself):
//     entropy          -sum_j w_ij ln w_ij (nats)
//     first_token      w_i0
//     previous_token   w_i,i-1
//     duplicate_token  sum of w_ij over j < i with x_j = x_i; mean over the i that have such a j
//     induction        sum of w_i,j+1 over j + 1 < i with x_j = x_i (the token after an earlier
//                      occurrence of the current one); mean over the i that have such a j
//     (NaN where no position qualifies).
//   direct logit attribution at position P of token t: the residual stream h_L(P) is the sum of
//   the embeddings, each head's output through its slice of W_O, each block's attention output
//   bias and each MLP's output. Frozen at P, the final norm is linear in them: a component c adds
//     LayerNorm  W_U[t] . (gamma * (c - mean(c)) / s),  s = sqrt(var(h_L(P)) + eps)
//     RMSNorm    W_U[t] . (gamma * c / s),               s = sqrt(mean(h_L(P)^2) + eps)
//   to the logit z_t(P); the components add up to z_t(P) - W_U[t] . beta (LayerNorm's bias).
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "analysis/analysis_result.h"
#include "data/prompts.h"
#include "io/table.h"

namespace ls {

class Model;
class Tokenizer;
struct LayerRun;
struct RunInfo;

struct HeadPatternSummary {
    int layer = 0;  // 1..L
    int head = 0;   // 0..H-1
    double entropy = 0, firstToken = 0, previousToken = 0, duplicateToken = 0, induction = 0;
};

struct AttentionPatterns {
    int numLayers = 0, numHeads = 0, tokens = 0;  // L, H, T
    std::vector<float> weights;                   // (L, H, T, T) row-major: [layer-1][head][query][key], 0 above the diagonal
    std::vector<HeadPatternSummary> summaries;    // (layer, head) order
    // The weight of query i on key j in head `head` of block `layer` (1-based).
    float weight(int layer, int head, int query, int key) const {
        return weights[((static_cast<size_t>(layer - 1) * numHeads + head) * tokens + query) * tokens + key];
    }
};
// The summaries of one head's pattern w (T, T) row-major, for tokens x (T).
HeadPatternSummary summarisePattern(const float* w, const std::vector<int32_t>& x);

// A vocabulary token and a component's direct effect on its logit.
struct TokenEffect {
    int32_t id = 0;
    double value = 0;
};

struct LogitComponent {
    enum class Kind { Embeddings, Head, AttentionBias, Mlp };
    Kind kind = Kind::Head;
    int layer = 0;   // 0 for the embeddings, else 1..L
    int head = -1;   // 0..H-1 for a head, else -1
    double value = 0;                     // its share of the chosen token's logit
    std::vector<TokenEffect> promoted;    // the tokens it raises most, largest first
    std::vector<TokenEffect> suppressed;  // the tokens it lowers most, most negative first
};
std::string componentKindName(LogitComponent::Kind kind);  // "embeddings", "head", "attention_bias", "mlp"
LogitComponent::Kind parseComponentKind(const std::string& name);  // throws ls::Error
// "embeddings", "block 3 head 2 (L2H2)" (with the TransformerLens name), "block 3 attention bias", "block 3 MLP".
std::string componentLabel(const LogitComponent& c);

struct LogitAttribution {
    int position = 0;
    int32_t token = 0;
    std::string tokenSource;  // "target" (the prompt's next token), "prediction" (the model's top) or "chosen"
    double logit = 0;             // the model's z_t(P)
    double componentsSum = 0;     // sum of the components' values
    double finalNormBias = 0;     // W_U[t] . beta (0 for RMSNorm)
    double finalNormScale = 0;    // s
    std::vector<LogitComponent> components;  // embeddings; per block its heads, attention bias (if any), MLP
};

struct PromptParams {
    int position = -1;   // -1: the last position
    int32_t token = -1;  // -1: the prompt's next token at the position, or the model's top prediction at the last
    int top = 10;        // promoted and suppressed tokens per component
};

struct PromptResult : AnalysisResult {
    Prompt prompt;                      // its text (empty for ids) and ids
    std::vector<std::string> tokenTexts;  // per position: the token's text, or its id without a tokenizer
    std::string chosenTokenText;        // the attributed token's text (or id)
    AttentionPatterns attention;
    LogitAttribution attribution;
    std::map<int32_t, std::string> effectTexts;  // the text of every token in a promoted / suppressed list
    std::string effectText(int32_t id) const {
        const auto it = effectTexts.find(id);
        return it == effectTexts.end() ? "#" + std::to_string(id) : it->second;
    }
    double seconds = 0;
    int64_t ownPassTokens() const override { return static_cast<int64_t>(prompt.ids.size()); }
    int64_t ownPassWindows() const override { return 1; }
};

// The longest prompt runPrompt takes: it keeps L x H x T x T attention weights (and the
// attention table a row for each), 268 MB for 32 x 32 heads at 256 tokens.
inline constexpr int kMaxPromptTokens = 256;

// One forward of the prompt. Throws ls::ParamError("position" / "token" / "top") for a choice
// outside the prompt or the vocabulary, ls::Error for a prompt longer than the context.
PromptResult runPrompt(const Model& model, const Tokenizer* tokenizer, const Prompt& prompt, const PromptParams& params);
// The text a token stands for, for labels: the tokenizer's, else "#id".
std::string tokenLabel(const Tokenizer* tokenizer, int32_t id);

// The run that keeps it (run files, `show`, the GUI).
LayerRun promptRun(const Model& model, RunInfo info, const PromptParams& params, PromptResult result);

// prompt_tokens, attention_summary, attention, dla_summary, dla, dla_top; and back.
std::vector<Table> promptTables(const PromptResult& result);
PromptResult promptFromTables(const std::vector<Table>& tables);

}  // namespace ls
