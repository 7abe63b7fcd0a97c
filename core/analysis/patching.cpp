// Activation patching: its sites, tables and registry entry (plain C++; the patched forwards are
// patching_run.cpp's).
#include "analysis/patching.h"

#include <nlohmann/json.hpp>
#include <sstream>

#include "analysis/layer_run.h"
#include "analysis/registry.h"
#include "common/error.h"
#include "io/hdf5_file.h"

namespace ls {

PatchParams parsePatchSites(const std::string& list) {
    PatchParams p;
    p.resid = p.heads = p.mlp = false;
    std::istringstream in(list);
    std::string item;
    while (std::getline(in, item, ',')) {
        if (item == "resid") p.resid = true;
        else if (item == "heads") p.heads = true;
        else if (item == "mlp") p.mlp = true;
        else if (!item.empty()) throw ParamError("what", "'" + item + "' is not a site: choose from resid, heads, mlp");
    }
    if (!p.resid && !p.heads && !p.mlp) throw ParamError("what", "choose at least one of resid, heads, mlp");
    return p;
}

std::string patchSitesText(const PatchParams& p) {
    std::string text;
    for (const auto& [on, name] : {std::pair{p.resid, "resid"}, std::pair{p.heads, "heads"}, std::pair{p.mlp, "mlp"}})
        if (on) text += (text.empty() ? "" : ",") + std::string(name);
    return text;
}

const char* patchDirectionName(int direction) { return direction == kDenoise ? "denoise" : "noise"; }

std::vector<Table> patchTables(const PatchResult& r) {
    using K = Column::Kind;
    const int L = r.numLayers, H = r.numHeads, T = r.tokens;
    std::vector<Table> out;
    Table pairs{"patch_pairs", "Logit difference (answer - wrong) of each pair's unpatched runs", {}};
    addColumns(pairs, {{"pair", K::Integer}, {"tokens", K::Integer}, {"clean_logit_diff", K::Real}, {"corrupted_logit_diff", K::Real}});
    for (size_t i = 0; i < r.pairs.size(); ++i) addRow(pairs, {static_cast<int64_t>(i + 1), T, r.pairs[i].clean, r.pairs[i].corrupted});
    out.push_back(std::move(pairs));
    Table tokens{"patch_tokens", "The first pair's tokens (the charts' axes)", {}};
    addColumns(tokens, {{"position", K::Integer}, {"clean_id", K::Integer}, {"clean_token", K::Text}, {"corrupted_id", K::Integer},
                        {"corrupted_token", K::Text}});
    for (int p = 0; p < T; ++p) {
        const size_t i = static_cast<size_t>(p);
        addRow(tokens, {p, r.cleanIds[i], r.cleanTokens[i], r.corruptedIds[i], r.corruptedTokens[i]});
    }
    out.push_back(std::move(tokens));
    if (!r.resid[kDenoise].empty()) {
        Table t{"patch_resid", "Residual stream patching: normalised logit difference per layer and position", {}};
        addColumns(t, {{"direction", K::Text}, {"layer", K::Integer}, {"position", K::Integer}, {"value", K::Real}});
        for (const int d : {kDenoise, kNoise})
            for (int l = 0; l <= L; ++l)
                for (int p = 0; p < T; ++p) addRow(t, {patchDirectionName(d), l, p, r.resid[d][static_cast<size_t>(l) * T + p]});
        out.push_back(std::move(t));
    }
    if (!r.heads[kDenoise].empty()) {
        Table t{"patch_heads", "Head output patching (all positions): normalised logit difference", {}};
        addColumns(t, {{"direction", K::Text}, {"layer", K::Integer}, {"head", K::Integer}, {"value", K::Real}});
        Table byPosition{"patch_heads_position", "Head output patching at one position: normalised logit difference", {}};
        addColumns(byPosition, {{"direction", K::Text}, {"layer", K::Integer}, {"head", K::Integer}, {"position", K::Integer}, {"value", K::Real}});
        for (const int d : {kDenoise, kNoise})
            for (int l = 1; l <= L; ++l)
                for (int h = 0; h < H; ++h) {
                    const size_t cell = static_cast<size_t>(l - 1) * H + h;
                    addRow(t, {patchDirectionName(d), l, h, r.heads[d][cell]});
                    for (int p = 0; p < T; ++p) addRow(byPosition, {patchDirectionName(d), l, h, p, r.headsByPosition[d][cell * T + p]});
                }
        out.push_back(std::move(t));
        out.push_back(std::move(byPosition));
    }
    if (!r.mlp[kDenoise].empty()) {
        Table t{"patch_mlp", "MLP output patching (all positions): normalised logit difference", {}};
        addColumns(t, {{"direction", K::Text}, {"layer", K::Integer}, {"value", K::Real}});
        for (const int d : {kDenoise, kNoise})
            for (int l = 1; l <= L; ++l) addRow(t, {patchDirectionName(d), l, r.mlp[d][static_cast<size_t>(l - 1)]});
        out.push_back(std::move(t));
    }
    return out;
}

namespace {

// A table's value column split by direction, in row order (denoise rows, then noise rows).
void readValues(const Table& t, std::vector<double> (&out)[2], size_t perDirection) {
    if (t.rows() != 2 * perDirection) throw Error("the " + t.name + " table has " + std::to_string(t.rows()) + " rows, not " +
                                                  std::to_string(2 * perDirection));
    for (size_t i = 0; i < t.rows(); ++i) {
        const std::string& direction = t.column("direction").texts[i];
        const int d = i < perDirection ? kDenoise : kNoise;
        if (direction != patchDirectionName(d)) throw Error("the " + t.name + " table has its directions out of order");
        out[d].push_back(t.column("value").numbers[i]);
    }
}

}  // namespace

PatchResult patchFromTables(const std::vector<Table>& tables) {
    PatchResult r;
    const Table& pairs = requireTable(tables, "patch_pairs");
    for (size_t i = 0; i < pairs.rows(); ++i)
        r.pairs.push_back({pairs.column("clean_logit_diff").numbers[i], pairs.column("corrupted_logit_diff").numbers[i]});
    const Table& tokens = requireTable(tables, "patch_tokens");
    r.tokens = static_cast<int>(tokens.rows());
    for (size_t i = 0; i < tokens.rows(); ++i) {
        r.cleanIds.push_back(static_cast<int32_t>(tokens.column("clean_id").numbers[i]));
        r.cleanTokens.push_back(tokens.column("clean_token").texts[i]);
        r.corruptedIds.push_back(static_cast<int32_t>(tokens.column("corrupted_id").numbers[i]));
        r.corruptedTokens.push_back(tokens.column("corrupted_token").texts[i]);
    }
    r.sites.resid = r.sites.heads = r.sites.mlp = false;
    const size_t T = static_cast<size_t>(r.tokens);
    if (const Table* heads = findTable(tables, "patch_heads")) {
        for (size_t i = 0; i < heads->rows() / 2; ++i) {
            r.numLayers = std::max(r.numLayers, static_cast<int>(heads->column("layer").numbers[i]));
            r.numHeads = std::max(r.numHeads, static_cast<int>(heads->column("head").numbers[i]) + 1);
        }
        readValues(*heads, r.heads, static_cast<size_t>(r.numLayers) * r.numHeads);
        readValues(requireTable(tables, "patch_heads_position"), r.headsByPosition, static_cast<size_t>(r.numLayers) * r.numHeads * T);
        r.sites.heads = true;
    }
    if (const Table* mlp = findTable(tables, "patch_mlp")) {
        r.numLayers = static_cast<int>(mlp->rows() / 2);
        readValues(*mlp, r.mlp, static_cast<size_t>(r.numLayers));
        r.sites.mlp = true;
    }
    if (const Table* resid = findTable(tables, "patch_resid")) {
        if (T == 0 || resid->rows() % (2 * T) != 0) throw Error("the patch_resid table does not match the prompt's positions");
        r.numLayers = static_cast<int>(resid->rows() / (2 * T)) - 1;
        readValues(*resid, r.resid, (static_cast<size_t>(r.numLayers) + 1) * T);
        r.sites.resid = true;
    }
    return r;
}

AnalysisSpec patchAnalysis() {
    AnalysisSpec spec = analysisEntry("patch", "Activation patching",
        "activation patching between clean and corrupted prompt pairs (residual stream per layer and position, every head, "
        "every MLP; denoising and noising): the normalised logit difference of answer and wrong token");
    spec.ownCommand = "patch";
    spec.tables = [](const LayerRun& run, bool, std::vector<Table>& out) {
        if (const auto r = run.result<PatchResult>("patch")) appendTables(out, patchTables(*r));
    };
    spec.paramsToJson = [](const LayerRunParams& p, nlohmann::json& j) { j["what"] = patchSitesText(p.patch); };
    spec.paramsFromJson = [](const nlohmann::json& j, LayerRunParams& p) { p.patch = parsePatchSites(j.at("what").get<std::string>()); };
    spec.write = [](const LayerRun& run, H5Writer& file, const std::string& group) {
        if (const auto r = run.result<PatchResult>("patch")) file.tables(group, patchTables(*r));
    };
    spec.read = [](const H5Reader& file, const std::string& group, int, LayerRun& run) {
        if (!file.has(group + "/patch_pairs")) return;
        PatchResult r = patchFromTables(file.tables(group));
        r.complete = run.info.complete;
        run.setResult("patch", std::move(r));
    };
    spec.terminalReport = [](const LayerRun&, const std::vector<Table>& tables) {
        return tablesAsText(tables, {"patch_tokens", "patch_resid", "patch_heads_position"});
    };
    spec.settings = [](const LayerRun& run) -> std::vector<std::pair<std::string, std::string>> {
        std::vector<std::pair<std::string, std::string>> rows{{"Sites", patchSitesText(run.params.patch)}};
        if (const auto r = run.result<PatchResult>("patch")) {
            rows.push_back({"Pairs", std::to_string(r->pairs.size())});
            rows.push_back({"Tokens per prompt", std::to_string(r->tokens)});
        }
        return rows;
    };
    return spec;
}

}  // namespace ls
