#include "io/run_file.h"

#include <array>
#include <cmath>
#include <nlohmann/json.hpp>

#include "analysis/registry.h"
#include "common/error.h"
#include "common/json_integer.h"
#include "io/hdf5_file.h"

namespace ls {

namespace {

using nlohmann::json;

// Heads as [layer from 1, head from 0] pairs.
json headPairs(const std::vector<HeadId>& heads) {
    json out = json::array();
    for (const HeadId& h : heads) out.push_back({h.layer, h.head});
    return out;
}

json paramsToJson(const LayerRunParams& p) {
    return {{"analyses", p.analyses},
            {"seq_len", p.windows.seqLen},
            {"stride", p.windows.stride > 0 ? p.windows.stride : p.windows.seqLen},
            {"max_tokens", p.windows.maxTokens},
            {"max_windows", p.windows.maxWindows},
            {"respect_documents", p.windows.respectDocuments},
            {"dataset_format", dataFormatName(p.dataset.format)},
            {"num_samples", p.dataset.maxDocuments},
            {"prompt_template", p.dataset.promptTemplate},
            {"prompt_template_no_input", p.dataset.promptTemplateNoInput},
            {"layer", p.layer},
            {"ranks", p.ranks},
            {"hard_ratios", p.hardRatios},
            {"post_attention_lens", p.postAttentionLens},
            {"lens_method", p.lensMethod},
            {"inspect_window", p.inspectWindow},
            {"top_k", p.topK},
            {"bins", p.bins},
            {"special_drop", p.specialDrop},
            {"confidence_thresholds", p.lossSep.confidenceThresholds},
            {"subset_confidences", p.lossSep.subsetConfidences},
            {"probes", p.probes},
            {"probe_layer", p.probeLayer},
            {"probe_sample_size", p.probeSampleSize},
            {"probe_architectures", p.probe.architectures},
            {"probe_metrics", p.probe.metricProbes},
            {"probe_easy_loss_threshold", p.probe.easyLossThreshold},
            {"probe_seed", p.probe.seed},
            {"probe_max_epochs", p.probe.maxEpochs},
            {"probe_patience", p.probe.patience},
            {"metric_ranks", p.metricRanks},
            {"exit_signal", p.exit.signal},
            {"exit_layers", p.exit.layers},
            {"exit_thresholds", p.exit.thresholds},
            {"exit_threshold", std::isnan(p.exit.threshold) ? json(nullptr) : json(p.exit.threshold)},
            {"exit_layer_thresholds", p.exit.layerThresholds},
            {"heads", headPairs(p.heads)},
            {"subset_tokens", p.subsetTokens},
            {"attribution", p.attribution},
            {"normalize", reluNormalizeName(p.linearize.normalize)},
            {"steps", p.linearize.steps},
            {"protect_layers", p.linearize.protectLayers},
            {"context_lengths", p.linearize.contextLengths},
            {"context_heads", p.linearize.contextHeads}};
}

// Whole numbers in range only (json's get<int> would cast 1e30 or 2.5 silently).
template <typename T>
T integer(const json& j, const char* key) {
    return jsonInteger<T>(j.at(key));
}
std::vector<int> integers(const json& j, const char* key) {
    std::vector<int> out;
    for (const json& v : j.at(key)) out.push_back(jsonInteger<int>(v));
    return out;
}

LayerRunParams paramsFromJson(const json& j) {
    LayerRunParams p;
    p.analyses = j.at("analyses").get<std::vector<std::string>>();
    p.windows.seqLen = integer<int>(j, "seq_len");
    p.windows.stride = integer<int>(j, "stride");
    p.windows.maxTokens = integer<int64_t>(j, "max_tokens");
    p.windows.maxWindows = integer<int64_t>(j, "max_windows");
    p.windows.respectDocuments = j.at("respect_documents").get<bool>();
    p.dataset.format = parseDataFormat(j.at("dataset_format").get<std::string>());
    p.dataset.maxDocuments = integer<int64_t>(j, "num_samples");
    p.dataset.promptTemplate = j.at("prompt_template").get<std::string>();
    p.dataset.promptTemplateNoInput = j.at("prompt_template_no_input").get<std::string>();
    p.layer = integer<int>(j, "layer");
    p.ranks = integers(j, "ranks");
    p.hardRatios = j.at("hard_ratios").get<std::vector<double>>();
    p.postAttentionLens = j.at("post_attention_lens").get<bool>();
    p.lensMethod = j.value("lens_method", std::string("auto"));  // absent before it existed
    p.inspectWindow = integer<int>(j, "inspect_window");
    p.topK = integer<int>(j, "top_k");
    p.bins = integer<int>(j, "bins");
    p.specialDrop = j.at("special_drop").get<double>();
    p.lossSep.confidenceThresholds = j.at("confidence_thresholds").get<std::vector<double>>();
    p.lossSep.subsetConfidences = j.at("subset_confidences").get<std::vector<double>>();
    p.lossSep.bins = p.bins;
    p.probes = j.at("probes").get<bool>();
    p.probeLayer = integer<int>(j, "probe_layer");
    p.probeSampleSize = integer<int64_t>(j, "probe_sample_size");
    p.probe.architectures = j.at("probe_architectures").get<std::vector<std::string>>();
    p.probe.metricProbes = j.at("probe_metrics").get<std::vector<std::string>>();
    p.probe.easyLossThreshold = j.at("probe_easy_loss_threshold").get<double>();
    p.probe.seed = integer<uint64_t>(j, "probe_seed");
    p.probe.maxEpochs = integer<int>(j, "probe_max_epochs");
    p.probe.patience = integer<int>(j, "probe_patience");
    p.metricRanks = integers(j, "metric_ranks");
    p.exit.signal = j.at("exit_signal").get<std::string>();
    p.exit.layers = integers(j, "exit_layers");
    p.exit.thresholds = j.at("exit_thresholds").get<std::vector<double>>();
    p.exit.threshold = j.at("exit_threshold").is_null() ? std::nan("") : j.at("exit_threshold").get<double>();
    p.exit.layerThresholds = j.at("exit_layer_thresholds").get<std::vector<double>>();
    for (const json& pair : j.value("heads", json::array()))
        p.heads.push_back({jsonInteger<int>(pair.at(0)), jsonInteger<int>(pair.at(1))});
    p.linearize.heads = p.heads;
    p.linearize.contextSweep = p.wants("context");
    p.subsetTokens = integer<int64_t>(j, "subset_tokens");
    p.attribution = j.at("attribution").get<bool>();
    p.linearize.normalize = parseReluNormalize(j.at("normalize").get<std::string>());
    p.linearize.steps = integer<int>(j, "steps");
    p.linearize.protectLayers = integers(j, "protect_layers");
    p.linearize.contextLengths = integers(j, "context_lengths");
    p.linearize.contextHeads = integers(j, "context_heads");
    return p;
}

// Rows of equal length stacked as (rows, N).
template <typename T>
std::vector<T> stack(const std::vector<std::vector<T>>& rows) {
    std::vector<T> out;
    for (const auto& r : rows) out.insert(out.end(), r.begin(), r.end());
    return out;
}

template <typename T>
std::vector<std::vector<T>> unstack(const std::vector<T>& flat, const std::vector<int64_t>& shape,
                                    int64_t expectRows, int64_t expectCols, const std::string& what,
                                    const std::filesystem::path& file) {
    if (shape.size() != 2 || shape[0] != expectRows || shape[1] != expectCols)
        throw Error(file, "dataset '" + what + "' has the wrong shape (expected " + std::to_string(expectRows) + " x " +
                              std::to_string(expectCols) + "): the file is damaged");
    std::vector<std::vector<T>> rows(static_cast<size_t>(expectRows));
    for (int64_t r = 0; r < expectRows; ++r)
        rows[r].assign(flat.begin() + r * expectCols, flat.begin() + (r + 1) * expectCols);
    return rows;
}

// The per-token metric arrays of a capture, by dataset name.
std::vector<std::pair<std::string, std::vector<float> LayerMetrics::*>> metricFields() {
    return {{"confidence", &LayerMetrics::confidence},         {"max_z", &LayerMetrics::maxLogit},
            {"max_minus_mean", &LayerMetrics::maxMinusMean}, {"margin", &LayerMetrics::margin},
            {"entropy", &LayerMetrics::entropy},               {"correct_logprob", &LayerMetrics::correctLogProb}};
}

}  // namespace

void writeRunFile(const std::filesystem::path& path, const LayerRun& run) {
    const CaptureResult& c = run.capture;
    const int64_t N = c.tokens(), L = c.numLayers;
    H5Writer w(path);
    w.attribute("/", "format", std::string("layerscope-run"));
    w.attribute("/", "format_version", static_cast<int64_t>(kRunFileFormatVersion));
    w.attribute("/", "layerscope_version", run.info.layerscopeVersion);
    w.attribute("/", "status", std::string(run.info.complete ? "complete" : "partial"));
    w.attribute("/", "started_at", run.info.startedAt);
    w.attribute("/", "finished_at", run.info.finishedAt);

    const json params = paramsToJson(run.params);
    w.attribute("meta", "model_path", run.info.modelPath);
    w.attribute("meta", "model_hash", run.info.modelHash);
    w.attribute("meta", "model_summary", run.info.modelSummary);
    w.attribute("meta", "dataset_path", run.info.datasetPath);
    w.attribute("meta", "dataset_hash", run.info.datasetHash);
    w.attribute("meta", "dataset_format", run.info.datasetFormat);
    w.attribute("meta", "hash_algorithm", std::string("FNV-1a 64 of the file bytes (model: config.json + weights)"));
    w.attribute("meta", "params_json", params.dump());
    for (const auto& [key, value] : params.items()) {
        if (value.is_string()) w.attribute("meta", key, value.get<std::string>());
        else if (value.is_boolean()) w.attribute("meta", key, static_cast<int64_t>(value.get<bool>()));
        else if (value.is_number_integer()) w.attribute("meta", key, value.get<int64_t>());
        else if (value.is_number()) w.attribute("meta", key, value.get<double>());
        else w.attribute("meta", key, value.dump());  // lists as JSON text
    }
    w.attribute("meta", "num_layers", L);
    w.attribute("meta", "hidden_size", static_cast<int64_t>(c.hiddenSize));
    w.attribute("meta", "windows", c.windows);
    w.attribute("meta", "capture_seconds", c.seconds);

    w.array("tokens/target_index", c.targetIndex);
    w.array("tokens/target_id", c.targetId);
    w.array("tokens/loss", c.loss, {}, "nats");
    if (!c.cossim.empty()) w.array("cossim/values", stack(c.cossim), {L, N}, "cosine; row l-1 = layer l");
    if (!c.lensTop1.empty()) w.array("lens/top1", stack(c.lensTop1), {L + 1, N}, "token id; row l = layer l");
    if (!c.postAttentionTop1.empty())
        w.array("lens/post_attention_top1", stack(c.postAttentionTop1), {L, N}, "token id; row l-1 = layer l");
    if (!c.singularValues.empty()) {
        w.array("lowrank/singular_values", c.singularValues);
        std::vector<int64_t> rank, agreeFinal, agreeLayer, tp, fp, fn, tn;
        for (const LowRankCounts& k : c.lowRank) {
            rank.push_back(k.rank);
            agreeFinal.push_back(k.agreeFinal);
            agreeLayer.push_back(k.agreeLayer);
            tp.push_back(k.truePositive);
            fp.push_back(k.falsePositive);
            fn.push_back(k.falseNegative);
            tn.push_back(k.trueNegative);
        }
        w.array("lowrank/rank", rank);
        w.array("lowrank/agree_final", agreeFinal, {}, "tokens");
        w.array("lowrank/agree_layer", agreeLayer, {}, "tokens");
        w.array("lowrank/true_positive", tp, {}, "tokens");
        w.array("lowrank/false_positive", fp, {}, "tokens");
        w.array("lowrank/false_negative", fn, {}, "tokens");
        w.array("lowrank/true_negative", tn, {}, "tokens");
        std::vector<int64_t> timingRank, timingTokens;
        std::vector<double> full, factored;
        for (const LowRankTiming& t : c.lowRankTiming) {
            timingRank.push_back(t.rank);
            timingTokens.push_back(t.tokens);
            full.push_back(t.fullSeconds);
            factored.push_back(t.factoredSeconds);
        }
        w.array("lowrank/timing_rank", timingRank);
        w.array("lowrank/timing_tokens", timingTokens);
        w.array("lowrank/full_seconds", full, {}, "s");
        w.array("lowrank/factored_seconds", factored, {}, "s");
    }
    for (const auto& [name, field] : metricFields()) {
        if (c.metrics.empty()) break;
        std::vector<float> flat;
        for (const LayerMetrics& m : c.metrics) flat.insert(flat.end(), (m.*field).begin(), (m.*field).end());
        w.array("metrics/" + name, flat, {L, N}, name == "correct_logprob" ? "nats; row l-1 = layer l" : "row l-1 = layer l");
    }
    if (!c.lowRankMetrics.empty()) {
        std::vector<int64_t> ranks;
        for (const LowRankMetrics& k : c.lowRankMetrics) ranks.push_back(k.rank);
        w.array("metrics_lowrank/rank", ranks);
        for (const auto& [name, field] : metricFields()) {
            if (name == "correct_logprob") continue;
            std::vector<float> flat;
            for (const LowRankMetrics& k : c.lowRankMetrics)
                flat.insert(flat.end(), (k.metrics.*field).begin(), (k.metrics.*field).end());
            w.array("metrics_lowrank/" + name, flat, {static_cast<int64_t>(ranks.size()), N}, "row i = rank[i]");
        }
    }
    if (run.probes) {
        w.attribute("probes", "layer", static_cast<int64_t>(run.probes->layer));
        w.attribute("probes", "sample_tokens", run.probes->sampleTokens);
    }
    const InspectGrid& g = c.inspect;
    if (g.positions > 0) {
        w.attribute("inspect", "window", static_cast<int64_t>(g.window));
        w.attribute("inspect", "begin", g.begin);
        const int64_t T = g.positions, Lp = g.layers, K = g.topK;
        w.array("inspect/input_ids", g.inputIds);
        w.array("inspect/target_ids", g.targetIds);
        w.array("inspect/top_ids", g.topIds, {T, Lp, K});
        w.array("inspect/top_probs", g.topProbs, {T, Lp, K});
        w.array("inspect/final_top1_prob", g.finalTop1Prob, {T, Lp});
        Table text{"token_text", "Display text of the token ids in the grid", {}};
        Column& ids = text.add("id", Column::Kind::Integer);
        Column& texts = text.add("text", Column::Kind::Text);
        for (const auto& [id, s] : g.tokenText) {
            ids.numbers.push_back(id);
            texts.texts.push_back(s);
        }
        w.table("inspect/token_text", text);
    }
    // Analyses with a result type of their own write their group themselves.
    for (const AnalysisSpec& a : analysisRegistry()) {
        const auto it = run.results.find(a.name);
        if (!a.write || it == run.results.end()) continue;
        const std::string group = "analyses/" + a.name;
        w.attribute(group, "title", a.title);
        a.write(*it->second, w, group);
    }
    for (const Table& t : run.tables()) w.table("tables/" + t.name, t);
    w.commit();
}

namespace {
LayerRun readSealedRunFile(const std::filesystem::path& path);
}  // namespace

LayerRun readRunFile(const std::filesystem::path& path) {
    // Damaged bytes stop at the seal (Seal::Required), before libhdf5; crafted ones that
    // pass it but make libhdf5 crash or hang do so in a child process, not in this one.
    checkFileBeforeHdf5(path, H5Reader::Seal::Required);  // once, and no child for a damaged file
    rehearseInChildProcess(path, [&] { readSealedRunFile(path); });
    return readSealedRunFile(path);
}

namespace {

LayerRun readSealedRunFile(const std::filesystem::path& path) {
    H5Reader r(path, H5Reader::Seal::Checked);  // by readRunFile, once for both reads
    if (!r.hasAttribute("/", "format") || r.stringAttribute("/", "format") != "layerscope-run")
        throw Error(path, "is an HDF5 file but not a LayerScope run file");
    const int64_t version = r.integerAttribute("/", "format_version");
    if (version > kRunFileFormatVersion)
        throw Error(path, "was written by a newer LayerScope (run-file format " + std::to_string(version) +
                              "; this version reads format " + std::to_string(kRunFileFormatVersion) +
                              " and older): update LayerScope to open it");
    if (version < 1) throw Error(path, "has an invalid run-file format version " + std::to_string(version));

    RunInfo info;
    info.layerscopeVersion = r.stringAttribute("/", "layerscope_version");
    info.complete = r.stringAttribute("/", "status") == "complete";
    info.startedAt = r.stringAttribute("/", "started_at");
    info.finishedAt = r.stringAttribute("/", "finished_at");
    info.modelPath = r.stringAttribute("meta", "model_path");
    info.modelHash = r.stringAttribute("meta", "model_hash");
    info.modelSummary = r.stringAttribute("meta", "model_summary");
    info.datasetPath = r.stringAttribute("meta", "dataset_path");
    info.datasetHash = r.stringAttribute("meta", "dataset_hash");
    info.datasetFormat = r.stringAttribute("meta", "dataset_format");
    LayerRunParams params;
    try {
        params = paramsFromJson(json::parse(r.stringAttribute("meta", "params_json")));
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {  // json's errors, and jsonInteger's
        throw Error(path, std::string("its parameters (meta/params_json) are damaged: ") + e.what());
    }

    CaptureResult c;
    c.numLayers = static_cast<int>(r.integerAttribute("meta", "num_layers"));
    c.hiddenSize = static_cast<int>(r.integerAttribute("meta", "hidden_size"));
    c.windows = r.integerAttribute("meta", "windows");
    c.seconds = r.realAttribute("meta", "capture_seconds");
    if (c.numLayers < 1 || c.numLayers > 100000) throw Error(path, "meta/num_layers is invalid: the file is damaged");
    const int64_t L = c.numLayers;
    c.targetIndex = r.ints64("tokens/target_index");
    c.targetId = r.ints32("tokens/target_id");
    c.loss = r.floats("tokens/loss");
    const int64_t N = c.tokens();
    if (static_cast<int64_t>(c.targetIndex.size()) != N || static_cast<int64_t>(c.targetId.size()) != N)
        throw Error(path, "the datasets under /tokens have different lengths: the file is damaged");
    std::vector<int64_t> shape;
    if (r.has("cossim/values")) {
        const auto flat = r.floats("cossim/values", &shape);
        c.cossim = unstack(flat, shape, L, N, "cossim/values", path);
    }
    if (r.has("lens/top1")) {
        const auto flat = r.ints32("lens/top1", &shape);
        c.lensTop1 = unstack(flat, shape, L + 1, N, "lens/top1", path);
    }
    if (r.has("lens/post_attention_top1")) {
        const auto flat = r.ints32("lens/post_attention_top1", &shape);
        c.postAttentionTop1 = unstack(flat, shape, L, N, "lens/post_attention_top1", path);
    }
    if (r.has("lowrank/singular_values")) {
        c.singularValues = r.doubles("lowrank/singular_values");
        const auto rank = r.ints64("lowrank/rank"), agreeFinal = r.ints64("lowrank/agree_final"),
                   agreeLayer = r.ints64("lowrank/agree_layer"), tp = r.ints64("lowrank/true_positive"),
                   fp = r.ints64("lowrank/false_positive"), fn = r.ints64("lowrank/false_negative"),
                   tn = r.ints64("lowrank/true_negative");
        for (const auto* v : {&agreeFinal, &agreeLayer, &tp, &fp, &fn, &tn})
            if (v->size() != rank.size()) throw Error(path, "the datasets under /lowrank disagree in length: the file is damaged");
        for (size_t i = 0; i < rank.size(); ++i) {
            if (rank[i] < 1 || rank[i] > static_cast<int64_t>(c.singularValues.size()))
                throw Error(path, "lowrank/rank holds a rank outside the head's rank: the file is damaged");
            c.lowRank.push_back(LowRankCounts{static_cast<int>(rank[i]), agreeFinal[i], agreeLayer[i], tp[i], fp[i],
                                              fn[i], tn[i]});
        }
        const auto timingRank = r.ints64("lowrank/timing_rank"), timingTokens = r.ints64("lowrank/timing_tokens");
        const auto full = r.doubles("lowrank/full_seconds"), factored = r.doubles("lowrank/factored_seconds");
        if (timingTokens.size() != timingRank.size() || full.size() != timingRank.size() ||
            factored.size() != timingRank.size())
            throw Error(path, "the timing datasets under /lowrank disagree in length: the file is damaged");
        for (size_t i = 0; i < timingRank.size(); ++i)
            c.lowRankTiming.push_back(
                LowRankTiming{static_cast<int>(timingRank[i]), timingTokens[i], full[i], factored[i]});
    }
    if (r.has("metrics/confidence")) {
        c.metrics.assign(static_cast<size_t>(L), {});
        for (const auto& [name, field] : metricFields()) {
            const auto rows = unstack(r.floats("metrics/" + name, &shape), shape, L, N, "metrics/" + name, path);
            for (int64_t l = 0; l < L; ++l) c.metrics[l].*field = rows[l];
        }
    }
    if (r.has("metrics_lowrank/rank")) {
        const auto ranks = r.ints64("metrics_lowrank/rank");
        const int64_t R = static_cast<int64_t>(ranks.size());
        for (int64_t rank : ranks) c.lowRankMetrics.push_back(LowRankMetrics{static_cast<int>(rank), {}});
        for (const auto& [name, field] : metricFields()) {
            if (name == "correct_logprob") continue;
            const auto rows =
                unstack(r.floats("metrics_lowrank/" + name, &shape), shape, R, N, "metrics_lowrank/" + name, path);
            for (int64_t i = 0; i < R; ++i) c.lowRankMetrics[i].metrics.*field = rows[i];
        }
    }
    std::optional<ProbeResult> probes;
    if (r.has("tables/probes")) {
        try {
            probes = probeResultFromTable(r.table("tables/probes"), static_cast<int>(r.integerAttribute("probes", "layer")),
                                          r.integerAttribute("probes", "sample_tokens"));
        } catch (const Error& e) {
            throw Error(path, std::string("its probe table is damaged: ") + e.what());
        }
    }
    std::optional<AblationResult> ablation;
    std::optional<LinearizeResult> linearize;
    if (r.has("tables/ablation_heads") || r.has("tables/linearize_summary")) {
        std::vector<Table> tables;
        for (const std::string& name : r.children("tables")) tables.push_back(r.table("tables/" + name));
        try {
            if (r.has("tables/ablation_heads")) ablation = ablationFromTables(tables);
            if (r.has("tables/linearize_summary")) linearize = linearizeFromTables(tables);
        } catch (const Error& e) {
            throw Error(path, std::string("its head-intervention tables are damaged: ") + e.what());
        }
    }
    if (r.has("inspect/top_ids")) {
        InspectGrid& g = c.inspect;
        g.window = static_cast<int>(r.integerAttribute("inspect", "window"));
        g.begin = r.integerAttribute("inspect", "begin");
        g.inputIds = r.ints32("inspect/input_ids");
        g.targetIds = r.ints32("inspect/target_ids");
        g.topIds = r.ints32("inspect/top_ids", &shape);
        if (shape.size() != 3 || shape[0] != static_cast<int64_t>(g.inputIds.size()) || shape[1] != L + 1)
            throw Error(path, "dataset 'inspect/top_ids' has the wrong shape: the file is damaged");
        g.positions = static_cast<int>(shape[0]);
        g.layers = static_cast<int>(shape[1]);
        g.topK = static_cast<int>(shape[2]);
        g.topProbs = r.floats("inspect/top_probs");
        g.finalTop1Prob = r.floats("inspect/final_top1_prob");
        if (g.topProbs.size() != g.topIds.size() || g.targetIds.size() != g.inputIds.size() ||
            g.finalTop1Prob.size() != static_cast<size_t>(g.positions) * g.layers)
            throw Error(path, "the datasets under /inspect disagree in size: the file is damaged");
        const Table text = r.table("inspect/token_text");
        const Column& ids = text.column("id");
        const Column& texts = text.column("text");
        for (size_t i = 0; i < text.rows(); ++i) g.tokenText[static_cast<int32_t>(ids.numbers[i])] = texts.texts[i];
    }
    std::map<std::string, std::shared_ptr<const AnalysisResult>> results;
    for (const AnalysisSpec& a : analysisRegistry()) {
        const std::string group = "analyses/" + a.name;
        if (!a.read || !r.has(group)) continue;
        try {
            results[a.name] = a.read(r, group);
        } catch (const Error& e) {
            throw Error(path, "its " + a.name + " results are damaged: " + e.what());
        }
    }
    try {
        return summariseLayerRun(std::move(info), std::move(params), std::move(c), std::move(probes),
                                 std::move(ablation), std::move(linearize), std::move(results));
    } catch (const Error& e) {
        throw Error(path, std::string("cannot rebuild the results: ") + e.what());
    }
}

}  // namespace

}  // namespace ls
