// Generation's plain part: conditions, the FLOP model, repetition statistics, the summary
// tables and their run-file form. The decoding itself is in generation_run.cpp.
#include "analysis/generation.h"

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "analysis/layer_run.h"
#include "analysis/registry.h"
#include "common/error.h"
#include "common/json_integer.h"
#include "io/hdf5_file.h"
#include "model/model_folder.h"

namespace ls {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double mean(const std::vector<double>& values) {
    if (values.empty()) return kNaN;
    double sum = 0;
    for (const double v : values) sum += v;
    return sum / static_cast<double>(values.size());
}

std::string idsText(const std::vector<int32_t>& ids) {
    std::string out;
    for (const int32_t id : ids) out += (out.empty() ? "" : " ") + std::to_string(id);
    return out;
}

std::vector<int32_t> idsOf(const std::string& text) {
    std::vector<int32_t> ids;
    std::istringstream in(text);
    int64_t id = 0;
    while (in >> id) {
        if (id < 0 || id > std::numeric_limits<int32_t>::max()) throw Error("a token id " + std::to_string(id) + " is out of range");
        ids.push_back(static_cast<int32_t>(id));
    }
    if (!in.eof()) throw Error("'" + text + "' is not a list of token ids");
    return ids;
}

}  // namespace

std::vector<int> parseBestOf(const std::string& text) {
    std::vector<int> out;
    std::istringstream in(text);
    std::string item;
    while (std::getline(in, item, ',')) {
        if (item.empty() || item.size() > 6 || item.find_first_not_of("0123456789") != std::string::npos || std::stoi(item) < 1)
            throw ParamError("best-of", "'" + text + "' is not a list of counts like 1,2,3,5");
        const int n = std::stoi(item);
        if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
    }
    if (out.empty()) throw ParamError("best-of", "give at least one N");
    std::sort(out.begin(), out.end());
    return out;
}

std::string samplingText(const SamplingParams& s) {
    if (s.greedy) return "greedy";
    char text[128];
    std::snprintf(text, sizeof text, "temperature %g, top-k %d, top-p %g, seed %llu", s.temperature, s.topK, s.topP,
                  static_cast<unsigned long long>(s.seed));
    return text;
}

int GenerationParams::samples() const {
    return bestOf.empty() ? 1 : *std::max_element(bestOf.begin(), bestOf.end());
}

GenerationCondition parseCondition(const std::string& spec, const ModelConfig& config, const std::vector<HeadId>& order) {
    GenerationCondition c;
    c.name = spec;
    if (spec == "baseline") return c;
    const size_t colon = spec.find(':');
    const std::string kind = spec.substr(0, colon), list = colon == std::string::npos ? "" : spec.substr(colon + 1);
    if (kind == "ablate") c.kind = GenerationCondition::Kind::ZeroAblate;
    else if (kind == "mean-ablate") c.kind = GenerationCondition::Kind::MeanAblate;
    else if (kind == "relu") c.kind = GenerationCondition::Kind::Relu;
    else
        throw ParamError("condition", "'" + spec + "' is not a condition: baseline, ablate:HEADS, mean-ablate:HEADS, "
                                                   "relu:HEADS or relu:N (heads like L0H3,L5)");
    if (list.empty()) throw ParamError("condition", "'" + spec + "' names no heads (e.g. " + kind + ":L0H3,L5)");
    if (c.kind == GenerationCondition::Kind::Relu && list.find_first_not_of("0123456789") == std::string::npos) {
        if (order.empty())
            throw ParamError("condition", "'" + spec + "' takes the first heads of a linearisation order: give --order RUN.h5 "
                                                       "(a run with the linearize analysis), or name the heads (relu:L0H1,L3)");
        const size_t n = list.size() > 6 ? order.size() + 1 : static_cast<size_t>(std::stoi(list));
        if (n > order.size())
            throw ParamError("condition", "'" + spec + "' asks for more heads than the order has (" + std::to_string(order.size()) + ")");
        c.heads.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n));
        std::sort(c.heads.begin(), c.heads.end());
        return c;
    }
    try {
        c.heads = parseHeadList(list, config.numLayers, config.numHeads);
    } catch (const ParamError& e) {
        throw ParamError("condition", "'" + spec + "': " + e.problem());
    }
    return c;
}

std::vector<GenerationCondition> parseConditions(const std::vector<std::string>& specs, const ModelConfig& config,
                                                 const std::vector<HeadId>& order) {
    std::vector<GenerationCondition> out;
    for (const std::string& spec : specs) out.push_back(parseCondition(spec, config, order));
    return out;
}

bool needsHeadMeans(const std::vector<GenerationCondition>& conditions) {
    return std::any_of(conditions.begin(), conditions.end(),
                       [](const GenerationCondition& c) { return c.kind == GenerationCondition::Kind::MeanAblate; });
}

FlopModel flopModel(const ModelConfig& c, int64_t context, int linearisedHeads) {
    const double D = c.hiddenSize, H = c.numHeads, KVH = c.numKvHeads, hd = c.headDim, F = c.intermediateSize,
                 V = c.vocabSize, L = c.numLayers, T = static_cast<double>(context);
    const double mlpMatrices = c.modelType == "llama" ? 3 : 2;  // gate, up, down / fc, proj
    FlopModel f;
    f.context = context;
    f.weights = L * 2 * (D * (H + 2 * KVH) * hd + H * hd * D + mlpMatrices * D * F) + 2 * D * V;
    f.attention = L * H * (4 * T * hd + 5 * T);
    f.total = f.weights + f.attention;
    f.kernelSaving = linearisedHeads * 3 * T;
    f.boundSaving = linearisedHeads * (4 * T * hd + 5 * T);
    return f;
}

int extraTokensAtEqualFlops(double savingPerToken, double totalPerToken, int64_t tokens) {
    const double perToken = totalPerToken - savingPerToken;  // what the condition's token costs
    if (perToken <= 0 || tokens <= 0) return 0;
    return static_cast<int>(std::floor(savingPerToken * static_cast<double>(tokens) / perToken));
}

double distinctNgrams(const std::vector<int32_t>& ids, int n) {
    if (static_cast<int>(ids.size()) < n) return kNaN;
    std::set<std::vector<int32_t>> seen;
    for (size_t i = 0; i + static_cast<size_t>(n) <= ids.size(); ++i) seen.emplace(ids.begin() + i, ids.begin() + i + n);
    return static_cast<double>(seen.size()) / static_cast<double>(ids.size() - static_cast<size_t>(n) + 1);
}

int longestRepeat(const std::vector<int32_t>& ids) {
    // longest common prefix of two different suffixes: run[i][j] = length of the common run
    // starting at i and j (i < j), kept one row at a time (O(n^2) time, O(n) memory)
    const size_t n = ids.size();
    int best = 0;
    std::vector<int> next(n + 1, 0), row(n + 1, 0);
    for (size_t i = n; i-- > 0;) {
        std::fill(row.begin(), row.end(), 0);
        for (size_t j = n; j-- > i + 1;)
            if (ids[i] == ids[j]) {
                row[j] = next[j + 1] + 1;
                best = std::max(best, row[j]);
            }
        std::swap(row, next);
    }
    return best;
}

void summariseGeneration(GenerationResult& r, const ModelConfig& config) {
    r.summaries.clear();
    r.bestOfTable.clear();
    r.refinement.clear();
    for (size_t ci = 0; ci < r.conditions.size(); ++ci) {
        const GenerationCondition& condition = r.conditions[ci];
        const int linearised = condition.kind == GenerationCondition::Kind::Relu ? static_cast<int>(condition.heads.size()) : 0;
        ConditionSummary s;
        s.condition = condition.name;
        s.heads = static_cast<int>(condition.heads.size());
        std::vector<double> newTokens, prefill, msPerToken, tps, pplBase, pplSelf, distinct2, repeat;
        std::map<int, std::vector<const Continuation*>> byIteration;
        int64_t context = 0;
        for (const Continuation& c : r.continuations) {
            if (c.condition != static_cast<int>(ci)) continue;
            newTokens.push_back(static_cast<double>(c.ids.size()));
            prefill.push_back(c.prefillMs);
            if (c.ids.size() > 1) {  // one new token has no decode step
                msPerToken.push_back(c.msPerToken);
                tps.push_back(c.tokensPerSecond);
            }
            pplBase.push_back(c.pplBase);
            pplSelf.push_back(c.pplSelf);
            if (!std::isnan(c.distinct[1])) distinct2.push_back(c.distinct[1]);
            repeat.push_back(c.longestRepeat);
            context = std::max<int64_t>(context, c.contextTokens + static_cast<int64_t>(c.ids.size()));
            byIteration[c.iteration].push_back(&c);
        }
        s.continuations = static_cast<int64_t>(newTokens.size());
        s.newTokens = mean(newTokens);
        s.prefillMs = mean(prefill);
        s.msPerToken = mean(msPerToken);
        s.tokensPerSecond = mean(tps);
        s.pplBase = mean(pplBase);
        s.pplSelf = mean(pplSelf);
        s.distinct2 = mean(distinct2);
        s.longestRepeat = mean(repeat);
        s.flops = flopModel(config, context, linearised);
        const auto tokens = static_cast<int64_t>(std::lround(std::isnan(s.newTokens) ? 0 : s.newTokens));
        s.kernelExtraTokens = extraTokensAtEqualFlops(s.flops.kernelSaving, s.flops.total, tokens);
        s.boundExtraTokens = extraTokensAtEqualFlops(s.flops.boundSaving, s.flops.total, tokens);
        r.summaries.push_back(s);

        for (const auto& [iteration, list] : byIteration) {
            RefinementPoint p;
            p.condition = condition.name;
            p.iteration = iteration;
            std::vector<double> b, self, d2, rep;
            for (const Continuation* c : list) {
                b.push_back(c->pplBase);
                self.push_back(c->pplSelf);
                if (!std::isnan(c->distinct[1])) d2.push_back(c->distinct[1]);
                rep.push_back(c->longestRepeat);
            }
            p.continuations = static_cast<int64_t>(list.size());
            p.pplBase = mean(b);
            p.pplSelf = mean(self);
            p.distinct2 = mean(d2);
            p.longestRepeat = mean(rep);
            r.refinement.push_back(p);
            // best of the first n samples of each prompt (only prompts that have all n)
            for (const int n : r.bestOf) {
                std::map<int, std::vector<double>> byPrompt;  // prompt -> ppl_base of samples 0..n-1
                for (const Continuation* c : list)
                    if (c->sample < n) byPrompt[c->prompt].push_back(c->pplBase);
                std::vector<double> best;
                for (const auto& [prompt, ppls] : byPrompt)
                    if (static_cast<int>(ppls.size()) == n) best.push_back(*std::min_element(ppls.begin(), ppls.end()));
                r.bestOfTable.push_back({condition.name, iteration, n, static_cast<int64_t>(best.size()), mean(best)});
            }
        }
    }
}

std::vector<Table> generationTables(const GenerationResult& r) {
    using K = Column::Kind;
    Table rows{"generation", "Generated continuations", {}};
    addColumns(rows, {{"condition", K::Text}, {"prompt", K::Integer}, {"sample", K::Integer}, {"iteration", K::Integer},
                      {"new_tokens", K::Integer}, {"prefill_ms", K::Real}, {"ms_per_token", K::Real},
                      {"tokens_per_second", K::Real}, {"ppl_base", K::Real}, {"ppl_self", K::Real}, {"distinct_1", K::Real},
                      {"distinct_2", K::Real}, {"distinct_3", K::Real}, {"longest_repeat", K::Integer}});
    Table texts{"generation_texts", "Generated token ids and text", {}};
    addColumns(texts, {{"condition", K::Text}, {"prompt", K::Integer}, {"sample", K::Integer}, {"iteration", K::Integer},
                       {"context_tokens", K::Integer}, {"ids", K::Text}, {"text", K::Text}});
    for (const Continuation& c : r.continuations) {
        const std::string& name = r.conditions[static_cast<size_t>(c.condition)].name;
        addRow(rows, {name, c.prompt, c.sample, c.iteration, static_cast<int64_t>(c.ids.size()), c.prefillMs, c.msPerToken,
                      c.tokensPerSecond, c.pplBase, c.pplSelf, c.distinct[0], c.distinct[1], c.distinct[2], c.longestRepeat});
        addRow(texts, {name, c.prompt, c.sample, c.iteration, c.contextTokens, idsText(c.ids), c.text});
    }
    Table prompts{"generation_prompts", "Prompts", {}};
    addColumns(prompts, {{"prompt", K::Integer}, {"tokens", K::Integer}, {"ids", K::Text}, {"text", K::Text}});
    for (size_t i = 0; i < r.prompts.size(); ++i)
        addRow(prompts, {static_cast<int64_t>(i), static_cast<int64_t>(r.prompts[i].ids.size()), idsText(r.prompts[i].ids),
                         r.prompts[i].text});
    Table summary{"generation_summary", "Generation per condition (means over continuations; FLOPs per token)", {}};
    addColumns(summary, {{"condition", K::Text}, {"heads", K::Integer}, {"continuations", K::Integer},
                         {"new_tokens", K::Real}, {"prefill_ms", K::Real}, {"ms_per_token", K::Real},
                         {"tokens_per_second", K::Real}, {"ppl_base", K::Real}, {"ppl_self", K::Real},
                         {"distinct_2", K::Real}, {"longest_repeat", K::Real}, {"context", K::Integer},
                         {"weight_flops", K::Real}, {"attention_flops", K::Real}, {"total_flops", K::Real},
                         {"kernel_saving_flops", K::Real}, {"kernel_saving_percent", K::Real},
                         {"kernel_extra_tokens", K::Integer}, {"bound_saving_flops", K::Real},
                         {"bound_saving_percent", K::Real}, {"bound_extra_tokens", K::Integer}});
    for (const ConditionSummary& s : r.summaries) {
        const FlopModel& f = s.flops;
        addRow(summary, {s.condition, s.heads, s.continuations, s.newTokens, s.prefillMs, s.msPerToken, s.tokensPerSecond,
                         s.pplBase, s.pplSelf, s.distinct2, s.longestRepeat, f.context, f.weights, f.attention, f.total,
                         f.kernelSaving, 100 * f.kernelSaving / f.total, s.kernelExtraTokens, f.boundSaving,
                         100 * f.boundSaving / f.total, s.boundExtraTokens});
    }
    Table bestOf{"best_of", "Best-of-N: mean over prompts of the lowest ppl_base among the first N samples", {}};
    addColumns(bestOf, {{"condition", K::Text}, {"iteration", K::Integer}, {"n", K::Integer}, {"prompts", K::Integer},
                        {"ppl_base", K::Real}});
    for (const BestOfPoint& p : r.bestOfTable) addRow(bestOf, {p.condition, p.iteration, p.n, p.prompts, p.pplBase});
    Table refinement{"refinement", "Self-refinement: means per iteration", {}};
    addColumns(refinement, {{"condition", K::Text}, {"iteration", K::Integer}, {"continuations", K::Integer},
                            {"ppl_base", K::Real}, {"ppl_self", K::Real}, {"distinct_2", K::Real},
                            {"longest_repeat", K::Real}});
    for (const RefinementPoint& p : r.refinement)
        addRow(refinement, {p.condition, p.iteration, p.continuations, p.pplBase, p.pplSelf, p.distinct2, p.longestRepeat});
    return {summary, bestOf, refinement, rows, texts, prompts};
}

GenerationResult generationFromTables(const std::vector<Table>& tables) {
    GenerationResult r;
    const Table& summary = requireTable(tables, "generation_summary");
    const Table& rows = requireTable(tables, "generation");
    const Table& texts = requireTable(tables, "generation_texts");
    const Table& prompts = requireTable(tables, "generation_prompts");
    if (rows.rows() != texts.rows()) throw Error("the generation and generation_texts tables differ in length");
    std::map<std::string, int> conditionIndex;
    const Column& names = summary.column("condition");
    for (size_t i = 0; i < summary.rows(); ++i) {
        GenerationCondition c;
        c.name = names.texts[i];
        conditionIndex[c.name] = static_cast<int>(i);
        r.conditions.push_back(c);
        ConditionSummary s;
        s.condition = c.name;
        s.heads = static_cast<int>(summary.column("heads").numbers[i]);
        s.continuations = static_cast<int64_t>(summary.column("continuations").numbers[i]);
        s.newTokens = summary.column("new_tokens").numbers[i];
        s.prefillMs = summary.column("prefill_ms").numbers[i];
        s.msPerToken = summary.column("ms_per_token").numbers[i];
        s.tokensPerSecond = summary.column("tokens_per_second").numbers[i];
        s.pplBase = summary.column("ppl_base").numbers[i];
        s.pplSelf = summary.column("ppl_self").numbers[i];
        s.distinct2 = summary.column("distinct_2").numbers[i];
        s.longestRepeat = summary.column("longest_repeat").numbers[i];
        s.flops.context = static_cast<int64_t>(summary.column("context").numbers[i]);
        s.flops.weights = summary.column("weight_flops").numbers[i];
        s.flops.attention = summary.column("attention_flops").numbers[i];
        s.flops.total = summary.column("total_flops").numbers[i];
        s.flops.kernelSaving = summary.column("kernel_saving_flops").numbers[i];
        s.flops.boundSaving = summary.column("bound_saving_flops").numbers[i];
        s.kernelExtraTokens = static_cast<int>(summary.column("kernel_extra_tokens").numbers[i]);
        s.boundExtraTokens = static_cast<int>(summary.column("bound_extra_tokens").numbers[i]);
        r.summaries.push_back(s);
    }
    for (size_t i = 0; i < prompts.rows(); ++i) r.prompts.push_back({prompts.column("text").texts[i], idsOf(prompts.column("ids").texts[i])});
    for (size_t i = 0; i < rows.rows(); ++i) {
        Continuation c;
        const auto it = conditionIndex.find(rows.column("condition").texts[i]);
        if (it == conditionIndex.end()) throw Error("the generation table names a condition the summary does not have");
        c.condition = it->second;
        c.prompt = static_cast<int>(rows.column("prompt").numbers[i]);
        c.sample = static_cast<int>(rows.column("sample").numbers[i]);
        c.iteration = static_cast<int>(rows.column("iteration").numbers[i]);
        c.prefillMs = rows.column("prefill_ms").numbers[i];
        c.msPerToken = rows.column("ms_per_token").numbers[i];
        c.tokensPerSecond = rows.column("tokens_per_second").numbers[i];
        c.pplBase = rows.column("ppl_base").numbers[i];
        c.pplSelf = rows.column("ppl_self").numbers[i];
        c.distinct[0] = rows.column("distinct_1").numbers[i];
        c.distinct[1] = rows.column("distinct_2").numbers[i];
        c.distinct[2] = rows.column("distinct_3").numbers[i];
        c.longestRepeat = static_cast<int>(rows.column("longest_repeat").numbers[i]);
        c.contextTokens = static_cast<int64_t>(texts.column("context_tokens").numbers[i]);
        c.ids = idsOf(texts.column("ids").texts[i]);
        c.text = texts.column("text").texts[i];
        r.continuations.push_back(std::move(c));
    }
    const Table& best = requireTable(tables, "best_of");
    for (size_t i = 0; i < best.rows(); ++i) {
        const int n = static_cast<int>(best.column("n").numbers[i]);
        r.bestOfTable.push_back({best.column("condition").texts[i], static_cast<int>(best.column("iteration").numbers[i]), n,
                                 static_cast<int64_t>(best.column("prompts").numbers[i]), best.column("ppl_base").numbers[i]});
        if (std::find(r.bestOf.begin(), r.bestOf.end(), n) == r.bestOf.end()) r.bestOf.push_back(n);
    }
    const Table& refinement = requireTable(tables, "refinement");
    for (size_t i = 0; i < refinement.rows(); ++i) {
        RefinementPoint p;
        p.condition = refinement.column("condition").texts[i];
        p.iteration = static_cast<int>(refinement.column("iteration").numbers[i]);
        p.continuations = static_cast<int64_t>(refinement.column("continuations").numbers[i]);
        p.pplBase = refinement.column("ppl_base").numbers[i];
        p.pplSelf = refinement.column("ppl_self").numbers[i];
        p.distinct2 = refinement.column("distinct_2").numbers[i];
        p.longestRepeat = refinement.column("longest_repeat").numbers[i];
        r.refine = std::max(r.refine, p.iteration);
        r.refinement.push_back(p);
    }
    return r;
}

AnalysisSpec generationAnalysis() {
    AnalysisSpec spec = analysisEntry("generate", "Generation",
        "continuations of prompts per condition (baseline, ablated or ReLU heads): speed, PPL, repetition, best-of-N, "
        "self-refinement, FLOPs");
    spec.ownCommand = "generate";
    spec.tables = [](const LayerRun& run, bool, std::vector<Table>& out) {
        if (const auto r = run.result<GenerationResult>("generate")) appendTables(out, generationTables(*r));
    };
    spec.paramsToJson = [](const LayerRunParams& p, nlohmann::json& j) {
        const GenerationParams& g = p.generation;
        j["conditions"] = g.conditions;
        j["max_new_tokens"] = g.maxNewTokens;
        j["greedy"] = g.sampling.greedy;
        j["temperature"] = g.sampling.temperature;
        j["top_k"] = g.sampling.topK;
        j["top_p"] = g.sampling.topP;
        j["seed"] = g.sampling.seed;
        j["best_of"] = g.bestOf;
        j["refine"] = g.refine;
        j["normalize"] = reluNormalizeName(g.normalize);
        j["separator"] = g.separator;
        j["use_cache"] = g.useCache;
    };
    spec.paramsFromJson = [](const nlohmann::json& j, LayerRunParams& p) {
        GenerationParams& g = p.generation;
        g.conditions = j.at("conditions").get<std::vector<std::string>>();
        g.maxNewTokens = jsonInteger<int>(j, "max_new_tokens");
        g.sampling.greedy = j.at("greedy").get<bool>();
        g.sampling.temperature = j.at("temperature").get<double>();
        g.sampling.topK = jsonInteger<int>(j, "top_k");
        g.sampling.topP = j.at("top_p").get<double>();
        g.sampling.seed = jsonInteger<uint64_t>(j, "seed");
        g.bestOf = j.at("best_of").get<std::vector<int>>();
        g.refine = jsonInteger<int>(j, "refine");
        g.normalize = parseReluNormalize(j.at("normalize").get<std::string>());
        g.separator = j.at("separator").get<std::string>();
        g.useCache = j.at("use_cache").get<bool>();
    };
    spec.write = [](const LayerRun& run, H5Writer& file, const std::string& group) {
        if (const auto r = run.result<GenerationResult>("generate")) file.tables(group, generationTables(*r));
    };
    spec.read = [](const H5Reader& file, const std::string& group, int, LayerRun& run) {
        if (!file.has(group + "/generation_summary")) return;
        GenerationResult r = generationFromTables(file.tables(group));
        r.complete = run.info.complete;
        run.setResult("generate", std::move(r));
    };
    spec.terminalReport = [](const LayerRun&, const std::vector<Table>& tables) {
        return tablesAsText(tables, {"generation", "generation_texts", "generation_prompts"});
    };
    spec.settings = [](const LayerRun& run) -> std::vector<std::pair<std::string, std::string>> {
        const GenerationParams& g = run.params.generation;
        std::string conditions;
        for (const std::string& c : g.conditions) conditions += (conditions.empty() ? "" : "; ") + c;
        std::string bestOf;
        for (const int n : g.bestOf) bestOf += (bestOf.empty() ? "" : ", ") + std::to_string(n);
        return {{"Conditions", conditions},
                {"New tokens", std::to_string(g.maxNewTokens)},
                {"Sampling", samplingText(g.sampling)},
                {"Best of", bestOf},
                {"Refinement iterations", std::to_string(g.refine)},
                {"ReLU normalisation", reluNormalizeName(g.normalize)},
                {"KV cache", g.useCache ? "yes" : "no (re-run per token)"}};
    };
    return spec;
}

}  // namespace ls
