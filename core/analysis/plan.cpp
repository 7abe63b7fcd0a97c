#include "analysis/plan.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <nlohmann/json.hpp>
#include <unistd.h>

#include "analysis/lensdiv.h"
#include "analysis/window_batches_internal.h"
#include "common/error.h"
#include "common/memory.h"
#include "common/progress.h"
#include "data/dataset.h"
#include "io/run_file.h"
#include "model/model.h"

namespace ls {

namespace {

// What a run keeps per scored token: the capture's per-token scalars and lensdiv's KL rows.
int64_t bytesPerToken(const LayerRun& run) {
    const CaptureResult& c = run.capture;
    const int64_t n = std::max<int64_t>(1, c.tokens());
    size_t bytes = c.targetIndex.size() * 8 + c.targetId.size() * 4 + c.loss.size() * 4;
    for (const auto& v : c.cossim) bytes += v.size() * 4;
    for (const auto& v : c.lensTop1) bytes += v.size() * 4;
    for (const auto& v : c.postAttentionTop1) bytes += v.size() * 4;
    auto metricBytes = [](const LayerMetrics& m) {
        return (m.confidence.size() + m.maxLogit.size() + m.maxMinusMean.size() + m.margin.size() + m.entropy.size() +
                m.correctLogProb.size()) * 4;
    };
    for (const LayerMetrics& m : c.metrics) bytes += metricBytes(m);
    for (const LowRankMetrics& k : c.lowRankMetrics) bytes += metricBytes(k.metrics);
    if (const auto lensdiv = run.result<LensDivResult>("lensdiv"))
        for (const LensDivRow& row : lensdiv->rows) bytes += row.tokenKl.size() * 4;
    return static_cast<int64_t>(bytes) / n;
}

int64_t scoredTokens(const std::vector<Window>& windows, size_t first, size_t end) {
    int64_t n = 0;
    for (size_t i = first; i < end; ++i) n += windows[i].scoredCount();
    return n;
}

}  // namespace

std::string formatDuration(double seconds) {
    char text[48];
    if (seconds < 60) std::snprintf(text, sizeof text, "%.1f s", seconds);
    else if (seconds < 3600) std::snprintf(text, sizeof text, "%d min %02d s", int(seconds) / 60, int(seconds) % 60);
    else if (seconds < 86400 * 2)
        std::snprintf(text, sizeof text, "%d h %02d min", int(seconds) / 3600, int(seconds) % 3600 / 60);
    else std::snprintf(text, sizeof text, "%.1f days", seconds / 86400);
    return text;
}

RunPlan planLayerRun(const Model& model, const Dataset& data, LayerRunParams params, int askedShards,
                     Progress& progress) {
    const ModelConfig& c = model.config();
    params.windows.shard = WindowShard{};  // the plan is of the whole run; its shards are rows
    resolveLayerRunParams(params, c);
    RunPlan plan;
    for (const std::string& a : params.analyses) plan.analyses += (plan.analyses.empty() ? "" : ",") + a;
    const std::vector<Window> windows = prepareWindows(c, data, params.windows);  // the run's checks, the run's windows
    const auto batches = windowBatchRanges(windows);
    plan.windows = static_cast<int64_t>(windows.size());
    plan.batches = static_cast<int64_t>(batches.size());
    plan.tokens = scoredTokens(windows, 0, windows.size());

    // The calibration: the run's first batch, then its first two (as the run computes them),
    // each timed and written. The first also warms the caches up (the lens method's choice,
    // oneDNN's kernels), so times come from the second; file sizes from their difference.
    struct Calibration {
        int64_t windows = 0, tokens = 0;
        double setup = 0, passes = 0, probes = 0, summaries = 0;  // seconds
        int64_t peakBytes = 0, fileBytes = 0, bytesPerToken = 0;
        double meanPass = 0;                      // ablation's baseline: about one forward
    };
    const std::filesystem::path file = std::filesystem::temp_directory_path() /
                                       ("layerscope-plan-" + std::to_string(::getpid()) + ".h5");
    auto calibrate = [&](size_t batchCount, double progressFrom, double progressTo) {
        const ProgressPart part(progress, progressFrom, progressTo);
        Calibration k;
        LayerRunParams p = params;
        p.windows.maxWindows = static_cast<int64_t>(batches[batchCount - 1].second);
        if (p.wants("inspect")) p.inspect.window = 0;
        k.windows = p.windows.maxWindows;
        k.tokens = scoredTokens(windows, 0, static_cast<size_t>(k.windows));
        LayerRunCallbacks callbacks;
        callbacks.onPassTimed = [&](const std::string& pass, double seconds) {
            (pass == "losssep" ? k.probes : k.passes) += seconds;
        };
        progress.setStage("Calibrating on the first " + std::to_string(k.windows) + " windows");
        resetPeakResidentBytes();
        const LayerRun run = runLayerAnalyses(model, data, nullptr, p, progress, callbacks);
        k.peakBytes = peakResidentBytes();
        k.setup = run.info.times.setup;
        k.summaries = run.info.times.summaries;
        k.bytesPerToken = bytesPerToken(run);
        if (const auto ablation = run.result<AblationResult>("ablation")) k.meanPass = ablation->baselineSeconds;
        try {
            writeRunFile(file, run);
            k.fileBytes = static_cast<int64_t>(std::filesystem::file_size(file));
        } catch (...) {
            std::filesystem::remove(file);
            throw;
        }
        std::filesystem::remove(file);
        return k;
    };
    plan.residentBeforeBytes = residentBytes();
    const Stopwatch calibrating;
    const bool twoBatches = batches.size() > 1;
    const Calibration one = calibrate(1, 0.0, twoBatches ? 1.0 / 3 : 1.0);  // progress by batches run
    const Calibration two = twoBatches ? calibrate(2, 1.0 / 3, 1.0) : one;
    plan.calibrationSeconds = calibrating.seconds();
    plan.calibrationWindows = two.windows;
    plan.calibrationTokens = two.tokens;

    const double n = static_cast<double>(two.tokens), N = static_cast<double>(plan.tokens);
    const double dn = static_cast<double>(two.tokens - one.tokens);
    plan.secondsPerToken = (two.passes + two.summaries) / n;
    plan.setupSeconds = std::max(one.setup, two.setup);  // the first run on a model times the lens methods
    plan.meanPassSecondsPerToken = two.meanPass / n;
    // The probes learn on min(sample size, tokens) tokens: scaled by that (an upper estimate:
    // a larger sample usually stops in fewer epochs).
    const double sampleSize = static_cast<double>(params.lossSep.probeSampleSize);
    const double calibrationSample = std::min(sampleSize, n), sample = std::min(sampleSize, N);
    plan.probeSeconds = calibrationSample > 0 ? two.probes * sample / calibrationSample : 0;
    plan.seconds = plan.setupSeconds + plan.secondsPerToken * N + plan.probeSeconds;

    // Memory grows by the per-token values kept (and the probes' sample); the file by its
    // compressed per-token datasets, measured between the two calibration files.
    plan.bytesPerToken = two.bytesPerToken;
    const bool probes = params.wants("losssep") && params.lossSep.probes;
    const double sampleRowBytes = 4.0 * c.hiddenSize;
    const double fileBytesPerToken =
        dn > 0 ? static_cast<double>(two.fileBytes - one.fileBytes) / dn : static_cast<double>(two.fileBytes) / n;
    auto peakFor = [&](double tokens, double sampleTokens) {
        return two.peakBytes + static_cast<int64_t>(std::max(0.0, (tokens - n) * plan.bytesPerToken +
                                                                    (probes ? (sampleTokens - calibrationSample) * sampleRowBytes : 0)));
    };
    auto fileFor = [&](double tokens) {
        return std::max<int64_t>(one.fileBytes, two.fileBytes + static_cast<int64_t>((tokens - n) * fileBytesPerToken));
    };
    plan.peakBytes = peakFor(N, sample);
    plan.fileBytes = fileFor(N);  // a whole run keeps no sample
    plan.mergeSeconds = plan.probeSeconds + two.summaries / n * N;  // summarising the merged data, the probes

    try {  // an analysis that cannot be sharded says why (as run --shard would)
        LayerRunParams sharded = params;
        sharded.windows.shard = WindowShard{1, 2};
        resolveLayerRunParams(sharded, c);
    } catch (const ParamError& e) {
        plan.shardRefusal = e.problem();
        return plan;
    }
    std::vector<int> counts;
    for (int k = 2; k <= plan.batches; k *= 2) counts.push_back(k);
    if (askedShards > 1 && askedShards <= plan.batches && std::find(counts.begin(), counts.end(), askedShards) == counts.end())
        counts.push_back(askedShards);
    std::sort(counts.begin(), counts.end());
    for (int count : counts) {
        ShardPlan s;
        s.count = count;
        for (int k = 1; k <= count; ++k) {
            const auto [first, end] = shardWindowRange(windows, WindowShard{k, count});
            s.tokens = std::max(s.tokens, scoredTokens(windows, first, end));
        }
        const double t = static_cast<double>(s.tokens);
        s.seconds = plan.setupSeconds + plan.secondsPerToken * t + plan.meanPassSecondsPerToken * (N - t);
        const double shardSample = sample * t / N;  // a shard keeps its part of the sample
        s.peakBytes = peakFor(t, shardSample);
        s.fileBytes = fileFor(t) + (probes ? static_cast<int64_t>(shardSample * sampleRowBytes) : 0);
        plan.shards.push_back(s);
    }
    return plan;
}

std::string planText(const RunPlan& p) {
    // Narrow (under 60 columns): the GUI shows it in the Analysis panel.
    char line[256];
    std::string text;
    auto add = [&](const char* format, auto... values) {
        std::snprintf(line, sizeof line, format, values...);
        text += line;
    };
    add("plan of %s\n", p.analyses.c_str());
    add("  %lld windows, %lld scored tokens, %lld batches\n", static_cast<long long>(p.windows),
        static_cast<long long>(p.tokens), static_cast<long long>(p.batches));
    add("  timed on the first %lld (%lld tokens) in %s\n", static_cast<long long>(p.calibrationWindows),
        static_cast<long long>(p.calibrationTokens), formatDuration(p.calibrationSeconds).c_str());
    add("time         %s\n", formatDuration(p.seconds).c_str());
    add("  set-up %s, %.3g ms per token", formatDuration(p.setupSeconds).c_str(), p.secondsPerToken * 1e3);
    text += "\n";
    if (p.probeSeconds > 0) add("  probes %s at most\n", formatDuration(p.probeSeconds).c_str());
    add("peak memory  %s\n", formatBytes(p.peakBytes).c_str());
    add("  %s before the run, %lld bytes per token\n", formatBytes(p.residentBeforeBytes).c_str(),
        static_cast<long long>(p.bytesPerToken));
    add("run file     %s at most\n", formatBytes(p.fileBytes).c_str());
    if (!p.shardRefusal.empty()) {  // a sentence: wrapped to the table's width
        std::string row = "in shards: no.";
        std::istringstream words(p.shardRefusal);
        for (std::string word; words >> word;) {
            if (row.size() + 1 + word.size() > 46) {
                text += row + "\n";
                row = " ";
            }
            row += " " + word;
        }
        text += row + "\n";
    }
    if (!p.shards.empty()) {
        text += "in N shards (run --shard K/N), the largest:\n";
        text += "  N     tokens    time       memory     file\n";
        for (const ShardPlan& s : p.shards)
            add("  %-5d %-9lld %-10s %-10s %s\n", s.count, static_cast<long long>(s.tokens), formatDuration(s.seconds).c_str(),
                formatBytes(s.peakBytes).c_str(), formatBytes(s.fileBytes).c_str());
        add("  then merge: %s\n", formatDuration(p.mergeSeconds).c_str());
    }
    return text;
}

std::string planJson(const RunPlan& p) {
    nlohmann::json shards = nlohmann::json::array();
    for (const ShardPlan& s : p.shards)
        shards.push_back({{"shards", s.count}, {"tokens", s.tokens}, {"seconds", s.seconds}, {"peak_bytes", s.peakBytes},
                          {"file_bytes", s.fileBytes}});
    const nlohmann::json j = {{"analyses", p.analyses},
                              {"windows", p.windows},
                              {"tokens", p.tokens},
                              {"batches", p.batches},
                              {"calibration_windows", p.calibrationWindows},
                              {"calibration_tokens", p.calibrationTokens},
                              {"calibration_seconds", p.calibrationSeconds},
                              {"setup_seconds", p.setupSeconds},
                              {"seconds_per_token", p.secondsPerToken},
                              {"probe_seconds", p.probeSeconds},
                              {"mean_pass_seconds_per_token", p.meanPassSecondsPerToken},
                              {"seconds", p.seconds},
                              {"resident_before_bytes", p.residentBeforeBytes},
                              {"bytes_per_token", p.bytesPerToken},
                              {"peak_bytes", p.peakBytes},
                              {"file_bytes", p.fileBytes},
                              {"merge_seconds", p.mergeSeconds},
                              {"sharded", shards},
                              {"shard_refusal", p.shardRefusal}};
    return j.dump(2);
}

}  // namespace ls
