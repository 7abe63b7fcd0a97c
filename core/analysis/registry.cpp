#include "analysis/registry.h"

#include <algorithm>

#include "analysis/heads.h"
#include "analysis/layer_run.h"
#include "common/json_integer.h"
#include "io/table.h"
#include "model/model.h"

namespace ls {

const std::vector<AnalysisSpec>& analysisRegistry() {
    static const std::vector<AnalysisSpec> all = {
        cossimAnalysis(),
        saturationAnalysis(),
        lensDivAnalysis(),
        lowRankAnalysis(),
        inspectAnalysis(),
        lossSepAnalysis(),
        exitAnalysis(),
        ablationAnalysis(),
        linearizeAnalysis(),
        contextAnalysis(),
        generationAnalysis(),
        promptAnalysis(),
        patchAnalysis(),
    };
    return all;
}

AnalysisSpec analysisEntry(std::string name, std::string title, std::string description, bool checkedByDefault) {
    AnalysisSpec spec;
    spec.name = std::move(name);
    spec.title = std::move(title);
    spec.description = std::move(description);
    spec.checkedByDefault = checkedByDefault;
    return spec;
}

const AnalysisSpec* findAnalysis(const std::string& name) {
    for (const AnalysisSpec& a : analysisRegistry())
        if (a.name == name) return &a;
    return nullptr;
}

namespace {

// Built once (sharedParams()); not an analysis of the registry.
AnalysisSpec makeSharedParams() {
    using K = ParamSpec::Kind;
    AnalysisSpec spec = analysisEntry("", "Shared by several analyses", "");
    spec.params = {
        ParamSpec{"layer", K::Integer, "L", "Layer",
            "The chosen layer 1..L (blocks from 1): cos-sim exit thresholds at c_l, low-rank agreement and saturation "
            "detection at h_l (default L-1).",
            1}
            .withPlaceholder("L-1 (default)")
            .layerBounded(),
        {"bins", K::Integer, "B", "Histogram bins", "Histogram bins of cos-sim and of the loss distribution (default 60).", 1},
        ParamSpec{"heads", K::Text, "L0H3,L5", "Heads",
            "Only these heads, in TransformerLens names (layer from 0; L5 = every head of it), for ablation, linearize "
            "and context (default every head)."}
            .withPlaceholder("all, or e.g. L0H3, L5"),
        {"final-norm-last", K::Flag, "", "Final norm at layer L",
            "Layer L with the final norm applied, as Hugging Face's output_hidden_states[-1]: cos-sim's c_L compares "
            "h_{L-1} with norm_f(h_L) and probes at layer L learn on norm_f(h_L) (default: h_L before the final norm, "
            "the residual stream itself). The logit lens is the same either way."},
        ParamSpec{"lens", K::Text, "logit|tuned:DIR", "Lens",
            "The lens that reads the layers for saturation, lensdiv, the inspector, losssep's per-layer metrics and "
            "probes, exit and the low-rank head's detection: logit (W norm_f(h_l), the default) or tuned:LENS_DIR, a "
            "tuned lens trained for this model by `lens train` (W norm_f(A_l h_l + b_l))."}
            .withChoices({"logit"}),  // the GUI adds the tuned lenses it knows (AnalysisPanel::setChoices)
    };
    spec.apply = [](const ParamValues& v, const ModelConfig& config, LayerRunParams& p) {
        if (v.has("layer")) p.layer = static_cast<int>(v.integer("layer"));
        if (v.has("bins")) p.bins = p.lossSep.bins = static_cast<int>(v.integer("bins"));
        if (v.has("heads")) p.heads = parseHeadList(v.text("heads"), config.numLayers, config.numHeads);
        if (v.has("final-norm-last")) p.finalNormLast = v.flag("final-norm-last");
        if (v.has("lens")) p.lensChoice = parseLensChoice(v.text("lens"));
    };
    spec.values = [](const LayerRunParams& p, ParamValues& v) {
        if (p.layer > 0) v.set("layer", int64_t(p.layer));
        v.set("bins", int64_t(p.bins));
        std::string heads;
        for (const HeadId& h : p.heads)
            heads += (heads.empty() ? "" : ",") + headName(h);
        if (!heads.empty()) v.set("heads", heads);
        if (p.finalNormLast) v.set("final-norm-last", true);
        v.set("lens", p.lensChoice.text());  // "logit" too: the GUI's list shows it
    };
    spec.paramsToJson = [](const LayerRunParams& p, nlohmann::json& j) {
        j["analyses"] = p.analyses;
        j["seq_len"] = p.windows.seqLen;
        j["stride"] = p.windows.stride > 0 ? p.windows.stride : p.windows.seqLen;
        j["max_tokens"] = p.windows.maxTokens;
        j["max_windows"] = p.windows.maxWindows;
        j["respect_documents"] = p.windows.respectDocuments;
        j["dataset_format"] = dataFormatName(p.dataset.format);
        j["num_samples"] = p.dataset.maxDocuments;
        j["prompt_template"] = p.dataset.promptTemplate;
        j["prompt_template_no_input"] = p.dataset.promptTemplateNoInput;
        j["layer"] = p.layer;
        j["bins"] = p.bins;
        nlohmann::json heads = nlohmann::json::array();  // [layer from 1, head from 0] pairs
        for (const HeadId& h : p.heads) heads.push_back({h.layer, h.head});
        j["heads"] = heads;
        j["final_norm_last"] = p.finalNormLast;
        j["lens"] = p.lensChoice.text();
        j["lens_hash"] = p.lensChoice.hash;  // the tuned lens's content hash; "" for the logit lens
        if (p.windows.shard.sharded()) j["shard"] = {p.windows.shard.index, p.windows.shard.count};  // [K, N]
    };
    spec.paramsFromJson = [](const nlohmann::json& j, LayerRunParams& p) {
        p.analyses = j.at("analyses").get<std::vector<std::string>>();
        p.windows.seqLen = jsonInteger<int>(j, "seq_len");
        p.windows.stride = jsonInteger<int>(j, "stride");
        p.windows.maxTokens = jsonInteger<int64_t>(j, "max_tokens");
        p.windows.maxWindows = jsonInteger<int64_t>(j, "max_windows");
        p.windows.respectDocuments = j.at("respect_documents").get<bool>();
        p.dataset.format = parseDataFormat(j.at("dataset_format").get<std::string>());
        p.dataset.maxDocuments = jsonInteger<int64_t>(j, "num_samples");
        p.dataset.promptTemplate = j.at("prompt_template").get<std::string>();
        p.dataset.promptTemplateNoInput = j.at("prompt_template_no_input").get<std::string>();
        p.layer = jsonInteger<int>(j, "layer");
        p.bins = p.lossSep.bins = jsonInteger<int>(j, "bins");
        for (const nlohmann::json& pair : j.value("heads", nlohmann::json::array()))
            p.heads.push_back({jsonInteger<int>(pair.at(0)), jsonInteger<int>(pair.at(1))});
        p.finalNormLast = j.value("final_norm_last", false);  // runs from before the switch: without
        p.lensChoice = parseLensChoice(j.value("lens", std::string("logit")));  // runs from before: the logit lens
        p.lensChoice.hash = j.value("lens_hash", std::string());
        if (j.contains("shard"))
            p.windows.shard = WindowShard{jsonInteger<int>(j.at("shard").at(0)), jsonInteger<int>(j.at("shard").at(1))};
    };
    return spec;
}

}  // namespace

const AnalysisSpec& sharedParams() {
    static const AnalysisSpec shared = makeSharedParams();
    return shared;
}

std::string tablesAsText(const std::vector<Table>& tables, const std::vector<std::string>& csvOnly) {
    std::string text;
    for (const Table& t : tables)
        if (std::find(csvOnly.begin(), csvOnly.end(), t.name) == csvOnly.end()) text += toText(t) + "\n";
    return text;
}

nlohmann::json runParamsJson(const LayerRunParams& params) {
    nlohmann::json all = nlohmann::json::object();
    sharedParams().paramsToJson(params, all);
    for (const AnalysisSpec& a : analysisRegistry())
        if (a.paramsToJson && params.wants(a.name)) {
            nlohmann::json own = nlohmann::json::object();
            a.paramsToJson(params, own);
            all.update(own);
        }
    return all;
}

const ParamSpec* findParam(const std::string& key) {
    for (const ParamSpec& s : sharedParams().params)
        if (s.key == key) return &s;
    for (const AnalysisSpec& a : analysisRegistry())
        for (const ParamSpec& s : a.params)
            if (s.key == key) return &s;
    return nullptr;
}

void applyParams(const ParamValues& values, const ModelConfig& config, LayerRunParams& params) {
    sharedParams().apply(values, config, params);
    for (const AnalysisSpec& a : analysisRegistry())
        if (a.apply) a.apply(values, config, params);
}

ParamValues paramValues(const LayerRunParams& params) {
    ParamValues values;
    sharedParams().values(params, values);
    for (const AnalysisSpec& a : analysisRegistry())
        if (a.values) a.values(params, values);
    return values;
}

}  // namespace ls
