#include "compare/compare_runs.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

#include "analysis/heads.h"
#include "analysis/layer_run.h"
#include "analysis/registry.h"
#include "common/error.h"
#include "stats/correlation.h"

namespace ls {

namespace {

using K = Column::Kind;

std::string joined(const std::vector<std::string>& items, const std::string& separator) {
    std::string out;
    for (const std::string& item : items) out += (out.empty() ? "" : separator) + item;
    return out;
}

Table runsTable(const std::vector<ComparedRun>& runs) {
    Table t{"compare_runs", "The runs compared", {}};
    addColumns(t, {{"run", K::Integer}, {"file", K::Text}, {"model", K::Text}, {"model_hash", K::Text}, {"data", K::Text},
                   {"data_hash", K::Text}, {"tokens", K::Integer}, {"windows", K::Integer}, {"analyses", K::Text},
                   {"status", K::Text}});
    for (size_t i = 0; i < runs.size(); ++i) {
        const LayerRun& r = *runs[i].run;
        addRow(t, {int64_t(i), runs[i].file, r.info.modelPath, r.info.modelHash, r.info.datasetPath, r.info.datasetHash,
                   r.scoredTokens(), r.windowCount(), joined(r.params.analyses, " "),
                   r.info.complete ? "complete" : "partial"});
    }
    return t;
}

// Every run's per-layer quantities, rows grouped by (metric, stage) in the order they first
// appear, then by layer, then by run.
Table layersTable(const std::vector<ComparedRun>& runs) {
    using Key = std::tuple<std::string, std::string, int>;  // metric, stage, layer
    std::vector<std::pair<std::string, std::string>> groups;  // (metric, stage), first-seen order
    std::map<Key, std::map<size_t, double>> values;           // -> run -> value
    for (size_t i = 0; i < runs.size(); ++i) {
        std::vector<LayerQuantity> quantities;
        for (const AnalysisSpec& spec : analysisRegistry())
            if (spec.layerQuantities) spec.layerQuantities(*runs[i].run, quantities);
        for (const LayerQuantity& q : quantities) {
            if (std::find(groups.begin(), groups.end(), std::make_pair(q.metric, q.stage)) == groups.end())
                groups.emplace_back(q.metric, q.stage);
            values[{q.metric, q.stage, q.layer}][i] = q.value;
        }
    }
    Table t{"compare_layers", "Per-layer quantities of every run", {}};
    addColumns(t, {{"metric", K::Text}, {"layer", K::Integer}, {"stage", K::Text}, {"run", K::Integer}, {"value", K::Real},
                   {"diff_to_first", K::Real}});
    for (const auto& [metric, stage] : groups)
        for (auto it = values.lower_bound({metric, stage, INT32_MIN});
             it != values.end() && std::get<0>(it->first) == metric && std::get<1>(it->first) == stage; ++it) {
            const std::map<size_t, double>& byRun = it->second;
            const auto first = byRun.find(0);
            for (const auto& [run, value] : byRun)
                addRow(t, {metric, std::get<2>(it->first), stage, int64_t(run), value,
                           first == byRun.end() ? std::nan("") : value - first->second});
        }
    return t;
}

// Every run's trade-off curves (AnalysisSpec::fronts), by front, then run, in the runs' order.
Table frontsTable(const std::vector<ComparedRun>& runs) {
    std::vector<std::pair<std::string, std::pair<size_t, FrontPoint>>> rows;
    std::vector<std::string> fronts;  // first-seen order
    for (size_t i = 0; i < runs.size(); ++i) {
        std::vector<FrontPoint> points;
        for (const AnalysisSpec& spec : analysisRegistry())
            if (spec.fronts) spec.fronts(*runs[i].run, points);
        for (const FrontPoint& p : points) {
            if (std::find(fronts.begin(), fronts.end(), p.front) == fronts.end()) fronts.push_back(p.front);
            rows.push_back({p.front, {i, p}});
        }
    }
    Table t{"compare_fronts", "Trade-off curves of every run", {}};
    addColumns(t, {{"front", K::Text}, {"run", K::Integer}, {"x", K::Real}, {"y", K::Real}});
    for (const std::string& front : fronts)
        for (const auto& [name, point] : rows)
            if (name == front) addRow(t, {front, int64_t(point.first), point.second.x, point.second.y});
    return t;
}

std::vector<HeadScore> headScores(const LayerRun& run) {
    std::vector<HeadScore> scores;
    for (const AnalysisSpec& spec : analysisRegistry())
        if (spec.headScores) spec.headScores(run, scores);
    return scores;
}

Table headsTable(const std::vector<std::vector<HeadScore>>& scores) {
    Table t{"compare_heads", "Head ablation of every run", {}};
    addColumns(t, {{"name", K::Text}, {"layer", K::Integer}, {"head", K::Integer}, {"run", K::Integer},
                   {"zero_dppl", K::Real}, {"mean_dppl", K::Real}, {"zero_rank", K::Integer}, {"mean_rank", K::Integer}});
    for (size_t run = 0; run < scores.size(); ++run)
        for (const HeadScore& h : scores[run])
            addRow(t, {headName(HeadId{h.layer, h.head}), h.layer, h.head, int64_t(run), h.zeroDppl, h.meanDppl, h.zeroRank, h.meanRank});
    return t;
}

// How the rankings of run a and run b agree, over the heads both scanned.
void addRankings(Table& t, size_t a, size_t b, const std::vector<HeadScore>& headsA, const std::vector<HeadScore>& headsB) {
    std::map<std::pair<int, int>, const HeadScore*> inB;
    for (const HeadScore& h : headsB) inB[{h.layer, h.head}] = &h;
    std::vector<std::pair<const HeadScore*, const HeadScore*>> common;
    for (const HeadScore& h : headsA)
        if (const auto it = inB.find({h.layer, h.head}); it != inB.end()) common.emplace_back(&h, it->second);
    if (common.size() < 2) return;
    struct Ranking {
        const char* metric;
        double HeadScore::*dppl;
        int HeadScore::*rank;
    };
    for (const Ranking& r : {Ranking{"zero", &HeadScore::zeroDppl, &HeadScore::zeroRank},
                             Ranking{"mean", &HeadScore::meanDppl, &HeadScore::meanRank}}) {
        std::vector<double> x, y;
        for (const auto& [ha, hb] : common) {
            x.push_back(ha->*r.dppl);
            y.push_back(hb->*r.dppl);
        }
        // The k most damaging of the common heads in each run, by the run's own rank.
        const size_t k = std::min<size_t>(10, common.size());
        auto top = [&](bool first) {
            std::vector<std::pair<int, std::pair<int, int>>> byRank;  // rank, (layer, head)
            for (const auto& [ha, hb] : common) {
                const HeadScore* h = first ? ha : hb;
                byRank.push_back({h->*r.rank, {h->layer, h->head}});
            }
            std::sort(byRank.begin(), byRank.end());
            std::set<std::pair<int, int>> heads;
            for (size_t i = 0; i < k; ++i) heads.insert(byRank[i].second);
            return heads;
        };
        const std::set<std::pair<int, int>> topA = top(true), topB = top(false);
        const auto shared = std::count_if(topA.begin(), topA.end(), [&](const auto& h) { return topB.count(h) != 0; });
        addRow(t, {int64_t(a), int64_t(b), r.metric, spearman(x, y), kendall(x, y),
                   static_cast<double>(shared) / static_cast<double>(k)});
    }
}

Table rankingsTable(const std::vector<std::vector<HeadScore>>& scores) {
    Table t{"compare_rankings", "Head rankings between runs", {}};
    addColumns(t, {{"run_a", K::Integer}, {"run_b", K::Integer}, {"metric", K::Text}, {"spearman", K::Real},
                   {"kendall", K::Real}, {"top10_overlap", K::Real}});
    for (size_t a = 0; a < scores.size(); ++a)
        for (size_t b = a + 1; b < scores.size(); ++b) addRankings(t, a, b, scores[a], scores[b]);
    return t;
}

// "value in run 0, other in run 1 and 2" for the distinct values of one thing across runs.
std::string byRunText(const std::vector<std::pair<size_t, std::string>>& values) {
    std::vector<std::pair<std::string, std::vector<size_t>>> distinct;
    for (const auto& [run, value] : values) {
        auto it = std::find_if(distinct.begin(), distinct.end(), [&](const auto& d) { return d.first == value; });
        if (it == distinct.end())
            distinct.push_back({value, {run}});
        else
            it->second.push_back(run);
    }
    std::vector<std::string> parts;
    for (const auto& [value, runs] : distinct) {
        std::vector<std::string> numbers;
        for (size_t run : runs) numbers.push_back(std::to_string(run));
        parts.push_back(value + " in run" + (runs.size() > 1 ? "s " : " ") + joined(numbers, ", "));
    }
    return joined(parts, "; ");
}

// The sentence for one thing, when the runs do not all agree on it.
void addIfDifferent(std::vector<std::string>& out, const std::string& what,
                    const std::vector<std::pair<size_t, std::string>>& values) {
    for (const auto& value : values)
        if (value.second != values.front().second) {
            out.push_back(what + ": " + byRunText(values));
            return;
        }
}

std::vector<std::string> differences(const std::vector<ComparedRun>& runs) {
    std::vector<std::string> out;
    std::vector<std::pair<size_t, std::string>> models, data;
    for (size_t i = 0; i < runs.size(); ++i) {
        const RunInfo& info = runs[i].run->info;
        models.emplace_back(i, info.modelSummary + " (hash " + info.modelHash + ")");
        data.emplace_back(i, info.datasetPath + " (hash " + info.datasetHash + ")");
    }
    addIfDifferent(out, "model", models);
    addIfDifferent(out, "data", data);
    // The parameters as the run files keep them: the shared ones, then each analysis's, among
    // the runs that have it.
    std::vector<const AnalysisSpec*> entries{&sharedParams()};
    for (const AnalysisSpec& spec : analysisRegistry()) entries.push_back(&spec);
    for (const AnalysisSpec* spec : entries) {
        if (!spec->paramsToJson) continue;
        std::map<std::string, std::vector<std::pair<size_t, std::string>>> byKey;
        std::vector<std::string> keys;
        for (size_t i = 0; i < runs.size(); ++i) {
            const LayerRunParams& p = runs[i].run->params;
            if (!spec->name.empty() && !p.wants(spec->name)) continue;
            nlohmann::json j = nlohmann::json::object();
            spec->paramsToJson(p, j);
            for (const auto& [key, value] : j.items()) {
                if (!byKey.count(key)) keys.push_back(key);
                byKey[key].emplace_back(i, value.dump());
            }
        }
        for (const std::string& key : keys)
            addIfDifferent(out, spec->name.empty() ? key : spec->name + " " + key, byKey[key]);
    }
    return out;
}

}  // namespace

RunComparison compareRuns(const std::vector<ComparedRun>& runs) {
    if (runs.size() < 2) throw Error("compare needs at least two runs");
    std::vector<std::vector<HeadScore>> scores;
    for (const ComparedRun& r : runs) scores.push_back(headScores(*r.run));
    RunComparison c;
    c.tables = {runsTable(runs), layersTable(runs), headsTable(scores), rankingsTable(scores), frontsTable(runs)};
    c.differences = differences(runs);
    return c;
}

}  // namespace ls
