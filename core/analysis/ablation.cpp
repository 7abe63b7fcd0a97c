#include "analysis/ablation.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>

#include "common/error.h"
#include "model/model.h"
#include "stats/correlation.h"

namespace ls {

std::string HeadAblation::name() const { return "L" + std::to_string(layer - 1) + "H" + std::to_string(head); }

void checkHeads(const std::vector<HeadId>& heads, const ModelConfig& c) {
    for (const HeadId& id : heads)
        if (id.layer < 1 || id.layer > c.numLayers || id.head < 0 || id.head >= c.numHeads)
            throw Error("--heads: head " + std::to_string(id.head) + " of layer " + std::to_string(id.layer) +
                        " is outside the model's " + std::to_string(c.numLayers) + " layers (from 1) x " +
                        std::to_string(c.numHeads) + " heads (from 0)");
}

std::vector<HeadId> parseHeadList(const std::string& list, int numLayers, int numHeads) {
    const std::string range = " (the model has layers L0..L" + std::to_string(numLayers - 1) + " and heads H0..H" +
                              std::to_string(numHeads - 1) + ")";
    std::vector<HeadId> heads;
    size_t start = 0;
    while (start <= list.size()) {
        const size_t comma = std::min(list.find(',', start), list.size());
        const std::string item = list.substr(start, comma - start);
        start = comma + 1;
        // L<layer> or L<layer>H<head>, digits only
        const size_t h = item.find_first_of("Hh");
        auto number = [&](const std::string& digits) {
            if (digits.empty() || digits.size() > 6 || digits.find_first_not_of("0123456789") != std::string::npos)
                throw Error("--heads: '" + item + "' is not a head name like L0H3 (layer from 0) or a layer like L2");
            return std::stoi(digits);
        };
        if (item.empty() || (item[0] != 'L' && item[0] != 'l'))
            throw Error("--heads: '" + item + "' is not a head name like L0H3 (layer from 0) or a layer like L2");
        const int layer = number(item.substr(1, h == std::string::npos ? std::string::npos : h - 1));
        if (layer >= numLayers) throw Error("--heads: " + item + " is out of range" + range);
        if (h == std::string::npos) {
            for (int k = 0; k < numHeads; ++k) heads.push_back({layer + 1, k});
            continue;
        }
        const int head = number(item.substr(h + 1));
        if (head >= numHeads) throw Error("--heads: " + item + " is out of range" + range);
        heads.push_back({layer + 1, head});
    }
    std::sort(heads.begin(), heads.end());
    heads.erase(std::unique(heads.begin(), heads.end()), heads.end());
    return heads;
}

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

const Table& tableNamed(const std::vector<Table>& tables, const std::string& name) {
    const Table* t = findTable(tables, name);
    if (!t) throw Error("the run has no '" + name + "' table");
    return *t;
}

}  // namespace

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
    r.attributionSpearmanZero = r.hasAttribution ? spearman(estZero, exactZero) : std::nan("");
    r.attributionSpearmanMean = r.hasAttribution ? spearman(estMean, exactMean) : std::nan("");
}

std::vector<Table> ablationTables(const AblationResult& r) {
    using K = Column::Kind;
    Table heads{"ablation_heads", "Head ablation: dPPL = PPL / base - 1 (layer from 1, head from 0; name L{layer-1}H{head})", {}};
    Column& layer = heads.add("layer", K::Integer);
    Column& head = heads.add("head", K::Integer);
    Column& zp = heads.add("zero_ppl", K::Real);
    Column& zd = heads.add("zero_dppl", K::Real);
    Column& mp = heads.add("mean_ppl", K::Real);
    Column& md = heads.add("mean_dppl", K::Real);
    Column& ratio = heads.add("zero_mean_ratio", K::Real);
    Column& zr = heads.add("zero_rank", K::Integer);
    Column& mr = heads.add("mean_rank", K::Integer);
    Column& name = heads.add("name", K::Text);
    Column& za = heads.add("zero_dppl_abs", K::Real);
    Column& ma = heads.add("mean_dppl_abs", K::Real);
    for (const HeadAblation& a : r.heads) {
        layer.numbers.push_back(a.layer);
        head.numbers.push_back(a.head);
        zp.numbers.push_back(a.zeroPpl);
        zd.numbers.push_back(a.zeroDppl);
        mp.numbers.push_back(a.meanPpl);
        md.numbers.push_back(a.meanDppl);
        ratio.numbers.push_back(a.zeroMeanRatio);
        zr.numbers.push_back(a.zeroRank);
        mr.numbers.push_back(a.meanRank);
        name.texts.push_back(a.name());
        za.numbers.push_back(a.zeroPpl - r.basePpl);
        ma.numbers.push_back(a.meanPpl - r.basePpl);
    }

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

    Table stability{"ranking_stability", "Zero-ablation ranking: first windows (subset) vs all", {}};
    Column& sl = stability.add("layer", K::Integer);
    Column& sh = stability.add("head", K::Integer);
    Column& sn = stability.add("name", K::Text);
    Column& sd = stability.add("subset_zero_dppl", K::Real);
    Column& fd = stability.add("full_zero_dppl", K::Real);
    Column& sr = stability.add("subset_rank", K::Integer);
    Column& fr = stability.add("full_rank", K::Integer);
    Column& szp = stability.add("subset_zero_ppl", K::Real);
    Column& smp = stability.add("subset_mean_ppl", K::Real);
    for (size_t i = 0; i < r.heads.size() && i < r.subsetHeads.size(); ++i) {
        sl.numbers.push_back(r.heads[i].layer);
        sh.numbers.push_back(r.heads[i].head);
        sn.texts.push_back(r.heads[i].name());
        sd.numbers.push_back(r.subsetHeads[i].zeroDppl);
        fd.numbers.push_back(r.heads[i].zeroDppl);
        sr.numbers.push_back(r.subsetHeads[i].zeroRank);
        fr.numbers.push_back(r.heads[i].zeroRank);
        szp.numbers.push_back(r.subsetHeads[i].zeroPpl);
        smp.numbers.push_back(r.subsetHeads[i].meanPpl);
    }
    std::vector<Table> out{heads, summary, stability};
    if (r.hasAttribution) {
        Table attr{"attribution", "Attribution patching: first-order estimates from one forward + backward", {}};
        Column& al = attr.add("layer", K::Integer);
        Column& ah = attr.add("head", K::Integer);
        Column& an = attr.add("name", K::Text);
        Column& ez = attr.add("est_zero_dloss", K::Real);
        Column& em = attr.add("est_mean_dloss", K::Real);
        Column& ezp = attr.add("est_zero_dppl", K::Real);
        Column& emp = attr.add("est_mean_dppl", K::Real);
        Column& xz = attr.add("exact_zero_dppl", K::Real);
        Column& xm = attr.add("exact_mean_dppl", K::Real);
        for (const HeadAblation& a : r.heads) {
            al.numbers.push_back(a.layer);
            ah.numbers.push_back(a.head);
            an.texts.push_back(a.name());
            ez.numbers.push_back(a.estZeroDloss);
            em.numbers.push_back(a.estMeanDloss);
            ezp.numbers.push_back(std::expm1(a.estZeroDloss));
            emp.numbers.push_back(std::expm1(a.estMeanDloss));
            xz.numbers.push_back(a.zeroDppl);
            xm.numbers.push_back(a.meanDppl);
        }
        out.push_back(attr);
    }
    return out;
}

AblationResult ablationFromTables(const std::vector<Table>& tables) {
    const Table& heads = tableNamed(tables, "ablation_heads");
    const Table& summary = tableNamed(tables, "ablation_summary");
    const Table& stability = tableNamed(tables, "ranking_stability");
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
        HeadAblation s = a;
        s.zeroPpl = stability.column("subset_zero_ppl").numbers.at(i);
        s.meanPpl = stability.column("subset_mean_ppl").numbers.at(i);
        r.subsetHeads.push_back(s);
    }
    rankAblation(r);
    return r;
}

}  // namespace ls

namespace ls {

const char* reluNormalizeName(ReluNormalize n) { return n == ReluNormalize::Count ? "count" : "rowsum"; }

ReluNormalize parseReluNormalize(const std::string& name) {
    if (name == "count") return ReluNormalize::Count;
    if (name == "rowsum") return ReluNormalize::RowSum;
    throw Error("--normalize must be 'count' (divide by the attended positions) or 'rowsum', got '" + name + "'");
}

void checkLinearizeParams(const LinearizeParams& p, const ModelConfig& c) {
    const int L = c.numLayers;
    std::set<int> protectedLayers;
    for (int l : p.protectLayers) {
        if (l < 1 || l > L)
            throw Error("--protect-layers: layer " + std::to_string(l) + " is outside 1.." + std::to_string(L));
        protectedLayers.insert(l);
    }
    if (static_cast<int>(protectedLayers.size()) == L)
        throw Error("--protect-layers protects every layer: no head is left to linearise");
    checkHeads(p.heads, c);
    if (!p.heads.empty() && std::all_of(p.heads.begin(), p.heads.end(), [&](const HeadId& h) { return protectedLayers.count(h.layer) > 0; }))
        throw Error("--heads chooses only heads of protected layers: no head is left to linearise");
    if (p.steps < 1) throw Error("--steps must be at least 1");
    for (int n : p.contextLengths) {
        if (n < 2) throw Error("--context-lengths: " + std::to_string(n) + " is shorter than 2 tokens");
        if (n > c.maxPositions)
            throw Error("--context-lengths: " + std::to_string(n) + " is longer than the model's context of " +
                        std::to_string(c.maxPositions) + " tokens");
    }
}

std::vector<Table> linearizeTables(const LinearizeResult& r) {
    using K = Column::Kind;
    Table heads{"linearize_heads", "Each head alone with ReLU attention (normalised by " + r.normalize + ")", {}};
    Column& hl = heads.add("layer", K::Integer);
    Column& hh = heads.add("head", K::Integer);
    Column& hn = heads.add("name", K::Text);
    Column& hp = heads.add("ppl", K::Real);
    Column& hr = heads.add("ratio", K::Real);
    Column& ho = heads.add("order", K::Integer);
    for (const LinearizedHead& h : r.heads) {
        hl.numbers.push_back(h.layer);
        hh.numbers.push_back(h.head);
        hn.texts.push_back("L" + std::to_string(h.layer - 1) + "H" + std::to_string(h.head));
        hp.numbers.push_back(h.ppl);
        hr.numbers.push_back(h.ratio);
        ho.numbers.push_back(h.order);
    }
    Table curve{"linearize_curve", "Cumulative ReLU linearisation (least damaging heads first)", {}};
    Column& cn = curve.add("n_heads", K::Integer);
    Column& cp = curve.add("ppl", K::Real);
    Column& cr = curve.add("ratio", K::Real);
    for (const CurvePoint& p : r.curve) {
        cn.numbers.push_back(p.nHeads);
        cp.numbers.push_back(p.ppl);
        cr.numbers.push_back(p.ratio);
    }
    Table th{"linearize_thresholds", "The most heads linearised within each PPL ratio", {}};
    Column& tl = th.add("limit", K::Real);
    Column& tn = th.add("n_heads", K::Integer);
    Column& tp = th.add("ppl", K::Real);
    Column& tr = th.add("ratio", K::Real);
    for (const LinearizeThreshold& t : r.thresholds) {
        tl.numbers.push_back(t.limit);
        tn.numbers.push_back(t.nHeads);
        tp.numbers.push_back(t.ppl);
        tr.numbers.push_back(t.ratio);
    }
    Table ctx{"context", "PPL by context length: baseline (n_heads 0) and n linearised heads", {}};
    Column& xs = ctx.add("seq_len", K::Integer);
    Column& xn = ctx.add("n_heads", K::Integer);
    Column& xt = ctx.add("tokens", K::Integer);
    Column& xp = ctx.add("ppl", K::Real);
    Column& xr = ctx.add("ratio", K::Real);
    for (const ContextPoint& p : r.context) {
        xs.numbers.push_back(p.seqLen);
        xn.numbers.push_back(p.nHeads);
        xt.numbers.push_back(static_cast<double>(p.tokens));
        xp.numbers.push_back(p.ppl);
        xr.numbers.push_back(p.ratio);
    }
    Table summary{"linearize_summary", "ReLU linearisation run", {}};
    summary.add("tokens", K::Integer).numbers.push_back(static_cast<double>(r.tokens));
    summary.add("base_ppl", K::Real).numbers.push_back(r.basePpl);
    summary.add("normalize", K::Text).texts.push_back(r.normalize);
    summary.add("seconds", K::Real).numbers.push_back(r.seconds);
    if (r.context.empty()) return {heads, curve, th, summary};  // no "context" analysis
    return {heads, curve, th, ctx, summary};
}

LinearizeResult linearizeFromTables(const std::vector<Table>& tables) {
    LinearizeResult r;
    const Table& summary = tableNamed(tables, "linearize_summary");
    r.tokens = static_cast<int64_t>(summary.column("tokens").numbers.at(0));
    r.basePpl = summary.column("base_ppl").numbers.at(0);
    r.normalize = summary.column("normalize").texts.at(0);
    r.seconds = summary.column("seconds").numbers.at(0);
    const Table& heads = tableNamed(tables, "linearize_heads");
    for (size_t i = 0; i < heads.rows(); ++i)
        r.heads.push_back({static_cast<int>(heads.column("layer").numbers[i]), static_cast<int>(heads.column("head").numbers[i]),
                           heads.column("ppl").numbers[i], heads.column("ratio").numbers[i],
                           static_cast<int>(heads.column("order").numbers[i])});
    const Table& curve = tableNamed(tables, "linearize_curve");
    for (size_t i = 0; i < curve.rows(); ++i)
        r.curve.push_back({static_cast<int>(curve.column("n_heads").numbers[i]), curve.column("ppl").numbers[i],
                           curve.column("ratio").numbers[i]});
    const Table& th = tableNamed(tables, "linearize_thresholds");
    for (size_t i = 0; i < th.rows(); ++i)
        r.thresholds.push_back({th.column("limit").numbers[i], static_cast<int>(th.column("n_heads").numbers[i]),
                                th.column("ppl").numbers[i], th.column("ratio").numbers[i]});
    const Table* ctxTable = findTable(tables, "context");
    if (!ctxTable) return r;
    const Table& ctx = *ctxTable;
    for (size_t i = 0; i < ctx.rows(); ++i)
        r.context.push_back({static_cast<int>(ctx.column("seq_len").numbers[i]), static_cast<int>(ctx.column("n_heads").numbers[i]),
                             static_cast<int64_t>(ctx.column("tokens").numbers[i]), ctx.column("ppl").numbers[i],
                             ctx.column("ratio").numbers[i]});
    return r;
}

}  // namespace ls
