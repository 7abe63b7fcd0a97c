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

// The continuations of one batch: B sequences decoded together (a prompt's samples), one
// forward per step for all of them, so the weights are read once per step.
struct Decoded {
    std::vector<std::vector<int32_t>> ids;  // (B) the new tokens
    std::vector<double> logProbSum;         // (B) under the condition's own model
    double prefillMs = 0, decodeMs = 0;     // the batch's
};

// (B, T) int64 from B sequences of the same length.
torch::Tensor idTensor(const std::vector<std::vector<int32_t>>& sequences) {
    std::vector<int64_t> flat;
    for (const auto& s : sequences) flat.insert(flat.end(), s.begin(), s.end());
    return torch::tensor(flat, torch::kInt64).view({static_cast<int64_t>(sequences.size()), -1});
}

// newTokens tokens continuing each of `contexts` (the same length) under a condition, each with
// its own random stream. With the cache, the contexts are one forward (one sequence when they
// are all the same: the cache takes its keys and values for every row) and every new token one
// position; without, every token re-runs the whole sequences. onToken: after each step, with the
// tokens so far.
Decoded decode(const Model::Impl& m, const std::vector<std::vector<int32_t>>& contexts, int newTokens,
               const ForwardOptions& condition, bool useCache, const SamplingParams& sampling, std::vector<Stream>& streams,
               Progress& progress, const std::function<void(const Decoded&)>& onToken) {
    const int64_t V = m.config.vocabSize, B = static_cast<int64_t>(contexts.size());
    const bool same = std::all_of(contexts.begin(), contexts.end(), [&](const auto& c) { return c == contexts.front(); });
    Decoded d;
    d.ids.assign(static_cast<size_t>(B), {});
    d.logProbSum.assign(static_cast<size_t>(B), 0.0);
    KvCache cache;
    ForwardOptions o = condition;
    if (useCache) {
        cache = m.makeCache(B, static_cast<int64_t>(contexts.front().size()) + newTokens);
        o.cache = &cache;
    }
    std::vector<std::vector<int32_t>> sequences = contexts;
    for (int i = 0; i < newTokens; ++i) {
        if (progress.isCanceled()) throw Canceled();
        const auto start = Clock::now();
        torch::Tensor input;  // (B or 1, T)
        if (useCache && i > 0) {
            std::vector<std::vector<int32_t>> last;
            for (const auto& s : sequences) last.push_back({s.back()});
            input = idTensor(last);
        } else {
            input = same && i == 0 ? idTensor({sequences.front()}) : idTensor(sequences);
        }
        o.logitsFrom = input.size(1) - 1;
        const torch::Tensor logits = m.forward(input, o).contiguous();  // (B or 1, 1, V)
        std::vector<int32_t> tokens(static_cast<size_t>(B));
        for (int64_t b = 0; b < B; ++b) {
            const float* row = logits.data_ptr<float>() + (logits.size(0) == 1 ? 0 : b) * V;
            tokens[static_cast<size_t>(b)] = pickToken(row, V, sampling, streams[static_cast<size_t>(b)]);
        }
        (i == 0 ? d.prefillMs : d.decodeMs) += msSince(start);
        for (int64_t b = 0; b < B; ++b) {
            const float* row = logits.data_ptr<float>() + (logits.size(0) == 1 ? 0 : b) * V;
            const auto at = static_cast<size_t>(b);
            d.logProbSum[at] += logProbability(row, V, tokens[at]);
            d.ids[at].push_back(tokens[at]);
            sequences[at].push_back(tokens[at]);
        }
        onToken(d);
    }
    return d;
}

// exp(mean -log p(new token | before)) under the unmodified model, per sequence of the batch:
// one forward. contexts (B), the same length; ids (B), N tokens each.
std::vector<double> perplexityOfContinuations(const Model::Impl& m, const std::vector<std::vector<int32_t>>& contexts,
                                              const std::vector<std::vector<int32_t>>& ids) {
    std::vector<std::vector<int32_t>> sequences = contexts;
    for (size_t b = 0; b < sequences.size(); ++b) sequences[b].insert(sequences[b].end(), ids[b].begin(), ids[b].end());
    ForwardOptions o;
    o.logitsFrom = static_cast<int64_t>(contexts.front().size()) - 1;
    o.logitsTo = static_cast<int64_t>(sequences.front().size()) - 1;
    const torch::Tensor logits = m.forward(idTensor(sequences), o);  // (B, N, V)
    std::vector<double> out;
    for (size_t b = 0; b < ids.size(); ++b) {
        const torch::Tensor logp = torch::log_softmax(logits[static_cast<int64_t>(b)].to(torch::kFloat64), -1);  // (N, V)
        const torch::Tensor targets = torch::tensor(std::vector<int64_t>(ids[b].begin(), ids[b].end()), torch::kInt64).view({-1, 1});
        out.push_back(std::exp(-logp.gather(1, targets).mean().item<double>()));
    }
    return out;
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
                // A prompt's samples decode as one batch, iteration by iteration (each sample
                // refines its own previous iteration); rows go out in (sample, iteration) order.
                std::vector<Continuation> rows;
                std::vector<std::vector<int32_t>> previous(static_cast<size_t>(samples));
                const auto flush = [&] {
                    std::sort(rows.begin(), rows.end(), [](const Continuation& a, const Continuation& b) {
                        return a.sample != b.sample ? a.sample < b.sample : a.iteration < b.iteration;
                    });
                    for (Continuation& c : rows) r.continuations.push_back(std::move(c));
                    rows.clear();
                };
                try {
                    for (int k = 1; k <= params.refine; ++k) {
                        std::vector<std::vector<int32_t>> contexts;
                        std::vector<Stream> streams;
                        for (int s = 0; s < samples; ++s) {
                            std::vector<int32_t> context = prompts[p].ids;
                            if (k > 1) {  // prompt, separator, the previous iteration's tokens, separator
                                const auto& before = previous[static_cast<size_t>(s)];
                                context.insert(context.end(), separator.begin(), separator.end());
                                context.insert(context.end(), before.begin(), before.end());
                                context.insert(context.end(), separator.begin(), separator.end());
                            }
                            contexts.push_back(std::move(context));
                            streams.emplace_back(params.sampling.seed, static_cast<int>(p), s, k);
                        }
                        // Sample s's continuation so far: who it is, its tokens and their text.
                        const auto continuation = [&](int s, const std::vector<int32_t>& ids) {
                            Continuation c;
                            c.condition = static_cast<int>(ci);
                            c.prompt = static_cast<int>(p);
                            c.sample = s;
                            c.iteration = k;
                            c.ids = ids;
                            if (tokenizer) c.text = tokenizer->decode(ids);
                            return c;
                        };
                        const auto report = [&](Continuation c, bool finished) {
                            GenerationProgress live;
                            live.continuation = std::move(c);
                            live.finished = finished;
                            live.promptText = prompts[p].text.empty()
                                                  ? "(" + std::to_string(prompts[p].ids.size()) + " token ids)"
                                                  : prompts[p].text;
                            onContinuation(live);
                        };
                        auto lastReport = Clock::now();
                        const auto onToken = [&](const Decoded& sofar) {
                            progress.setFraction((done += samples) / total);
                            if (!onContinuation || msSince(lastReport) < 200) return;
                            lastReport = Clock::now();
                            for (int s = 0; s < samples; ++s)  // the texts so far, for the views
                                report(continuation(s, sofar.ids[static_cast<size_t>(s)]), false);
                        };
                        const Decoded d = decode(m, contexts, N, options, params.useCache, params.sampling, streams, progress, onToken);
                        const bool baseline = conditions[ci].kind == GenerationCondition::Kind::Baseline;
                        // the baseline's own log-probabilities are the unmodified model's
                        const std::vector<double> pplBase = baseline ? std::vector<double>{} : perplexityOfContinuations(m, contexts, d.ids);
                        for (int s = 0; s < samples; ++s) {
                            const auto at = static_cast<size_t>(s);
                            Continuation c = continuation(s, d.ids[at]);
                            c.contextTokens = static_cast<int64_t>(contexts[at].size());
                            c.prefillMs = d.prefillMs;
                            c.msPerToken = N > 1 ? d.decodeMs / (N - 1) : std::nan("");
                            c.tokensPerSecond = N > 1 ? 1000.0 / c.msPerToken : std::nan("");
                            c.pplSelf = std::exp(-d.logProbSum[at] / N);
                            c.pplBase = baseline ? c.pplSelf : pplBase[at];
                            for (int n = 1; n <= 3; ++n) c.distinct[n - 1] = distinctNgrams(c.ids, n);
                            c.longestRepeat = longestRepeat(c.ids);
                            previous[at] = c.ids;
                            if (onContinuation) report(c, true);
                            rows.push_back(std::move(c));
                        }
                    }
                } catch (const Canceled&) {
                    flush();  // the iterations finished stay
                    throw;
                }
                flush();
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
    LayerRunParams p;
    p.analyses = {"generate"};
    p.generation = params;
    LayerRun run = ownCommandRun(model, std::move(info), std::move(p), result.complete);
    run.setResult("generate", std::move(result));
    return run;
}

}  // namespace ls
