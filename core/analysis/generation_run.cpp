// Decoding under a condition: the prompt prefilled into a KV cache, then one position per new
// token, the condition's head interventions inside the forward (ablated heads edited, ReLU
// heads on their own kernel). Shapes: T positions, V vocabulary, H heads, hd head dim.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <random>

#include "analysis/generation.h"
#include "analysis/layer_run.h"
#include "common/error.h"
#include "model/transformer_internal.h"
#include "tokenizer/tokenizer.h"

namespace ls {

namespace {

using Clock = std::chrono::steady_clock;
double msSince(Clock::time_point t) { return std::chrono::duration<double, std::milli>(Clock::now() - t).count(); }

// A continuation's random stream: its own for (seed, prompt, sample, iteration), the same for
// every condition (so conditions are compared on the same draws). mt19937_64 is specified
// bit for bit by the standard; uniform() avoids the library-defined distributions.
class Stream {
public:
    Stream(uint64_t seed, int prompt, int sample, int iteration) {
        uint64_t x = seed;
        for (const uint64_t part : {uint64_t(prompt), uint64_t(sample), uint64_t(iteration)}) x = splitmix(x ^ splitmix(part + 1));
        engine_.seed(x);
    }
    double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }  // [0, 1)

private:
    static uint64_t splitmix(uint64_t z) {
        z += 0x9e3779b97f4a7c15ULL;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    std::mt19937_64 engine_;
};

// The next token from one position's logits (V).
int32_t pickToken(const float* logits, int64_t V, const SamplingParams& s, Stream& stream) {
    if (s.greedy) return static_cast<int32_t>(std::max_element(logits, logits + V) - logits);  // first maximum
    // Candidates by decreasing logit: the top-k, or (for top-p) the first that can hold the
    // nucleus: the 256 largest, all of them if those do not reach P.
    std::vector<int32_t> order(static_cast<size_t>(V));
    std::iota(order.begin(), order.end(), 0);
    const auto higher = [&](int32_t a, int32_t b) { return logits[a] != logits[b] ? logits[a] > logits[b] : a < b; };
    const double maxLogit = *std::max_element(logits, logits + V);
    double sumAll = 0;  // softmax(z / T) over the kept set's denominator
    const int64_t k = s.topK > 0 ? std::min<int64_t>(s.topK, V) : V;
    if (k < V) {
        std::partial_sort(order.begin(), order.begin() + k, order.end(), higher);
        order.resize(static_cast<size_t>(k));
    }
    for (const int32_t id : order) sumAll += std::exp((logits[id] - maxLogit) / s.temperature);
    if (s.topP < 1.0) {
        size_t sorted = std::min<size_t>(256, order.size());
        std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(sorted), order.end(), higher);
        for (;;) {
            double mass = 0;
            size_t keep = 0;
            while (keep < sorted && mass < s.topP * sumAll) mass += std::exp((logits[order[keep++]] - maxLogit) / s.temperature);
            if (mass >= s.topP * sumAll || sorted == order.size()) {
                order.resize(keep);
                break;
            }
            sorted = order.size();
            std::sort(order.begin(), order.end(), higher);
        }
    }
    std::vector<double> weights(order.size());
    double total = 0;
    for (size_t i = 0; i < order.size(); ++i) total += weights[i] = std::exp((logits[order[i]] - maxLogit) / s.temperature);
    double u = stream.uniform() * total;
    for (size_t i = 0; i < order.size(); ++i) {
        if (u < weights[i]) return order[i];
        u -= weights[i];
    }
    return order.back();
}

// log softmax(logits)[token] in float64.
double logProbability(const float* logits, int64_t V, int32_t token) {
    const double maxLogit = *std::max_element(logits, logits + V);
    double sum = 0;
    for (int64_t i = 0; i < V; ++i) sum += std::exp(static_cast<double>(logits[i]) - maxLogit);
    return static_cast<double>(logits[token]) - maxLogit - std::log(sum);
}

torch::Tensor idTensor(const std::vector<int32_t>& ids) {
    return torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()), torch::kInt64).view({1, -1});
}

// A condition inside the forward: its ReLU kernels and its head edits. (layer, head) from 1.
struct ConditionForward {
    ReluHeads relu;
    std::vector<std::vector<std::pair<int64_t, torch::Tensor>>> edits;  // [0-based layer] -> (head, value or undefined = 0)

    ConditionForward(const GenerationCondition& c, const ModelConfig& config, const std::vector<float>& headMeans,
                     ReluNormalize normalize) {
        relu.rowSum = normalize == ReluNormalize::RowSum;
        edits.resize(static_cast<size_t>(config.numLayers));
        for (const HeadId& id : c.heads) {
            const int l = id.layer - 1;
            if (c.kind == GenerationCondition::Kind::Relu) {
                relu.byLayer[l].push_back(id.head);
            } else if (c.kind == GenerationCondition::Kind::ZeroAblate) {
                edits[static_cast<size_t>(l)].push_back({id.head, torch::Tensor()});
            } else {  // the head's mean output (hd), from (L, H, hd)
                const size_t at = (static_cast<size_t>(l) * config.numHeads + id.head) * config.headDim;
                edits[static_cast<size_t>(l)].push_back(
                    {id.head, torch::from_blob(const_cast<float*>(headMeans.data() + at), {config.headDim}, torch::kFloat32).clone()});
            }
        }
    }
    ForwardOptions options() const {
        ForwardOptions o;
        if (!relu.empty()) o.reluHeads = &relu;
        bool anyEdit = false;
        for (const auto& layer : edits) anyEdit = anyEdit || !layer.empty();
        if (anyEdit)
            o.editHeadOutputs = [this](int l, torch::Tensor& heads) {  // (B, T, H, hd)
                for (const auto& [head, value] : edits[static_cast<size_t>(l)]) {
                    torch::Tensor slice = heads.select(2, head);  // (B, T, hd)
                    if (value.defined()) slice.copy_(value.expand_as(slice));
                    else slice.zero_();
                }
            };
        return o;
    }
};

struct Decoded {
    std::vector<int32_t> ids;
    double prefillMs = 0, decodeMs = 0;
    double logProbSum = 0;  // under the condition's own model
};

// newTokens tokens continuing `context` under a condition. With the cache, the context is one
// forward and every new token one position; without, every token re-runs the whole sequence.
// onToken: after each token (progress within a long continuation).
Decoded decode(const Model::Impl& m, const std::vector<int32_t>& context, int newTokens, const ForwardOptions& condition,
               bool useCache, const SamplingParams& sampling, Stream& stream, Progress& progress,
               const std::function<void()>& onToken) {
    const int64_t V = m.config.vocabSize;
    Decoded d;
    KvCache cache;
    ForwardOptions o = condition;
    if (useCache) {
        cache = m.makeCache(1, static_cast<int64_t>(context.size()) + newTokens);
        o.cache = &cache;
    }
    std::vector<int32_t> sequence = context;
    for (int i = 0; i < newTokens; ++i) {
        if (progress.isCanceled()) throw Canceled();
        const auto start = Clock::now();
        const std::vector<int32_t> input = useCache && i > 0 ? std::vector<int32_t>{sequence.back()} : sequence;
        o.logitsFrom = static_cast<int64_t>(input.size()) - 1;
        const torch::Tensor logits = m.forward(idTensor(input), o).contiguous();  // (1, 1, V)
        const float* row = logits.data_ptr<float>();
        const int32_t token = pickToken(row, V, sampling, stream);
        (i == 0 ? d.prefillMs : d.decodeMs) += msSince(start);
        d.logProbSum += logProbability(row, V, token);
        d.ids.push_back(token);
        sequence.push_back(token);
        onToken();
    }
    return d;
}

// exp(mean -log p(new token | before)) under the unmodified model: one forward.
double perplexityOfContinuation(const Model::Impl& m, const std::vector<int32_t>& context, const std::vector<int32_t>& ids) {
    std::vector<int32_t> sequence = context;
    sequence.insert(sequence.end(), ids.begin(), ids.end());
    ForwardOptions o;
    o.logitsFrom = static_cast<int64_t>(context.size()) - 1;
    o.logitsTo = static_cast<int64_t>(sequence.size()) - 1;
    const torch::Tensor logp = torch::log_softmax(m.forward(idTensor(sequence), o).squeeze(0).to(torch::kFloat64), -1);  // (N, V)
    const torch::Tensor targets = torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()), torch::kInt64).view({-1, 1});
    return std::exp(-logp.gather(1, targets).mean().item<double>());
}

void checkParams(const GenerationParams& p, const std::vector<GenerationCondition>& conditions, const std::vector<float>& headMeans,
                 const ModelConfig& config) {
    if (p.maxNewTokens < 1) throw ParamError("max-new-tokens", "must be at least 1");
    if (p.refine < 1) throw ParamError("refine", "must be at least 1 (1 = no refinement)");
    for (const int n : p.bestOf)
        if (n < 1) throw ParamError("best-of", "every N must be at least 1");
    if (p.bestOf.empty()) throw ParamError("best-of", "give at least one N");
    if (!p.sampling.greedy) {
        if (!(p.sampling.temperature > 0)) throw ParamError("temperature", "must be above 0");
        if (p.sampling.topK < 0) throw ParamError("top-k", "must be at least 0 (0 = every token)");
        if (!(p.sampling.topP > 0 && p.sampling.topP <= 1)) throw ParamError("top-p", "must be in (0, 1]");
    } else if (p.samples() > 1) {
        throw ParamError("best-of", "N > 1 needs sampling (greedy decoding gives N identical continuations): give --temperature");
    }
    if (conditions.empty()) throw ParamError("condition", "give at least one condition");
    const size_t means = static_cast<size_t>(config.numLayers) * config.numHeads * config.headDim;
    for (const GenerationCondition& c : conditions)
        if (c.kind == GenerationCondition::Kind::MeanAblate && headMeans.size() != means)
            throw ParamError("condition", "'" + c.name + "' needs the heads' mean outputs: give --data (a dataset to compute "
                                                         "them on) or --means RUN.h5 (an ablation run)");
}

}  // namespace

GenerationResult runGeneration(const Model& model, const Tokenizer* tokenizer, const std::vector<Prompt>& prompts,
                               const std::vector<GenerationCondition>& conditions, const GenerationParams& params,
                               const std::vector<float>& headMeans, Progress& progress,
                               const std::function<void(const GenerationProgress&)>& onContinuation) {
    const auto start = Clock::now();
    const Model::Impl& m = model.impl();
    const ModelConfig& config = model.config();
    checkParams(params, conditions, headMeans, config);
    if (prompts.empty()) throw Error("no prompt to continue");
    bool textPrompts = tokenizer != nullptr;
    for (const Prompt& p : prompts) textPrompts = textPrompts && !p.text.empty();
    const std::vector<int32_t> separator = textPrompts && params.refine > 1 ? tokenizer->encode(params.separator) : std::vector<int32_t>{};
    const int N = params.maxNewTokens;
    for (size_t i = 0; i < prompts.size(); ++i) {
        checkTokenIds(config, prompts[i].ids.data(), static_cast<int64_t>(prompts[i].ids.size()));
        const int64_t needed = static_cast<int64_t>(prompts[i].ids.size()) + N +
                               (params.refine > 1 ? N + 2 * static_cast<int64_t>(separator.size()) : 0);
        if (needed > config.maxPositions)
            throw Error("prompt " + std::to_string(i + 1) + " has " + std::to_string(prompts[i].ids.size()) + " tokens; with " +
                        std::to_string(N) + " new tokens" + (params.refine > 1 ? " and refinement" : "") + " it needs " +
                        std::to_string(needed) + " positions, more than the model's context of " +
                        std::to_string(config.maxPositions) + ": shorten it or lower --max-new-tokens");
    }

    GenerationResult r;
    r.conditions = conditions;
    r.prompts = prompts;
    r.bestOf = params.bestOf;
    r.refine = params.refine;
    const int samples = params.samples();
    const double total = static_cast<double>(conditions.size() * prompts.size()) * samples * params.refine * N;
    double done = 0;
    torch::InferenceMode inference;
    try {
        for (size_t ci = 0; ci < conditions.size(); ++ci) {
            const ConditionForward forward(conditions[ci], config, headMeans, params.normalize);
            const ForwardOptions options = forward.options();
            for (size_t p = 0; p < prompts.size(); ++p) {
                progress.setStage("Generating: " + conditions[ci].name + ", prompt " + std::to_string(p + 1) + " of " +
                                  std::to_string(prompts.size()));
                for (int s = 0; s < samples; ++s) {
                    std::vector<int32_t> previous;
                    for (int k = 1; k <= params.refine; ++k) {
                        std::vector<int32_t> context = prompts[p].ids;
                        if (k > 1) {  // prompt, separator, the previous iteration's tokens, separator
                            context.insert(context.end(), separator.begin(), separator.end());
                            context.insert(context.end(), previous.begin(), previous.end());
                            context.insert(context.end(), separator.begin(), separator.end());
                        }
                        Stream stream(params.sampling.seed, static_cast<int>(p), s, k);
                        const Decoded d = decode(m, context, N, options, params.useCache, params.sampling, stream, progress,
                                                 [&] { progress.setFraction(++done / total); });
                        Continuation c;
                        c.condition = static_cast<int>(ci);
                        c.prompt = static_cast<int>(p);
                        c.sample = s;
                        c.iteration = k;
                        c.ids = d.ids;
                        if (tokenizer) c.text = tokenizer->decode(d.ids);
                        c.contextTokens = static_cast<int64_t>(context.size());
                        c.prefillMs = d.prefillMs;
                        c.msPerToken = N > 1 ? d.decodeMs / (N - 1) : std::nan("");
                        c.tokensPerSecond = N > 1 ? 1000.0 / c.msPerToken : std::nan("");
                        c.pplSelf = std::exp(-d.logProbSum / N);
                        c.pplBase = conditions[ci].kind == GenerationCondition::Kind::Baseline
                                        ? c.pplSelf  // the same model: its own log-probabilities
                                        : perplexityOfContinuation(m, context, d.ids);
                        for (int n = 1; n <= 3; ++n) c.distinct[n - 1] = distinctNgrams(d.ids, n);
                        c.longestRepeat = longestRepeat(d.ids);
                        r.continuations.push_back(std::move(c));
                        previous = d.ids;
                        if (onContinuation) {
                            GenerationProgress report;
                            report.continuation = r.continuations.back();
                            report.condition = conditions[ci].name;
                            report.promptText = prompts[p].text.empty()
                                                    ? "(" + std::to_string(prompts[p].ids.size()) + " token ids)"
                                                    : prompts[p].text;
                            onContinuation(report);
                        }
                    }
                }
            }
        }
    } catch (const Canceled&) {
        if (r.continuations.empty()) throw;
        r.complete = false;
    }
    summariseGeneration(r, config);
    r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return r;
}

LayerRun generationRun(const Model& model, RunInfo info, const GenerationParams& params, GenerationResult result) {
    LayerRun run;
    run.info = std::move(info);
    run.info.finishedAt = utcTimestamp();
    run.info.complete = result.complete;
    run.params.analyses = {"generate"};
    run.params.generation = params;
    run.capture.numLayers = model.config().numLayers;  // the model's shape, as every run file records it
    run.capture.hiddenSize = model.config().hiddenSize;
    run.setResult("generate", std::move(result));
    return run;
}

}  // namespace ls
