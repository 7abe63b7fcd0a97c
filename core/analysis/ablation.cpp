#include "analysis/ablation.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "analysis/layer_run.h"
#include "analysis/registry.h"
#include "io/hdf5_file.h"
#include "common/json_integer.h"
#include "common/error.h"
#include "model/model.h"
#include "stats/correlation.h"

namespace ls {

std::string HeadAblation::name() const { return headName({layer, head}); }

namespace {

// Ranks by value descending (1 = largest); ties by position (layer, head order).
std::vector<int> ranksDescending(const std::vector<double>& v) {
    std::vector<size_t> order(v.size());
    std::iota(order.begin(), order.end(), size_t(0));
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] > v[b]; });
    std::vector<int> rank(v.size());
    for (size_t i = 0; i < order.size(); ++i) rank[order[i]] = static_cast<int>(i + 1);
    return rank;
}

void rankHeads(std::vector<HeadAblation>& heads, double basePpl) {
    std::vector<double> zero, mean;
    for (HeadAblation& a : heads) {
        a.zeroDppl = a.zeroPpl / basePpl - 1;
        a.meanDppl = a.meanPpl / basePpl - 1;
        a.zeroMeanRatio = a.zeroDppl / a.meanDppl;
        zero.push_back(a.zeroDppl);
        mean.push_back(a.meanDppl);
    }
    const std::vector<int> zr = ranksDescending(zero), mr = ranksDescending(mean);
    for (size_t i = 0; i < heads.size(); ++i) {
        heads[i].zeroRank = zr[i];
        heads[i].meanRank = mr[i];
    }
}

}  // namespace

std::vector<const HeadAblation*> damagingHeads(const std::vector<HeadAblation>& heads) {
    std::vector<const HeadAblation*> out;
    for (const HeadAblation& a : heads)
        if (a.zeroDppl > 0 && std::isfinite(a.zeroDppl)) out.push_back(&a);
    std::stable_sort(out.begin(), out.end(),
                     [](const HeadAblation* a, const HeadAblation* b) { return a->zeroDppl > b->zeroDppl; });
    return out;
}

ZipfFit fitZipf(const std::vector<HeadAblation>& heads) {
    std::vector<double> positive;  // dPPL by rank among the damaging heads
    for (const HeadAblation* a : damagingHeads(heads)) positive.push_back(a->zeroDppl);
    ZipfFit fit;
    fit.heads = static_cast<int>(positive.size());
    if (fit.heads < 2) return fit;
    const double n = fit.heads;
    double mx = 0, my = 0;
    for (size_t i = 0; i < positive.size(); ++i) {
        mx += std::log(double(i + 1)) / n;
        my += std::log(positive[i]) / n;
    }
    double sxx = 0, sxy = 0, syy = 0;
    for (size_t i = 0; i < positive.size(); ++i) {
        const double dx = std::log(double(i + 1)) - mx, dy = std::log(positive[i]) - my;
        sxx += dx * dx;
        sxy += dx * dy;
        syy += dy * dy;
    }
    const double slope = sxy / sxx;
    fit.alpha = -slope;
    fit.intercept = my - slope * mx;
    fit.r2 = syy > 0 ? sxy * sxy / (sxx * syy) : 1.0;  // all equal: the flat line fits exactly
    return fit;
}

void rankAblation(AblationResult& r) {
    rankHeads(r.heads, r.basePpl);
    rankHeads(r.subsetHeads, r.subsetBasePpl);
    std::vector<double> subset, full, estZero, estMean, exactZero, exactMean;
    for (size_t i = 0; i < r.heads.size(); ++i) {
        full.push_back(r.heads[i].zeroDppl);
        subset.push_back(i < r.subsetHeads.size() ? r.subsetHeads[i].zeroDppl : std::nan(""));
        estZero.push_back(r.heads[i].estZeroDloss);
        estMean.push_back(r.heads[i].estMeanDloss);
        exactZero.push_back(r.heads[i].zeroDppl);
        exactMean.push_back(r.heads[i].meanDppl);
    }
    r.spearman = spearman(subset, full);
    r.kendall = kendall(subset, full);
    r.zipf = fitZipf(r.heads);
    r.attributionSpearmanZero = r.hasAttribution ? spearman(estZero, exactZero) : std::nan("");
    r.attributionSpearmanMean = r.hasAttribution ? spearman(estMean, exactMean) : std::nan("");
}

namespace {

// Loss sums of a scan over `tokens` tokens, back from its perplexities (exp(sum / tokens)).
struct ScanSums {
    double base = 0;
    std::vector<double> zero, mean, estZero, estMean;
    void add(const std::vector<HeadAblation>& heads, double basePpl, int64_t tokens) {
        const double n = static_cast<double>(tokens);
        if (zero.empty()) zero.assign(heads.size(), 0), mean = estZero = estMean = zero;
        base += n * std::log(basePpl);
        for (size_t i = 0; i < heads.size(); ++i) {
            zero[i] += n * std::log(heads[i].zeroPpl);
            mean[i] += n * std::log(heads[i].meanPpl);
            estZero[i] += n * heads[i].estZeroDloss;
            estMean[i] += n * heads[i].estMeanDloss;
        }
    }
    // The heads (layer and head from `like`) and base PPL over `tokens` tokens.
    std::vector<HeadAblation> heads(const std::vector<HeadAblation>& like, int64_t tokens, double& basePpl) const {
        const double n = static_cast<double>(tokens);
        basePpl = std::exp(base / n);
        std::vector<HeadAblation> out;
        for (size_t i = 0; i < like.size(); ++i) {
            HeadAblation a;
            a.layer = like[i].layer;
            a.head = like[i].head;
            a.zeroPpl = std::exp(zero[i] / n);
            a.meanPpl = std::exp(mean[i] / n);
            a.estZeroDloss = estZero[i] / n;
            a.estMeanDloss = estMean[i] / n;
            out.push_back(a);
        }
        return out;
    }
};

}  // namespace

AblationResult mergeAblationShards(const std::vector<const AblationResult*>& shards) {
    if (shards.empty()) throw Error("no ablation scans to merge");
    const AblationResult& first = *shards.front();
    AblationResult r;
    r.numLayers = first.numLayers;
    r.numHeads = first.numHeads;
    r.hasAttribution = first.hasAttribution;
    r.headMeans = first.headMeans;  // over the whole run's windows in every shard
    ScanSums all, subset;
    for (const AblationResult* s : shards) {
        if (s->heads.size() != first.heads.size()) throw Error("the shards scanned different heads");
        if (!s->complete) throw Error("a shard's ablation scan is partial");
        all.add(s->heads, s->basePpl, s->tokens);
        r.tokens += s->tokens;
        r.windows += s->windows;
        r.seconds += s->seconds;
        r.baselineSeconds += s->baselineSeconds;
        r.attributionSeconds += s->attributionSeconds;
        if (s->subsetTokens > 0 && !s->subsetHeads.empty()) {  // its part of the run's first windows
            subset.add(s->subsetHeads, s->subsetBasePpl, s->subsetTokens);
            r.subsetTokens += s->subsetTokens;
            r.subsetWindows += s->subsetWindows;
        }
    }
    r.heads = all.heads(first.heads, r.tokens, r.basePpl);
    r.baseLoss = std::log(r.basePpl);
    if (r.subsetTokens > 0) r.subsetHeads = subset.heads(first.heads, r.subsetTokens, r.subsetBasePpl);
    rankAblation(r);
    return r;
}

std::vector<Table> ablationTables(const AblationResult& r) {
    using K = Column::Kind;
    Table heads{"ablation_heads", "Head ablation: dPPL = PPL / base - 1 (layer from 1, head from 0; name L{layer-1}H{head})", {}};
    addColumns(heads, {{"layer", K::Integer}, {"head", K::Integer}, {"zero_ppl", K::Real}, {"zero_dppl", K::Real},
                       {"mean_ppl", K::Real}, {"mean_dppl", K::Real}, {"zero_mean_ratio", K::Real}, {"zero_rank", K::Integer},
                       {"mean_rank", K::Integer}, {"name", K::Text}, {"zero_dppl_abs", K::Real}, {"mean_dppl_abs", K::Real}});
    for (const HeadAblation& a : r.heads)
        addRow(heads, {a.layer, a.head, a.zeroPpl, a.zeroDppl, a.meanPpl, a.meanDppl, a.zeroMeanRatio, a.zeroRank, a.meanRank,
                       a.name(), a.zeroPpl - r.basePpl, a.meanPpl - r.basePpl});

    Table summary{"ablation_summary", std::string("Head ablation scan") + (r.complete ? "" : " (PARTIAL: canceled)"), {}};
    auto add = [&](const char* n, K kind, double v) { summary.add(n, kind).numbers.push_back(v); };
    add("model_layers", K::Integer, r.numLayers);
    add("model_heads", K::Integer, r.numHeads);
    add("heads_scanned", K::Integer, static_cast<double>(r.heads.size()));
    add("tokens", K::Integer, static_cast<double>(r.tokens));
    add("windows", K::Integer, static_cast<double>(r.windows));
    add("complete", K::Integer, r.complete ? 1 : 0);
    add("base_loss", K::Real, r.baseLoss);
    add("base_ppl", K::Real, r.basePpl);
    add("subset_tokens", K::Integer, static_cast<double>(r.subsetTokens));
    add("subset_windows", K::Integer, static_cast<double>(r.subsetWindows));
    add("subset_base_ppl", K::Real, r.subsetBasePpl);
    add("spearman", K::Real, r.spearman);
    add("kendall", K::Real, r.kendall);
    add("attribution_spearman_zero", K::Real, r.attributionSpearmanZero);
    add("attribution_spearman_mean", K::Real, r.attributionSpearmanMean);
    add("seconds", K::Real, r.seconds);
    add("baseline_seconds", K::Real, r.baselineSeconds);
    add("attribution_seconds", K::Real, r.attributionSeconds);
    add("zipf_alpha", K::Real, r.zipf.alpha);
    add("zipf_r2", K::Real, r.zipf.r2);
    add("zipf_heads", K::Integer, r.zipf.heads);

    Table stability{"ranking_stability", "Zero-ablation ranking: first windows (subset) vs all", {}};
    addColumns(stability, {{"layer", K::Integer}, {"head", K::Integer}, {"name", K::Text}, {"subset_zero_dppl", K::Real},
                           {"full_zero_dppl", K::Real}, {"subset_rank", K::Integer}, {"full_rank", K::Integer},
                           {"subset_zero_ppl", K::Real}, {"subset_mean_ppl", K::Real}});
    for (size_t i = 0; i < r.heads.size() && i < r.subsetHeads.size(); ++i) {
        const HeadAblation& a = r.heads[i];
        const HeadAblation& s = r.subsetHeads[i];
        addRow(stability, {a.layer, a.head, a.name(), s.zeroDppl, a.zeroDppl, s.zeroRank, a.zeroRank, s.zeroPpl, s.meanPpl});
    }
    std::vector<Table> out{heads, summary, stability};
    if (r.hasAttribution) {
        Table attr{"attribution", "Attribution patching: first-order estimates from one forward + backward", {}};
        addColumns(attr, {{"layer", K::Integer}, {"head", K::Integer}, {"name", K::Text}, {"est_zero_dloss", K::Real},
                          {"est_mean_dloss", K::Real}, {"est_zero_dppl", K::Real}, {"est_mean_dppl", K::Real},
                          {"exact_zero_dppl", K::Real}, {"exact_mean_dppl", K::Real}});
        for (const HeadAblation& a : r.heads)
            addRow(attr, {a.layer, a.head, a.name(), a.estZeroDloss, a.estMeanDloss, std::expm1(a.estZeroDloss),
                          std::expm1(a.estMeanDloss), a.zeroDppl, a.meanDppl});
        out.push_back(attr);
    }
    return out;
}

AblationResult ablationFromTables(const std::vector<Table>& tables) {
    const Table& heads = requireTable(tables, "ablation_heads");
    const Table& summary = requireTable(tables, "ablation_summary");
    const Table& stability = requireTable(tables, "ranking_stability");
    const Table* attr = findTable(tables, "attribution");
    auto value = [&](const char* name) { return summary.column(name).numbers.at(0); };
    AblationResult r;
    r.numLayers = static_cast<int>(value("model_layers"));
    r.numHeads = static_cast<int>(value("model_heads"));
    r.tokens = static_cast<int64_t>(value("tokens"));
    r.windows = static_cast<int64_t>(value("windows"));
    r.complete = value("complete") != 0;
    r.baseLoss = value("base_loss");
    r.basePpl = value("base_ppl");
    r.subsetTokens = static_cast<int64_t>(value("subset_tokens"));
    r.subsetWindows = static_cast<int64_t>(value("subset_windows"));
    r.subsetBasePpl = value("subset_base_ppl");
    r.seconds = value("seconds");
    r.baselineSeconds = value("baseline_seconds");
    r.attributionSeconds = value("attribution_seconds");
    r.hasAttribution = attr != nullptr;
    for (size_t i = 0; i < heads.rows(); ++i) {
        HeadAblation a;
        a.layer = static_cast<int>(heads.column("layer").numbers[i]);
        a.head = static_cast<int>(heads.column("head").numbers[i]);
        a.zeroPpl = heads.column("zero_ppl").numbers[i];
        a.meanPpl = heads.column("mean_ppl").numbers[i];
        if (attr) {
            a.estZeroDloss = attr->column("est_zero_dloss").numbers.at(i);
            a.estMeanDloss = attr->column("est_mean_dloss").numbers.at(i);
        }
        r.numLayers = std::max(r.numLayers, a.layer);
        r.numHeads = std::max(r.numHeads, a.head + 1);
        r.heads.push_back(a);
        if (stability.rows() == 0) continue;  // a shard past the run's first windows has no subset
        HeadAblation s = a;
        s.zeroPpl = stability.column("subset_zero_ppl").numbers.at(i);
        s.meanPpl = stability.column("subset_mean_ppl").numbers.at(i);
        r.subsetHeads.push_back(s);
    }
    rankAblation(r);
    return r;
}

AnalysisSpec ablationAnalysis() {
    using K = ParamSpec::Kind;
    AnalysisSpec spec = analysisEntry("ablation", "Head ablation",
        "zero and mean ablation of every attention head: PPL, dPPL, ranks, ranking stability, attribution estimate");
    spec.params = {
        {"subset-tokens", K::Integer, "N", "Subset tokens",
            "Ranking stability: the ranking on the first N tokens against all (default 2048): the first windows that "
            "hold N scored tokens.", 0},
        {"subset-windows", K::Integer, "W", "Subset windows",
            "Ranking stability on the first W windows instead of --subset-tokens (the research notes' \"2K tokens\" "
            "are 2 windows of 1024, which score 2046 tokens; default 0: by tokens).", 0},
        {"no-attribution", K::Flag, "", "Skip the attribution estimate", "Skip the attribution-patching estimate."},
    };
    spec.apply = [](const ParamValues& v, const ModelConfig&, LayerRunParams& p) {
        if (v.has("subset-tokens")) p.ablation.subsetTokens = v.integer("subset-tokens");
        if (v.has("subset-windows")) p.ablation.subsetWindows = v.integer("subset-windows");
        if (v.has("no-attribution")) p.ablation.attribution = !v.flag("no-attribution");
    };
    spec.values = [](const LayerRunParams& p, ParamValues& v) {
        v.set("subset-tokens", p.ablation.subsetTokens);
        v.set("subset-windows", p.ablation.subsetWindows);
        v.set("no-attribution", !p.ablation.attribution);
    };
    spec.tables = [](const LayerRun& run, bool, std::vector<Table>& out) {
        if (const auto r = run.result<AblationResult>("ablation")) appendTables(out, ablationTables(*r));
    };
    spec.resolve = [](LayerRunParams& p, const ModelConfig&) {
        if (p.ablation.subsetTokens < 0) throw ParamError("subset-tokens", "must be at least 0");
        if (p.ablation.subsetWindows < 0) throw ParamError("subset-windows", "must be at least 0");
    };
    spec.paramsToJson = [](const LayerRunParams& p, nlohmann::json& j) {
        j["subset_tokens"] = p.ablation.subsetTokens;
        j["subset_windows"] = p.ablation.subsetWindows;
        j["attribution"] = p.ablation.attribution;
    };
    spec.paramsFromJson = [](const nlohmann::json& j, LayerRunParams& p) {
        p.ablation.subsetTokens = jsonInteger<int64_t>(j, "subset_tokens");
        p.ablation.subsetWindows = j.value("subset_windows", int64_t(0));  // older runs: by tokens
        p.ablation.attribution = j.at("attribution").get<bool>();
    };
    // The scan's tables are its result (ablationFromTables reads them back).
    spec.write = [](const LayerRun& run, H5Writer& file, const std::string& group) {
        const auto r = run.result<AblationResult>("ablation");
        if (!r) return;
        file.tables(group, ablationTables(*r));
        if (!r->headMeans.empty())
            file.array(group + "/head_means", r->headMeans,  // (L, H, hd)
                       {r->numLayers, r->numHeads, static_cast<int64_t>(r->headMeans.size()) / (int64_t(r->numLayers) * r->numHeads)});
    };
    spec.read = [](const H5Reader& file, const std::string& group, int version, LayerRun& run) {
        const std::string at = version == 1 ? "tables" : group;  // format 1: with every table
        if (!file.has(at + "/ablation_heads")) return;
        std::vector<Table> tables;  // the group's tables; head_means beside them is an array
        for (const std::string& name : file.children(at))
            if (name != "head_means") tables.push_back(file.table(at + "/" + name));
        AblationResult r = ablationFromTables(tables);
        if (file.has(group + "/head_means")) r.headMeans = file.floats(group + "/head_means");  // runs since 0.1.0's generation
        run.setResult("ablation", std::move(r));
    };
    spec.mergeShards = [](const std::vector<const LayerRun*>& shards, LayerRun& merged) {
        std::vector<const AblationResult*> scans;
        std::vector<std::shared_ptr<const AblationResult>> keep;
        for (const LayerRun* shard : shards) {
            keep.push_back(shard->result<AblationResult>("ablation"));
            if (!keep.back()) throw Error("a shard has no ablation results");
            scans.push_back(keep.back().get());
        }
        merged.setResult("ablation", mergeAblationShards(scans));
    };
    spec.headScores = [](const LayerRun& run, std::vector<HeadScore>& out) {
        if (const auto r = run.result<AblationResult>("ablation"))
            for (const HeadAblation& h : r->heads) out.push_back({h.layer, h.head, h.zeroDppl, h.meanDppl, h.zeroRank, h.meanRank});
    };
    return spec;
}

}  // namespace ls
