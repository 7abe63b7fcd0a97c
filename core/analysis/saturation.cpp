#include "analysis/saturation.h"

#include <cmath>

#include "analysis/capture_pass.h"
#include "analysis/layer_run.h"
#include "analysis/registry.h"
#include "common/json_integer.h"
#include "common/error.h"
#include "model/model.h"

namespace ls {

namespace {

// Saturated = top1 == finalTop1, per token; mean loss on each side.
SaturationLayer compare(int layer, const std::vector<int32_t>& top1, const std::vector<int32_t>& finalTop1,
                        const std::vector<float>& loss) {
    SaturationLayer s;
    s.layer = layer;
    double satSum = 0, unsatSum = 0;
    for (size_t t = 0; t < top1.size(); ++t) {
        if (top1[t] == finalTop1[t]) {
            ++s.saturated;
            satSum += loss[t];
        } else {
            unsatSum += loss[t];
        }
    }
    const int64_t n = static_cast<int64_t>(top1.size()), unsat = n - s.saturated;
    s.rate = n ? static_cast<double>(s.saturated) / static_cast<double>(n) : std::nan("");
    s.satLoss = s.saturated ? satSum / static_cast<double>(s.saturated) : std::nan("");
    s.unsatLoss = unsat ? unsatSum / static_cast<double>(unsat) : std::nan("");
    return s;
}

Table layerTable(const std::string& name, const std::string& title, const std::vector<SaturationLayer>& rows) {
    using K = Column::Kind;
    Table t{name, title, {}};
    addColumns(t, {{"layer", K::Integer}, {"rate", K::Real}, {"sat_loss", K::Real}, {"unsat_loss", K::Real}});
    for (const SaturationLayer& s : rows) addRow(t, {s.layer, s.rate, s.satLoss, s.unsatLoss});
    return t;
}

}  // namespace

SaturationResult analyseSaturation(const CaptureResult& capture) {
    if (capture.lensTop1.empty()) throw Error("the run holds no logit-lens top-1 ids (the capture pass did not compute them)");
    const int L = static_cast<int>(capture.lensTop1.size()) - 1;
    const std::vector<int32_t>& finalTop1 = capture.lensTop1[L];
    SaturationResult r;
    r.numLayers = L;
    r.tokens = static_cast<int64_t>(finalTop1.size());
    for (int l = 0; l <= L; ++l) r.layers.push_back(compare(l, capture.lensTop1[l], finalTop1, capture.loss));
    for (int l = 1; l <= static_cast<int>(capture.postAttentionTop1.size()); ++l)
        r.postAttention.push_back(compare(l, capture.postAttentionTop1[l - 1], finalTop1, capture.loss));

    // Walk down from L while the lens still agrees with the final top-1.
    r.saturationLayer.resize(finalTop1.size());
    r.histogram.assign(static_cast<size_t>(std::max(L, 0)), 0);
    for (size_t t = 0; t < finalTop1.size(); ++t) {
        int l = L;
        while (l > 1 && capture.lensTop1[l - 1][t] == finalTop1[t]) --l;
        r.saturationLayer[t] = l;
        if (l >= 1) ++r.histogram[l - 1];
    }
    return r;
}

std::vector<Table> saturationTables(const SaturationResult& r, const CaptureResult& capture, bool perToken) {
    using K = Column::Kind;
    std::vector<Table> tables;
    tables.push_back(layerTable("saturation_layers", "Saturation rate: top1_l == top1_L (layer 0 = embeddings)",
                                r.layers));
    Table hist{"saturation_histogram", "Saturation layer: the first block from which the lens top-1 never changes",
               {}};
    addColumns(hist, {{"layer", K::Integer}, {"tokens", K::Integer}});
    for (size_t l = 0; l < r.histogram.size(); ++l)
        addRow(hist, {static_cast<double>(l + 1), static_cast<double>(r.histogram[l])});
    tables.push_back(hist);
    if (!r.postAttention.empty())
        tables.push_back(layerTable("saturation_post_attention",
                                    "Saturation on a_l = h_{l-1} + attention_l (before the MLP)", r.postAttention));
    if (perToken) {
        Table tokens{"saturation_tokens", "Per-token saturation layer", {}};
        addColumns(tokens, {{"target_index", K::Integer}, {"target_id", K::Integer}, {"loss", K::Real},
                            {"saturation_layer", K::Integer}, {"final_top1", K::Integer}});
        const std::vector<int32_t>& finalTop1 = capture.lensTop1.back();
        for (size_t t = 0; t < r.saturationLayer.size(); ++t)
            addRow(tokens, {static_cast<double>(capture.targetIndex[t]), capture.targetId[t], capture.loss[t],
                            r.saturationLayer[t], finalTop1[t]});
        tables.push_back(tokens);
    }
    return tables;
}

LensMethod parseLensMethod(const std::string& name, int hiddenSize) {
    LensMethod m;
    if (name == "auto") return m;
    if (name == "full") {
        m.kind = LensMethod::Kind::Full;
    } else if (name == "int8") {
        m.kind = LensMethod::Kind::Int8;
    } else if (name.rfind("lowrank:", 0) == 0) {
        const std::string digits = name.substr(8);
        m.kind = LensMethod::Kind::LowRank;
        m.rank = digits.empty() || digits.size() > 6 || digits.find_first_not_of("0123456789") != std::string::npos
                     ? 0
                     : std::stoi(digits);
        if (m.rank < 1 || m.rank > hiddenSize)
            throw ParamError("lens-method", "'" + name + "': the rank must be a whole number in 1.." + std::to_string(hiddenSize));
    } else {
        throw ParamError("lens-method", "'" + name + "' is not one of auto, full, int8, lowrank:R");
    }
    return m;
}

AnalysisSpec saturationAnalysis() {
    using K = ParamSpec::Kind;
    AnalysisSpec spec = analysisEntry("saturation", "Saturation per layer",
        "where each token's lens top-1 settles: rate per layer, saturation layer, loss of saturated tokens", kCheckedByDefault);
    spec.params = {
        {"post-attention", K::Flag, "", "Lens also after attention",
            "Also the lens after each attention, before the MLP (a_l = h_{l-1} + attention_l), in every "
            "analysis of the lens."},
        {"lens-method", K::Text, "auto|full|int8|lowrank:R", "Lens method",
            "How the lens top-1 is computed: auto (default) times the certified exact methods and keeps the fastest; "
            "full is the float32 projection; int8 (CPUs with VNNI) and lowrank:R force a certified method."},
    };
    spec.apply = [](const ParamValues& v, const ModelConfig&, LayerRunParams& p) {
        if (v.has("post-attention")) p.lens.postAttention = v.flag("post-attention");
        if (v.has("lens-method")) p.lens.method = v.text("lens-method");
    };
    spec.values = [](const LayerRunParams& p, ParamValues& v) {
        v.set("post-attention", p.lens.postAttention);
        v.set("lens-method", p.lens.method);
    };
    spec.request = [](const LayerRunParams& p, CaptureRequest& r) {
        r.lens = true;
        r.postAttentionLens = p.lens.postAttention;
        r.lensMethod = p.lens.method;
    };
    spec.summarise = [](LayerRun& run) { run.setResult("saturation", analyseSaturation(run.capture)); };
    spec.tables = [](const LayerRun& run, bool perToken, std::vector<Table>& out) {
        if (const auto r = run.result<SaturationResult>("saturation"))
            appendTables(out, saturationTables(*r, run.capture, perToken));
    };
    spec.terminalReport = [](const LayerRun&, const std::vector<Table>& tables) {
        return tablesAsText(tables, {"saturation_tokens"});
    };
    spec.layerQuantities = [](const LayerRun& run, std::vector<LayerQuantity>& out) {
        const auto r = run.result<SaturationResult>("saturation");
        if (!r) return;
        for (const SaturationLayer& l : r->layers) out.push_back({"saturation_rate", l.layer, "block", l.rate});
        for (const SaturationLayer& l : r->postAttention) out.push_back({"saturation_rate", l.layer, "attention", l.rate});
    };
    spec.settings = [](const LayerRun& run) -> std::vector<std::pair<std::string, std::string>> {
        return {{"Lens after attention", run.params.lens.postAttention ? "yes" : "no"}};
    };
    // A bad lens method is refused before any work.
    spec.resolve = [](LayerRunParams& p, const ModelConfig& c) { parseLensMethod(p.lens.method, c.hiddenSize); };
    spec.paramsToJson = [](const LayerRunParams& p, nlohmann::json& j) {
        j["post_attention_lens"] = p.lens.postAttention;
        j["lens_method"] = p.lens.method;
    };
    spec.paramsFromJson = [](const nlohmann::json& j, LayerRunParams& p) {
        p.lens.postAttention = j.at("post_attention_lens").get<bool>();
        p.lens.method = j.value("lens_method", std::string("auto"));  // absent before it existed
    };
    return spec;
}

}  // namespace ls
