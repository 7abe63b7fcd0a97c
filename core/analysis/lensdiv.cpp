#include "analysis/lensdiv.h"

#include "analysis/layer_run.h"
#include "analysis/registry.h"
#include "common/json_integer.h"
#include "common/error.h"
#include "io/hdf5_file.h"

namespace ls {

namespace {

constexpr const char* kName = "lensdiv";

void writeGroup(const LayerRun& run, H5Writer& file, const std::string& group) {
    const auto result = run.result<LensDivResult>(kName);
    if (!result) return;
    const LensDivResult& r = *result;
    file.attribute(group, "num_layers", static_cast<int64_t>(r.numLayers));
    file.attribute(group, "tokens", r.tokens);
    file.table(group + "/layers", lensDivTable(r));
    std::vector<float> kl;  // (rows, N), row i = the table's row i
    for (const LensDivRow& row : r.rows) kl.insert(kl.end(), row.tokenKl.begin(), row.tokenKl.end());
    file.array(group + "/token_kl", kl, {static_cast<int64_t>(r.rows.size()), r.tokens},
               "nats; row i = row i of layers");
}

void readGroup(const H5Reader& file, const std::string& group, int /*version: format 1 had none*/, LayerRun& run) {
    if (!file.has(group + "/layers")) return;
    auto r = std::make_shared<LensDivResult>();
    r->numLayers = static_cast<int>(file.integerAttribute(group, "num_layers"));
    r->tokens = file.integerAttribute(group, "tokens");
    const Table layers = file.table(group + "/layers");
    std::vector<int64_t> shape;
    const std::vector<float> kl = file.floats(group + "/token_kl", &shape);
    const int64_t rows = static_cast<int64_t>(layers.rows());
    if (r->numLayers < 1 || r->tokens < 0 || shape.size() != 2 || shape[0] != rows || shape[1] != r->tokens ||
        rows < r->numLayers + 1)
        throw Error(group + "/token_kl does not match its table (" + std::to_string(rows) + " rows, " +
                    std::to_string(r->tokens) + " tokens)");
    for (const Column& c : layers.columns)  // each the length of the table, numbers but `stage`
        if (c.size() != static_cast<size_t>(rows) || (c.name == "stage") != (c.kind == Column::Kind::Text))
            throw Error(group + "/layers: column '" + c.name + "' has the wrong kind or length");
    const Column& layer = layers.column("layer");
    const Column& stage = layers.column("stage");
    const Column& klMean = layers.column("kl_to_final");
    const Column& ce = layers.column("cross_entropy");
    const Column& entropy = layers.column("entropy");
    const Column& accuracy = layers.column("top1_accuracy");
    for (int64_t i = 0; i < rows; ++i) {
        LensDivRow row;
        row.layer = static_cast<int>(layer.numbers[i]);
        row.stage = stage.texts[i];
        row.klToFinal = klMean.numbers[i];
        row.crossEntropy = ce.numbers[i];
        row.entropy = entropy.numbers[i];
        row.top1Accuracy = accuracy.numbers[i];
        row.tokenKl.assign(kl.begin() + i * r->tokens, kl.begin() + (i + 1) * r->tokens);
        r->rows.push_back(std::move(row));
    }
    run.results[kName] = std::move(r);
}

// The shards' rows, each a mean over its tokens: token-weighted means, KL per token concatenated.
void mergeShards(const std::vector<const LayerRun*>& shards, LayerRun& merged) {
    LensDivResult out;
    for (const LayerRun* shard : shards) {
        const auto r = shard->result<LensDivResult>(kName);
        if (!r) throw Error("a shard has no lensdiv results");
        if (out.rows.empty()) {
            out.numLayers = r->numLayers;
            out.rows = r->rows;
            for (LensDivRow& row : out.rows) {
                row.klToFinal = row.crossEntropy = row.entropy = row.top1Accuracy = 0;
                row.tokenKl.clear();
            }
        }
        if (r->rows.size() != out.rows.size()) throw Error("the shards' lensdiv tables differ in rows");
        const double n = static_cast<double>(r->tokens);
        for (size_t i = 0; i < out.rows.size(); ++i) {  // sums for now, means below
            LensDivRow& row = out.rows[i];
            const LensDivRow& add = r->rows[i];
            row.klToFinal += n * add.klToFinal;
            row.crossEntropy += n * add.crossEntropy;
            row.entropy += n * add.entropy;
            row.top1Accuracy += n * add.top1Accuracy;
            row.tokenKl.insert(row.tokenKl.end(), add.tokenKl.begin(), add.tokenKl.end());
        }
        out.tokens += r->tokens;
    }
    const double n = static_cast<double>(out.tokens);
    for (LensDivRow& row : out.rows) {
        row.klToFinal /= n;
        row.crossEntropy /= n;
        row.entropy /= n;
        row.top1Accuracy /= n;
    }
    merged.setResult(kName, std::move(out));
}

}  // namespace

Table lensDivTable(const LensDivResult& r) {
    using K = Column::Kind;
    Table t{"lensdiv_layers", "Logit lens against the model's output: KL(p_L || p_l), cross-entropy, entropy (nats)", {}};
    addColumns(t, {{"layer", K::Integer}, {"stage", K::Text}, {"kl_to_final", K::Real}, {"cross_entropy", K::Real},
                   {"entropy", K::Real}, {"top1_accuracy", K::Real}});
    for (const LensDivRow& row : r.rows)
        addRow(t, {row.layer, row.stage, row.klToFinal, row.crossEntropy, row.entropy, row.top1Accuracy});
    return t;
}

AnalysisSpec lensDivAnalysis() {
    AnalysisSpec spec = analysisEntry(kName, "Lens divergence",
        "how far the logit lens at each layer is from the model's output: KL to the final distribution, "
        "cross-entropy, entropy and top-1 accuracy per layer (--post-attention: also after attention)");
    // --post-attention is saturation's parameter: the same lens point for both analyses.
    spec.tables = [](const LayerRun& run, bool, std::vector<Table>& out) {
        if (const auto r = run.result<LensDivResult>(kName)) out.push_back(lensDivTable(*r));
    };
    spec.write = writeGroup;
    spec.read = readGroup;
    spec.mergeShards = mergeShards;
    spec.paramsToJson = [](const LayerRunParams& p, nlohmann::json& j) { j["post_attention_lens"] = p.lens.postAttention; };
    spec.paramsFromJson = [](const nlohmann::json& j, LayerRunParams& p) {
        p.lens.postAttention = j.at("post_attention_lens").get<bool>();
    };
    spec.layerQuantities = [](const LayerRun& run, std::vector<LayerQuantity>& out) {
        const auto r = run.result<LensDivResult>("lensdiv");
        if (!r) return;
        for (const auto& [metric, value] : std::vector<std::pair<std::string, double LensDivRow::*>>{
                 {"kl_to_final", &LensDivRow::klToFinal},
                 {"cross_entropy", &LensDivRow::crossEntropy},
                 {"entropy", &LensDivRow::entropy},
                 {"top1_accuracy", &LensDivRow::top1Accuracy}})
            for (const LensDivRow& row : r->rows) out.push_back({metric, row.layer, row.stage, row.*value});
    };
    return spec;
}

}  // namespace ls
