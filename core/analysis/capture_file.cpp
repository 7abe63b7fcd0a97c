#include "analysis/capture_file.h"

#include "common/error.h"
#include "io/hdf5_file.h"

namespace ls {

namespace {

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

void writeCapture(const CaptureResult& c, H5Writer& w) {
    const int64_t N = c.tokens(), L = c.numLayers;
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
        std::vector<double> corr, mse, seconds;
        std::vector<int64_t> timed;
        for (const LowRankMetrics& k : c.lowRankMetrics) {
            corr.push_back(k.logitCorr);
            mse.push_back(k.logitMse);
            seconds.push_back(k.seconds);
            timed.push_back(k.tokens);
        }
        w.array("metrics_lowrank/logit_corr", corr, {}, "Pearson r of z_r with z over every (token, vocab) entry");
        w.array("metrics_lowrank/logit_mse", mse, {}, "mean (z_r - z)^2");
        w.array("metrics_lowrank/seconds", seconds, {}, "computing z_r for timed_tokens tokens");
        w.array("metrics_lowrank/timed_tokens", timed);
        std::vector<double> moments;  // (R, 7): what logit_corr and logit_mse come from; shards add them
        for (const LowRankMetrics& k : c.lowRankMetrics) {
            const LogitMoments& m = k.moments;
            moments.insert(moments.end(), {m.n, m.sx, m.sy, m.sxx, m.syy, m.sxy, m.sse});
        }
        w.array("metrics_lowrank/logit_moments", moments, {static_cast<int64_t>(ranks.size()), 7},
                "entries n and sums of x, y, x^2, y^2, xy, (x - y)^2 over every (token, vocab) entry; x = z, y = z_r");
        for (const auto& [name, field] : metricFields()) {
            if (name == "correct_logprob") continue;
            std::vector<float> flat;
            for (const LowRankMetrics& k : c.lowRankMetrics)
                flat.insert(flat.end(), (k.metrics.*field).begin(), (k.metrics.*field).end());
            w.array("metrics_lowrank/" + name, flat, {static_cast<int64_t>(ranks.size()), N}, "row i = rank[i]");
        }
    }
    if (!c.probeHidden.empty()) {  // a shard's probe sample (a whole run trains its probes and drops it)
        const int64_t M = static_cast<int64_t>(c.probeTokens.size());
        w.attribute("probe_sample", "layer", static_cast<int64_t>(c.probeLayer));
        w.array("probe_sample/tokens", c.probeTokens, {}, "indices into the per-token arrays");
        w.array("probe_sample/hidden", c.probeHidden, {M, static_cast<int64_t>(c.hiddenSize)}, "h_layer of those tokens");
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
}

CaptureResult readCapture(const H5Reader& r, const std::filesystem::path& path) {
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
        for (int64_t rank : ranks) c.lowRankMetrics.emplace_back().rank = static_cast<int>(rank);
        for (const auto& [name, field] : metricFields()) {
            if (name == "correct_logprob") continue;
            const auto rows =
                unstack(r.floats("metrics_lowrank/" + name, &shape), shape, R, N, "metrics_lowrank/" + name, path);
            for (int64_t i = 0; i < R; ++i) c.lowRankMetrics[i].metrics.*field = rows[i];
        }
        if (r.has("metrics_lowrank/logit_corr")) {  // runs from before these were kept: NaN, untimed
            const auto corr = r.doubles("metrics_lowrank/logit_corr"), mse = r.doubles("metrics_lowrank/logit_mse");
            const auto seconds = r.doubles("metrics_lowrank/seconds");
            const auto timed = r.ints64("metrics_lowrank/timed_tokens");
            if (corr.size() != size_t(R) || mse.size() != size_t(R) || seconds.size() != size_t(R) || timed.size() != size_t(R))
                throw Error(path.string() + ": metrics_lowrank holds " + std::to_string(R) + " ranks but not as many logit comparisons");
            for (int64_t i = 0; i < R; ++i) {
                LowRankMetrics& k = c.lowRankMetrics[size_t(i)];
                k.logitCorr = corr[size_t(i)];
                k.logitMse = mse[size_t(i)];
                k.seconds = seconds[size_t(i)];
                k.tokens = timed[size_t(i)];
            }
        }
        if (r.has("metrics_lowrank/logit_moments")) {  // since run --shard; before, merging cannot add them
            const auto moments = r.doubles("metrics_lowrank/logit_moments", &shape);
            if (shape.size() != 2 || shape[0] != R || shape[1] != 7)
                throw Error(path, "dataset 'metrics_lowrank/logit_moments' has the wrong shape: the file is damaged");
            for (int64_t i = 0; i < R; ++i) {
                const double* m = moments.data() + i * 7;
                c.lowRankMetrics[size_t(i)].moments = LogitMoments{m[0], m[1], m[2], m[3], m[4], m[5], m[6]};
            }
        }
    }
    if (r.has("probe_sample/hidden")) {
        c.probeLayer = static_cast<int>(r.integerAttribute("probe_sample", "layer"));
        c.probeTokens = r.ints64("probe_sample/tokens");
        c.probeHidden = r.floats("probe_sample/hidden", &shape);
        if (shape.size() != 2 || shape[0] != static_cast<int64_t>(c.probeTokens.size()) || shape[1] != c.hiddenSize)
            throw Error(path, "dataset 'probe_sample/hidden' has the wrong shape: the file is damaged");
        for (int64_t t : c.probeTokens)
            if (t < 0 || t >= N) throw Error(path, "dataset 'probe_sample/tokens' points outside the tokens: the file is damaged");
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
    return c;
}

}  // namespace ls
