// One prompt under the microscope: pattern summaries, tables and the registry entry (plain C++;
// the forward is prompt_run.cpp's).
#include "analysis/prompt.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "analysis/heads.h"
#include "analysis/layer_run.h"
#include "analysis/registry.h"
#include "common/error.h"
#include "common/json_integer.h"
#include "io/hdf5_file.h"
#include "tokenizer/tokenizer.h"

namespace ls {

HeadPatternSummary summarisePattern(const float* w, const std::vector<int32_t>& x) {
    const size_t T = x.size();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    HeadPatternSummary s;
    double entropy = 0, first = 0, previous = 0, duplicate = 0, induction = 0;
    int duplicateRows = 0, inductionRows = 0;
    for (size_t i = 1; i < T; ++i) {
        const float* row = w + i * T;  // keys 0..i
        for (size_t j = 0; j <= i; ++j)
            if (row[j] > 0) entropy -= row[j] * std::log(static_cast<double>(row[j]));
        first += row[0];
        previous += row[i - 1];
        double same = 0, next = 0;
        bool hasSame = false, hasNext = false;
        for (size_t j = 0; j < i; ++j) {
            if (x[j] != x[i]) continue;
            same += row[j];
            hasSame = true;
            if (j + 1 < i) {  // the token that followed an earlier occurrence
                next += row[j + 1];
                hasNext = true;
            }
        }
        if (hasSame) duplicate += same, ++duplicateRows;
        if (hasNext) induction += next, ++inductionRows;
    }
    const double rows = static_cast<double>(T) - 1;
    s.entropy = T > 1 ? entropy / rows : nan;
    s.firstToken = T > 1 ? first / rows : nan;
    s.previousToken = T > 1 ? previous / rows : nan;
    s.duplicateToken = duplicateRows ? duplicate / duplicateRows : nan;
    s.induction = inductionRows ? induction / inductionRows : nan;
    return s;
}

std::string componentKindName(LogitComponent::Kind kind) {
    switch (kind) {
        case LogitComponent::Kind::Embeddings: return "embeddings";
        case LogitComponent::Kind::Head: return "head";
        case LogitComponent::Kind::AttentionBias: return "attention_bias";
        case LogitComponent::Kind::Mlp: return "mlp";
    }
    return "";
}

LogitComponent::Kind parseComponentKind(const std::string& name) {
    for (const auto kind : {LogitComponent::Kind::Embeddings, LogitComponent::Kind::Head, LogitComponent::Kind::AttentionBias,
                            LogitComponent::Kind::Mlp})
        if (componentKindName(kind) == name) return kind;
    throw Error("unknown component '" + name + "'");
}

std::string componentLabel(const LogitComponent& c) {
    switch (c.kind) {
        case LogitComponent::Kind::Embeddings: return "embeddings";
        case LogitComponent::Kind::Head:
            return "block " + std::to_string(c.layer) + " head " + std::to_string(c.head) + " (" + headName({c.layer, c.head}) + ")";
        case LogitComponent::Kind::AttentionBias: return "block " + std::to_string(c.layer) + " attention bias";
        case LogitComponent::Kind::Mlp: return "block " + std::to_string(c.layer) + " MLP";
    }
    return "";
}

std::string tokenLabel(const Tokenizer* tokenizer, int32_t id) {
    return tokenizer && id < tokenizer->vocabSize() ? tokenizer->tokenText(id) : "#" + std::to_string(id);
}

std::vector<Table> promptTables(const PromptResult& r) {
    using K = Column::Kind;
    std::vector<Table> out;
    Table tokens{"prompt_tokens", "The prompt's tokens", {}};
    addColumns(tokens, {{"position", K::Integer}, {"id", K::Integer}, {"token", K::Text}});
    for (size_t i = 0; i < r.prompt.ids.size(); ++i) addRow(tokens, {static_cast<int64_t>(i), r.prompt.ids[i], r.tokenTexts[i]});
    out.push_back(std::move(tokens));

    const AttentionPatterns& a = r.attention;
    Table summary{"attention_summary", "Attention pattern summaries per head (means over query positions 1..T-1)", {}};
    addColumns(summary, {{"layer", K::Integer}, {"head", K::Integer}, {"entropy", K::Real}, {"first_token", K::Real},
                         {"previous_token", K::Real}, {"duplicate_token", K::Real}, {"induction", K::Real}});
    for (const HeadPatternSummary& s : a.summaries)
        addRow(summary, {s.layer, s.head, s.entropy, s.firstToken, s.previousToken, s.duplicateToken, s.induction});
    out.push_back(std::move(summary));
    Table weights{"attention", "Attention weights (query attends to key)", {}};
    addColumns(weights, {{"layer", K::Integer}, {"head", K::Integer}, {"query", K::Integer}, {"key", K::Integer}, {"weight", K::Real}});
    for (int l = 1; l <= a.numLayers; ++l)
        for (int h = 0; h < a.numHeads; ++h)
            for (int i = 0; i < a.tokens; ++i)
                for (int j = 0; j <= i; ++j) addRow(weights, {l, h, i, j, static_cast<double>(a.weight(l, h, i, j))});
    out.push_back(std::move(weights));

    const LogitAttribution& d = r.attribution;
    Table dlaSummary{"dla_summary", "Direct logit attribution: the token, its logit and the final norm", {}};
    addColumns(dlaSummary, {{"position", K::Integer}, {"token_id", K::Integer}, {"token", K::Text}, {"token_source", K::Text},
                            {"logit", K::Real}, {"components_sum", K::Real}, {"final_norm_bias", K::Real}, {"final_norm_scale", K::Real}});
    addRow(dlaSummary, {d.position, d.token, r.chosenTokenText, d.tokenSource, d.logit, d.componentsSum, d.finalNormBias, d.finalNormScale});
    out.push_back(std::move(dlaSummary));
    Table dla{"dla", "Direct logit attribution per component", {}};
    addColumns(dla, {{"component", K::Text}, {"layer", K::Integer}, {"head", K::Integer}, {"value", K::Real}});
    Table top{"dla_top", "The tokens each component promotes and suppresses most", {}};
    addColumns(top, {{"component", K::Text}, {"layer", K::Integer}, {"head", K::Integer}, {"direction", K::Text}, {"rank", K::Integer},
                     {"token_id", K::Integer}, {"token", K::Text}, {"value", K::Real}});
    for (const LogitComponent& c : d.components) {
        const std::string kind = componentKindName(c.kind);
        addRow(dla, {kind, c.layer, c.head, c.value});
        for (const auto& [direction, effects] : {std::pair{"promote", &c.promoted}, std::pair{"suppress", &c.suppressed}})
            for (size_t k = 0; k < effects->size(); ++k) {
                const TokenEffect& e = (*effects)[k];
                addRow(top, {kind, c.layer, c.head, direction, static_cast<int64_t>(k + 1), e.id, r.effectText(e.id), e.value});
            }
    }
    out.push_back(std::move(dla));
    out.push_back(std::move(top));
    return out;
}

PromptResult promptFromTables(const std::vector<Table>& tables) {
    PromptResult r;
    const Table& tokens = requireTable(tables, "prompt_tokens");
    for (size_t i = 0; i < tokens.rows(); ++i) {
        r.prompt.ids.push_back(static_cast<int32_t>(tokens.column("id").numbers[i]));
        r.tokenTexts.push_back(tokens.column("token").texts[i]);
    }
    const Table& summary = requireTable(tables, "attention_summary");
    AttentionPatterns& a = r.attention;
    a.tokens = static_cast<int>(tokens.rows());
    for (size_t i = 0; i < summary.rows(); ++i) {
        HeadPatternSummary s;
        s.layer = static_cast<int>(summary.column("layer").numbers[i]);
        s.head = static_cast<int>(summary.column("head").numbers[i]);
        s.entropy = summary.column("entropy").numbers[i];
        s.firstToken = summary.column("first_token").numbers[i];
        s.previousToken = summary.column("previous_token").numbers[i];
        s.duplicateToken = summary.column("duplicate_token").numbers[i];
        s.induction = summary.column("induction").numbers[i];
        a.numLayers = std::max(a.numLayers, s.layer);
        a.numHeads = std::max(a.numHeads, s.head + 1);
        a.summaries.push_back(s);
    }
    const Table& weights = requireTable(tables, "attention");
    a.weights.assign(static_cast<size_t>(a.numLayers) * a.numHeads * a.tokens * a.tokens, 0.0f);
    for (size_t i = 0; i < weights.rows(); ++i) {
        const int l = static_cast<int>(weights.column("layer").numbers[i]), h = static_cast<int>(weights.column("head").numbers[i]);
        const int q = static_cast<int>(weights.column("query").numbers[i]), k = static_cast<int>(weights.column("key").numbers[i]);
        if (l < 1 || l > a.numLayers || h < 0 || h >= a.numHeads || q < 0 || q >= a.tokens || k < 0 || k > q)
            throw Error("the attention table has a row outside the prompt's layers, heads or positions");
        a.weights[((static_cast<size_t>(l - 1) * a.numHeads + h) * a.tokens + q) * a.tokens + k] =
            static_cast<float>(weights.column("weight").numbers[i]);
    }
    const Table& dlaSummary = requireTable(tables, "dla_summary");
    if (dlaSummary.rows() != 1) throw Error("the dla_summary table must have one row");
    LogitAttribution& d = r.attribution;
    d.position = static_cast<int>(dlaSummary.column("position").numbers[0]);
    d.token = static_cast<int32_t>(dlaSummary.column("token_id").numbers[0]);
    r.chosenTokenText = dlaSummary.column("token").texts[0];
    d.tokenSource = dlaSummary.column("token_source").texts[0];
    d.logit = dlaSummary.column("logit").numbers[0];
    d.componentsSum = dlaSummary.column("components_sum").numbers[0];
    d.finalNormBias = dlaSummary.column("final_norm_bias").numbers[0];
    d.finalNormScale = dlaSummary.column("final_norm_scale").numbers[0];
    const Table& dla = requireTable(tables, "dla");
    for (size_t i = 0; i < dla.rows(); ++i) {
        LogitComponent c;
        c.kind = parseComponentKind(dla.column("component").texts[i]);
        c.layer = static_cast<int>(dla.column("layer").numbers[i]);
        c.head = static_cast<int>(dla.column("head").numbers[i]);
        c.value = dla.column("value").numbers[i];
        d.components.push_back(c);
    }
    const Table& top = requireTable(tables, "dla_top");
    for (size_t i = 0; i < top.rows(); ++i) {
        const int layer = static_cast<int>(top.column("layer").numbers[i]), head = static_cast<int>(top.column("head").numbers[i]);
        const LogitComponent::Kind kind = parseComponentKind(top.column("component").texts[i]);
        LogitComponent* owner = nullptr;
        for (LogitComponent& c : d.components)
            if (c.kind == kind && c.layer == layer && c.head == head) owner = &c;
        if (!owner) throw Error("the dla_top table names a component the dla table does not have");
        const TokenEffect e{static_cast<int32_t>(top.column("token_id").numbers[i]), top.column("value").numbers[i]};
        (top.column("direction").texts[i] == "promote" ? owner->promoted : owner->suppressed).push_back(e);
        r.effectTexts[e.id] = top.column("token").texts[i];
    }
    return r;
}

AnalysisSpec promptAnalysis() {
    AnalysisSpec spec = analysisEntry("prompt", "One prompt",
        "one prompt's attention patterns (every layer x head, with entropy, first-token, previous-token, duplicate and "
        "induction scores) and the direct logit attribution of a token to every head and MLP");
    spec.ownCommand = "prompt";
    spec.tables = [](const LayerRun& run, bool, std::vector<Table>& out) {
        if (const auto r = run.result<PromptResult>("prompt")) appendTables(out, promptTables(*r));
    };
    spec.paramsToJson = [](const LayerRunParams& p, nlohmann::json& j) {
        j["position"] = p.prompt.position;
        j["token"] = p.prompt.token;
        j["top"] = p.prompt.top;
    };
    spec.paramsFromJson = [](const nlohmann::json& j, LayerRunParams& p) {
        p.prompt.position = jsonInteger<int>(j, "position");
        p.prompt.token = jsonInteger<int32_t>(j, "token");
        p.prompt.top = jsonInteger<int>(j, "top");
    };
    spec.write = [](const LayerRun& run, H5Writer& file, const std::string& group) {
        if (const auto r = run.result<PromptResult>("prompt")) file.tables(group, promptTables(*r));
    };
    spec.read = [](const H5Reader& file, const std::string& group, int, LayerRun& run) {
        if (!file.has(group + "/dla_summary")) return;
        run.setResult("prompt", promptFromTables(file.tables(group)));
    };
    spec.terminalReport = [](const LayerRun& run, const std::vector<Table>& tables) {
        std::string text;
        if (const auto r = run.result<PromptResult>("prompt")) {
            const LogitAttribution& d = r->attribution;
            // The ten components with the largest |value|: what a reader looks at first.
            std::vector<const LogitComponent*> order;
            for (const LogitComponent& c : d.components) order.push_back(&c);
            std::stable_sort(order.begin(), order.end(),
                             [](const LogitComponent* a, const LogitComponent* b) { return std::abs(a->value) > std::abs(b->value); });
            char line[160];
            std::snprintf(line, sizeof line, "Direct logit attribution of '%s' (%s) at position %d: logit %.4f = %.4f from the "
                                             "components + %.4f final norm bias\n",
                          r->chosenTokenText.c_str(), d.tokenSource.c_str(), d.position, d.logit, d.componentsSum, d.finalNormBias);
            text += line;
            for (size_t i = 0; i < order.size() && i < 10; ++i) {
                std::snprintf(line, sizeof line, "  %-28s %+.4f\n", componentLabel(*order[i]).c_str(), order[i]->value);
                text += line;
            }
            text += "\n";
        }
        return text + tablesAsText(tables, {"prompt_tokens", "attention", "dla", "dla_top"});
    };
    spec.settings = [](const LayerRun& run) -> std::vector<std::pair<std::string, std::string>> {
        const PromptParams& p = run.params.prompt;
        return {{"Position", p.position < 0 ? "last" : std::to_string(p.position)},
                {"Token", p.token < 0 ? "the next token (or the top prediction)" : "#" + std::to_string(p.token)},
                {"Top tokens", std::to_string(p.top)}};
    };
    return spec;
}

}  // namespace ls
