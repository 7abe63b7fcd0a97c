#include "analysis/linearize.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "analysis/layer_run.h"
#include "analysis/registry.h"
#include "io/hdf5_file.h"
#include "common/json_integer.h"
#include "common/error.h"
#include "model/model.h"

namespace ls {

const char* reluNormalizeName(ReluNormalize n) { return n == ReluNormalize::Count ? "count" : "rowsum"; }

ReluNormalize parseReluNormalize(const std::string& name) {
    if (name == "count") return ReluNormalize::Count;
    if (name == "rowsum") return ReluNormalize::RowSum;
    throw ParamError("normalize", "must be 'count' (divide by the attended positions) or 'rowsum', got '" + name + "'");
}

void checkLinearizeParams(const LinearizeParams& p, const ModelConfig& c) {
    const int L = c.numLayers;
    std::set<int> protectedLayers;
    for (int l : p.protectLayers) {
        if (l < 1 || l > L)
            throw ParamError("protect-layers", "layer " + std::to_string(l) + " is outside 1.." + std::to_string(L));
        protectedLayers.insert(l);
    }
    if (static_cast<int>(protectedLayers.size()) == L)
        throw ParamError("protect-layers", "protects every layer: no head is left to linearise");
    checkHeads(p.heads, c);
    if (!p.heads.empty() && std::all_of(p.heads.begin(), p.heads.end(), [&](const HeadId& h) { return protectedLayers.count(h.layer) > 0; }))
        throw ParamError("heads", "chooses only heads of protected layers: no head is left to linearise");
    if (p.steps < 1) throw ParamError("steps", "must be at least 1");
    for (int n : p.contextLengths) {
        if (n < 2) throw ParamError("context-lengths", std::to_string(n) + " is shorter than 2 tokens");
        if (n > c.maxPositions)
            throw ParamError("context-lengths", std::to_string(n) + " is longer than the model's context of " +
                        std::to_string(c.maxPositions) + " tokens");
    }
}

std::vector<Table> linearizeTables(const LinearizeResult& r) {
    using K = Column::Kind;
    Table heads{"linearize_heads", "Each head alone with ReLU attention (normalised by " + r.normalize + ")", {}};
    addColumns(heads, {{"layer", K::Integer}, {"head", K::Integer}, {"name", K::Text}, {"ppl", K::Real}, {"ratio", K::Real},
                       {"order", K::Integer}});
    for (const LinearizedHead& h : r.heads)
        addRow(heads, {h.layer, h.head, headName({h.layer, h.head}), h.ppl, h.ratio, h.order});
    Table curve{"linearize_curve", "Cumulative ReLU linearisation (least damaging heads first)", {}};
    addColumns(curve, {{"n_heads", K::Integer}, {"ppl", K::Real}, {"ratio", K::Real}});
    for (const CurvePoint& p : r.curve) addRow(curve, {p.nHeads, p.ppl, p.ratio});
    Table th{"linearize_thresholds", "The most heads linearised within each PPL ratio", {}};
    addColumns(th, {{"limit", K::Real}, {"n_heads", K::Integer}, {"ppl", K::Real}, {"ratio", K::Real}});
    for (const LinearizeThreshold& t : r.thresholds) addRow(th, {t.limit, t.nHeads, t.ppl, t.ratio});
    Table ctx{"context", "PPL by context length: baseline (n_heads 0) and n linearised heads", {}};
    addColumns(ctx, {{"seq_len", K::Integer}, {"n_heads", K::Integer}, {"tokens", K::Integer}, {"ppl", K::Real},
                     {"ratio", K::Real}});
    // windows and window_starts: a run from before the sweep said so does not know them (0
    // windows); its table stays as that version wrote it rather than show made-up values.
    const bool told = std::all_of(r.context.begin(), r.context.end(), [](const ContextPoint& p) { return p.windows > 0; });
    if (told) addColumns(ctx, {{"windows", K::Integer}, {"window_starts", K::Text}});
    for (const ContextPoint& p : r.context) {
        std::vector<Cell> row{p.seqLen, p.nHeads, static_cast<double>(p.tokens), p.ppl, p.ratio};
        if (told) {
            row.emplace_back(p.windows);
            row.emplace_back(p.aligned ? "aligned" : "own");
        }
        addRow(ctx, row);
    }
    Table summary{"linearize_summary", "ReLU linearisation run", {}};
    addColumns(summary, {{"tokens", K::Integer}, {"base_ppl", K::Real}, {"normalize", K::Text}, {"seconds", K::Real}});
    addRow(summary, {static_cast<double>(r.tokens), r.basePpl, r.normalize, r.seconds});
    if (r.context.empty()) return {heads, curve, th, summary};  // no "context" analysis
    return {heads, curve, th, ctx, summary};
}

LinearizeResult linearizeFromTables(const std::vector<Table>& tables) {
    LinearizeResult r;
    const Table& summary = requireTable(tables, "linearize_summary");
    r.tokens = static_cast<int64_t>(summary.column("tokens").numbers.at(0));
    r.basePpl = summary.column("base_ppl").numbers.at(0);
    r.normalize = summary.column("normalize").texts.at(0);
    r.seconds = summary.column("seconds").numbers.at(0);
    const Table& heads = requireTable(tables, "linearize_heads");
    for (size_t i = 0; i < heads.rows(); ++i)
        r.heads.push_back({static_cast<int>(heads.column("layer").numbers[i]), static_cast<int>(heads.column("head").numbers[i]),
                           heads.column("ppl").numbers[i], heads.column("ratio").numbers[i],
                           static_cast<int>(heads.column("order").numbers[i])});
    const Table& curve = requireTable(tables, "linearize_curve");
    for (size_t i = 0; i < curve.rows(); ++i)
        r.curve.push_back({static_cast<int>(curve.column("n_heads").numbers[i]), curve.column("ppl").numbers[i],
                           curve.column("ratio").numbers[i]});
    const Table& th = requireTable(tables, "linearize_thresholds");
    for (size_t i = 0; i < th.rows(); ++i)
        r.thresholds.push_back({th.column("limit").numbers[i], static_cast<int>(th.column("n_heads").numbers[i]),
                                th.column("ppl").numbers[i], th.column("ratio").numbers[i]});
    const Table* ctxTable = findTable(tables, "context");
    if (!ctxTable) return r;
    const Table& ctx = *ctxTable;
    // windows and window_starts: written since the sweep could align its windows (older runs:
    // 0 windows, their own starts).
    const bool told = ctx.has("windows") && ctx.has("window_starts");
    for (size_t i = 0; i < ctx.rows(); ++i)
        r.context.push_back({static_cast<int>(ctx.column("seq_len").numbers[i]), static_cast<int>(ctx.column("n_heads").numbers[i]),
                             static_cast<int64_t>(ctx.column("tokens").numbers[i]), ctx.column("ppl").numbers[i],
                             ctx.column("ratio").numbers[i],
                             told ? static_cast<int64_t>(ctx.column("windows").numbers[i]) : 0,
                             told && ctx.column("window_starts").texts[i] == "aligned"});
    return r;
}

AnalysisSpec linearizeAnalysis() {
    using K = ParamSpec::Kind;
    AnalysisSpec spec = analysisEntry("linearize", "ReLU linearisation",
        "heads' softmax replaced by ReLU attention: each head alone and cumulatively, with the 1.1x/1.5x/2x limits");
    spec.params = {
        ParamSpec{"normalize", K::Text, "count|rowsum", "ReLU normalisation",
            "Divide relu(q.k/sqrt(d)) by the attended positions (count, the default) or by the row sum."}
            .withChoices({"count", "rowsum"}),
        {"steps", K::Integer, "N", "Curve steps",
            "The cumulative curve has a point every N heads (default 10), and one with all.", 1},
        ParamSpec{"protect-layers", K::IntegerList, "1,2", "Protected layers", "Layers whose heads are never linearised."}
            .withPlaceholder("none, e.g. 1, 2"),
    };
    spec.apply = [](const ParamValues& v, const ModelConfig&, LayerRunParams& p) {
        if (v.has("normalize")) p.linearize.normalize = parseReluNormalize(v.text("normalize"));
        if (v.has("steps")) p.linearize.steps = static_cast<int>(v.integer("steps"));
        if (v.has("protect-layers")) p.linearize.protectLayers = v.integers("protect-layers");
    };
    spec.values = [](const LayerRunParams& p, ParamValues& v) {
        v.set("normalize", std::string(reluNormalizeName(p.linearize.normalize)));
        v.set("steps", int64_t(p.linearize.steps));
        if (!p.linearize.protectLayers.empty()) v.set("protect-layers", p.linearize.protectLayers);
    };
    spec.tables = [](const LayerRun& run, bool, std::vector<Table>& out) {  // with the context sweep's table
        if (const auto r = run.result<LinearizeResult>("linearize")) appendTables(out, linearizeTables(*r));
    };
    spec.resolve = [](LayerRunParams& p, const ModelConfig& c) {
        p.linearize.heads = p.heads;
        p.linearize.contextSweep = p.wants("context");
        if (p.linearize.contextSweep && p.linearize.contextLengths.empty()) {  // the seed's lengths that fit the model
            for (int n : {128, 256, 512, 1024})
                if (n <= c.maxPositions) p.linearize.contextLengths.push_back(n);
            if (p.linearize.contextLengths.empty()) p.linearize.contextLengths.push_back(c.maxPositions);
        }
        checkLinearizeParams(p.linearize, c);  // before any work, as the scan itself would
    };
    spec.paramsToJson = [](const LayerRunParams& p, nlohmann::json& j) {
        j["normalize"] = reluNormalizeName(p.linearize.normalize);
        j["steps"] = p.linearize.steps;
        j["protect_layers"] = p.linearize.protectLayers;
    };
    spec.paramsFromJson = [](const nlohmann::json& j, LayerRunParams& p) {
        p.linearize.normalize = parseReluNormalize(j.at("normalize").get<std::string>());
        p.linearize.steps = jsonInteger<int>(j, "steps");
        p.linearize.protectLayers = jsonIntegers(j, "protect_layers");
        p.linearize.heads = p.heads;  // as resolve sets them (the shared parameters are read first)
        p.linearize.contextSweep = p.wants("context");
    };
    // The scan's tables (and the context sweep's) are its result (linearizeFromTables reads them back).
    spec.write = [](const LayerRun& run, H5Writer& file, const std::string& group) {
        if (const auto r = run.result<LinearizeResult>("linearize")) file.tables(group, linearizeTables(*r));
    };
    spec.read = [](const H5Reader& file, const std::string& group, int version, LayerRun& run) {
        const std::string at = version == 1 ? "tables" : group;  // format 1: with every table
        if (file.has(at + "/linearize_summary")) run.setResult("linearize", linearizeFromTables(file.tables(at)));
    };
    // Its order of heads (by their damage alone) is over the whole data, which no shard sees.
    spec.shardRefusal = [](const LayerRunParams&) -> std::string {
        return "it linearises heads in the order of their damage over all windows, which no shard sees; run it "
               "without --shard";
    };
    return spec;
}

AnalysisSpec contextAnalysis() {
    using K = ParamSpec::Kind;
    AnalysisSpec spec = analysisEntry("context", "Context-length sweep",
        "PPL at each context length for the baseline and N linearised heads, and their ratio (runs linearize)");
    spec.params = {
        ParamSpec{"context-lengths", K::IntegerList, "128,256,512,1024", "Context lengths",
            "Context lengths of the sweep (default those of 128, 256, 512, 1024 that fit the model)."}
            .withPlaceholder("128, 256, 512, 1024 that fit"),
        ParamSpec{"context-heads", K::IntegerList, "30,70", "Context heads",
            "Numbers of linearised heads in the sweep (default the 1.1x and 1.5x limits)."}
            .withPlaceholder("the 1.1x and 1.5x limits"),
        {"context-align", K::Flag, "", "Same window starts for every length",
            "Every context length's windows start where the longest length's do (its first L tokens of each), so "
            "that rows differ only in context length; by default each length windows the stream on its own, and "
            "a short length's windows mostly start mid-document."},
    };
    spec.apply = [](const ParamValues& v, const ModelConfig&, LayerRunParams& p) {
        if (v.has("context-lengths")) p.linearize.contextLengths = v.integers("context-lengths");
        if (v.has("context-heads")) p.linearize.contextHeads = v.integers("context-heads");
        if (v.has("context-align")) p.linearize.contextAligned = v.flag("context-align");
    };
    spec.values = [](const LayerRunParams& p, ParamValues& v) {
        if (!p.linearize.contextLengths.empty()) v.set("context-lengths", p.linearize.contextLengths);
        if (!p.linearize.contextHeads.empty()) v.set("context-heads", p.linearize.contextHeads);
        v.set("context-align", p.linearize.contextAligned);
    };
    // The sweep linearises the first N heads in linearize's order: it needs that scan.
    spec.resolve = [](LayerRunParams& p, const ModelConfig&) {
        if (!p.wants("linearize")) p.analyses.push_back("linearize");
    };
    spec.paramsToJson = [](const LayerRunParams& p, nlohmann::json& j) {
        j["context_lengths"] = p.linearize.contextLengths;
        j["context_heads"] = p.linearize.contextHeads;
        j["context_align"] = p.linearize.contextAligned;
    };
    spec.paramsFromJson = [](const nlohmann::json& j, LayerRunParams& p) {
        p.linearize.contextLengths = jsonIntegers(j, "context_lengths");
        p.linearize.contextHeads = jsonIntegers(j, "context_heads");
        p.linearize.contextAligned = j.value("context_align", false);  // absent before it existed
    };
    return spec;
}

std::vector<HeadId> linearisationOrder(const LinearizeResult& result) {
    std::vector<LinearizedHead> heads = result.heads;
    std::sort(heads.begin(), heads.end(), [](const LinearizedHead& a, const LinearizedHead& b) { return a.order < b.order; });
    std::vector<HeadId> order;
    for (const LinearizedHead& h : heads) order.push_back({h.layer, h.head});
    return order;
}

}  // namespace ls
