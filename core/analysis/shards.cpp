#include "analysis/shards.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <utility>

#include "analysis/registry.h"
#include "analysis/runners_internal.h"
#include "common/error.h"
#include "common/progress.h"
#include "io/hdf5_file.h"

namespace ls {

namespace {

template <typename T>
void append(std::vector<T>& into, const std::vector<T>& more) {
    into.insert(into.end(), more.begin(), more.end());
}

void appendMetrics(LayerMetrics& into, const LayerMetrics& more) {
    for (auto field : {&LayerMetrics::confidence, &LayerMetrics::maxLogit, &LayerMetrics::maxMinusMean,
                       &LayerMetrics::margin, &LayerMetrics::entropy, &LayerMetrics::correctLogProb})
        append(into.*field, more.*field);
}

// Per-layer rows (L or L + 1 of them) concatenated token-wise.
template <typename T>
void appendRows(std::vector<std::vector<T>>& into, const std::vector<std::vector<T>>& more, const char* what) {
    if (into.size() != more.size()) throw Error(std::string("the shards' ") + what + " differ in layers");
    for (size_t l = 0; l < into.size(); ++l) append(into[l], more[l]);
}

// The capture of shard `next` appended to the merged one (shards in order: tokens in stream
// order). The probe sample is merged separately (mergeProbeSamples).
void appendCapture(CaptureResult& into, const CaptureResult& next) {
    into.windows += next.windows;
    into.seconds += next.seconds;
    into.setupSeconds += next.setupSeconds;
    append(into.targetIndex, next.targetIndex);
    append(into.targetId, next.targetId);
    append(into.loss, next.loss);
    appendRows(into.cossim, next.cossim, "cos-sims");
    appendRows(into.lensTop1, next.lensTop1, "lens top-1s");
    appendRows(into.postAttentionTop1, next.postAttentionTop1, "post-attention top-1s");
    if (into.metrics.size() != next.metrics.size()) throw Error("the shards' metrics differ in layers");
    for (size_t l = 0; l < into.metrics.size(); ++l) appendMetrics(into.metrics[l], next.metrics[l]);
    if (into.lowRank.size() != next.lowRank.size() || into.lowRankMetrics.size() != next.lowRankMetrics.size())
        throw Error("the shards' low-rank heads differ in ranks");
    for (size_t i = 0; i < into.lowRank.size(); ++i) {
        LowRankCounts& k = into.lowRank[i];
        const LowRankCounts& add = next.lowRank[i];
        k.agreeFinal += add.agreeFinal;
        k.agreeLayer += add.agreeLayer;
        k.truePositive += add.truePositive;
        k.falsePositive += add.falsePositive;
        k.falseNegative += add.falseNegative;
        k.trueNegative += add.trueNegative;
    }
    for (size_t i = 0; i < into.lowRankMetrics.size(); ++i) {
        LowRankMetrics& k = into.lowRankMetrics[i];
        const LowRankMetrics& add = next.lowRankMetrics[i];
        appendMetrics(k.metrics, add.metrics);
        k.moments.add(add.moments);
        k.seconds += add.seconds;
        k.tokens += add.tokens;
        setLogitAgreement(k);
    }
    // The timing of the factorised head stays the first shard's (a timing, not a sum).
    if (into.inspect.positions == 0) into.inspect = next.inspect;  // the shard holding the window has it
}

// The probes' sample of the whole run: the `capacity` tokens with the smallest keys among the
// shards' samples (each shard kept its smallest: capture_pass.h, probeSampleKey).
void mergeProbeSamples(CaptureResult& merged, const std::vector<const CaptureResult*>& shards, int64_t capacity,
                       uint64_t seed) {
    struct Row {
        uint64_t key;
        int64_t token;  // in the merged per-token arrays
        const float* hidden;
    };
    std::vector<Row> rows;
    int64_t offset = 0;
    for (const CaptureResult* s : shards) {
        const size_t D = static_cast<size_t>(s->hiddenSize);
        for (size_t i = 0; i < s->probeTokens.size(); ++i) {
            const int64_t token = offset + s->probeTokens[i];
            rows.push_back({probeSampleKey(seed, merged.targetIndex[static_cast<size_t>(token)]), token,
                            s->probeHidden.data() + i * D});
        }
        offset += s->tokens();
    }
    const size_t keep = std::min(rows.size(), static_cast<size_t>(std::max<int64_t>(0, capacity)));
    std::partial_sort(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(keep), rows.end(),
                      [](const Row& a, const Row& b) { return a.key < b.key; });
    rows.resize(keep);
    std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.token < b.token; });
    merged.probeTokens.clear();
    merged.probeHidden.clear();
    for (const Row& r : rows) {
        merged.probeTokens.push_back(r.token);
        merged.probeHidden.insert(merged.probeHidden.end(), r.hidden, r.hidden + merged.hiddenSize);
    }
}

std::string name(const ShardFile& f) { return f.path.string(); }

// Everything but the shard itself must agree.
nlohmann::json unshardedParams(const LayerRunParams& params) {
    nlohmann::json j = runParamsJson(params);
    j.erase("shard");
    return j;
}

void checkShards(const std::vector<ShardFile>& shards) {
    if (shards.empty()) throw Error("merge needs the shard files of one run");
    const ShardFile& first = shards.front();
    for (const ShardFile& f : shards)
        if (!f.run.params.windows.shard.sharded())
            throw Error(f.path, "is not a shard: it was run without --shard (a whole run has nothing to merge)");
    const int N = first.run.params.windows.shard.count;
    const nlohmann::json params = unshardedParams(first.run.params);
    std::map<int, const ShardFile*> byIndex;
    for (const ShardFile& f : shards) {
        const WindowShard& s = f.run.params.windows.shard;
        if (s.count != N)
            throw Error(f.path, "is shard " + shardText(s) + ", but " + name(first) + " is one of " + std::to_string(N));
        if (!f.run.info.complete)
            throw Error(f.path, "is shard " + shardText(s) + " but partial (its run was interrupted): run that shard again");
        if (f.run.info.modelHash != first.run.info.modelHash)
            throw Error(f.path, "was computed on another model (hash " + f.run.info.modelHash + ", " + name(first) +
                                    ": " + first.run.info.modelHash + ")");
        if (f.run.info.datasetHash != first.run.info.datasetHash)
            throw Error(f.path, "was computed on other data (hash " + f.run.info.datasetHash + ", " + name(first) +
                                    ": " + first.run.info.datasetHash + ")");
        const nlohmann::json own = unshardedParams(f.run.params);
        if (own != params) {
            std::string differing;
            for (const auto& [key, value] : own.items())
                if (!params.contains(key) || params.at(key) != value) differing += (differing.empty() ? "" : ", ") + key;
            for (const auto& [key, value] : params.items())
                if (!own.contains(key)) differing += (differing.empty() ? "" : ", ") + key;
            throw Error(f.path, "was run with other parameters than " + name(first) + " (" + differing + ")");
        }
        const auto [at, fresh] = byIndex.emplace(s.index, &f);
        if (!fresh && at->second->path == f.path) throw Error(f.path, "is given twice: give each shard once");
        if (!fresh) throw Error(f.path, "is shard " + shardText(s) + ", as is " + name(*at->second) + ": give each shard once");
    }
    std::string missing;
    for (int k = 1; k <= N; ++k)
        if (!byIndex.count(k)) missing += (missing.empty() ? "" : ", ") + shardText(WindowShard{k, N});
    if (!missing.empty())
        throw Error("merge: shard" + std::string(missing.find(',') == std::string::npos ? " " : "s ") + missing +
                    " missing: a merged run needs all " + std::to_string(N));
}

}  // namespace

LayerRun mergeShardRuns(std::vector<ShardFile> shards, Progress& progress) {
    checkShards(shards);
    std::sort(shards.begin(), shards.end(), [](const ShardFile& a, const ShardFile& b) {
        return a.run.params.windows.shard.index < b.run.params.windows.shard.index;
    });
    progress.setStage("Merging " + std::to_string(shards.size()) + " shards");
    LayerRun merged;
    merged.info = shards.front().run.info;
    merged.params = shards.front().run.params;
    merged.params.windows.shard = WindowShard{};
    merged.capture = shards.front().run.capture;
    std::vector<const LayerRun*> runs{&shards.front().run};
    std::vector<const CaptureResult*> captures{&shards.front().run.capture};
    for (size_t i = 1; i < shards.size(); ++i) {
        const LayerRun& s = shards[i].run;
        try {
            appendCapture(merged.capture, s.capture);
        } catch (const Error& e) {
            throw Error(shards[i].path, std::string("does not fit the shards before it: ") + e.what());
        }
        merged.info.startedAt = std::min(merged.info.startedAt, s.info.startedAt);  // ISO 8601 UTC sorts as text
        merged.info.finishedAt = std::max(merged.info.finishedAt, s.info.finishedAt);
        for (const auto& [phase, seconds] : s.info.times.named())
            if (double* sum = merged.info.times.find(phase)) *sum += seconds;  // machine time, all shards
        runs.push_back(&s);
        captures.push_back(&s.capture);
    }
    if (merged.capture.probeLayer >= 0)
        mergeProbeSamples(merged.capture, captures, merged.params.lossSep.probeSampleSize, merged.params.lossSep.probe.seed);
    merged.results.clear();
    for (const AnalysisSpec& a : analysisRegistry())
        if (a.mergeShards && merged.params.wants(a.name)) a.mergeShards(runs, merged);
    for (const AnalysisRunner& runner : analysisRunners())
        if (runner.afterMerge && merged.params.wants(runner.name)) runner.afterMerge(merged, progress);
    summariseLayerRun(merged);
    return merged;
}

}  // namespace ls
