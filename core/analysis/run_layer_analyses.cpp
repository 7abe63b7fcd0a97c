// runLayerAnalyses: the capture pass plus the plain summaries (lives in layerscope_core
// because it runs the model).
#include <algorithm>
#include <chrono>
#include <ctime>

#include "analysis/layer_run.h"
#include "analysis/registry.h"
#include "analysis/runners_internal.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace ls {

namespace {
std::string utcNow() {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}
}  // namespace

LayerRun runLayerAnalyses(const Model& model, const Dataset& data, const Tokenizer* tokenizer,
                          LayerRunParams params, Progress& progress, const LayerRunCallbacks& callbacks) {
    const ModelConfig& c = model.config();
    resolveLayerRunParams(params, c);
    RunInfo info;
    info.layerscopeVersion = LAYERSCOPE_VERSION;
    info.startedAt = utcNow();
    info.modelPath = model.directory().string();
    info.modelSummary = model.architectureName() + ", " + std::to_string(c.numLayers) + " layers, " +
                        std::to_string(c.numHeads) + " heads, dim " + std::to_string(c.hiddenSize) + ", vocab " +
                        std::to_string(c.vocabSize);
    info.datasetPath = data.path.string();
    info.datasetFormat = dataFormatName(data.format);
    progress.setStage("Hashing the inputs");
    info.modelHash = contentHash(modelFiles(model.directory()));
    info.datasetHash = contentHash({data.path});

    // What the capture pass keeps: what the requested analyses ask for. Ablation, linearize
    // and context run passes of their own.
    CaptureRequest request;
    bool needsCapture = false;
    for (const AnalysisSpec& a : analysisRegistry())
        if (a.request && params.wants(a.name)) {
            a.request(params, request);
            needsCapture = true;
        }
    // Analyses with work of their own inside the capture pass.
    std::vector<std::pair<std::string, std::unique_ptr<CaptureObserver>>> observers;
    double observersCost = 0;
    for (const AnalysisRunner& runner : analysisRunners())
        if (runner.observe && params.wants(runner.name)) {
            observers.emplace_back(runner.name, runner.observe(model, params));
            request.observers.push_back(observers.back().second.get());
            observersCost += runner.cost ? runner.cost(model, params) : 1.0;
            needsCapture = true;
        }
    const bool probesRun = params.wants("losssep") && params.probes;
    // Each pass gets a share of the run's progress by its rough cost in forward passes over the
    // data (the capture pass's lens projections and metrics cost more than its forward), so the
    // overall fraction, and the ETA from it, move at about a steady rate.
    const double scannedHeads = static_cast<double>(params.heads.empty() ? c.numLayers * c.numHeads : params.heads.size());
    const double captureCost = needsCapture ? 1.0 + (request.metrics ? 4.0 : request.lens ? 2.0 : 0.0) +
                                                  0.5 * static_cast<double>(request.lowRankRanks.size()) +
                                                  observersCost
                                            : 0.0;
    const double probesCost = probesRun ? 1.0 : 0.0;
    const double ablationCost = params.wants("ablation") ? 2.0 + 0.5 * scannedHeads : 0.0;
    const double linearizeCost =
        params.wants("linearize")
            ? 1.0 + 0.5 * scannedHeads + scannedHeads / std::max(1, params.linearize.steps) +
                  (params.linearize.contextSweep ? 3.0 * static_cast<double>(params.linearize.contextLengths.size()) : 0.0)
            : 0.0;
    const double totalCost = std::max(1e-9, captureCost + probesCost + ablationCost + linearizeCost);
    double costSoFar = 0;
    auto nextPart = [&](double cost) {  // the next pass's share of the run
        const double from = costSoFar / totalCost;
        costSoFar += cost;
        return ProgressPart(progress, from, costSoFar / totalCost);
    };

    CaptureResult capture;
    capture.numLayers = c.numLayers;
    capture.hiddenSize = c.hiddenSize;
    if (needsCapture) {
        const ProgressPart part = nextPart(captureCost);
        capture = runCapturePass(model, data, params.windows, request, progress);
    }
    std::map<std::string, std::shared_ptr<const AnalysisResult>> results;
    for (auto& [name, observer] : observers) results[name] = observer->finish();
    if (tokenizer) {
        InspectGrid& g = capture.inspect;
        for (const auto* ids : {&g.inputIds, &g.targetIds, &g.topIds})
            for (int32_t id : *ids)
                if (id >= 0 && !g.tokenText.count(id)) g.tokenText[id] = tokenizer->tokenText(id);
    }
    std::optional<ProbeResult> probes;
    if (probesRun) {
        const ProgressPart part = nextPart(probesCost);
        // The probes see the sampled tokens' hidden states, losses and final-layer metrics.
        progress.setStage("Training probes on layer " + std::to_string(capture.probeLayer));
        const int64_t M = static_cast<int64_t>(capture.probeTokens.size());
        std::vector<float> loss;
        for (int64_t t : capture.probeTokens) loss.push_back(capture.loss[static_cast<size_t>(t)]);
        std::vector<std::pair<std::string, std::vector<float>>> metrics;
        for (const std::string& name : params.probe.metricProbes) {
            const std::vector<float> all = metricValues(capture.metrics.back(), name);
            std::vector<float> sample;
            for (int64_t t : capture.probeTokens) sample.push_back(all[static_cast<size_t>(t)]);
            metrics.emplace_back(name, std::move(sample));
        }
        probes = trainProbes(capture.probeHidden, M, c.hiddenSize, loss, metrics, params.probe, progress, callbacks.onProbeEpoch);
        probes->layer = capture.probeLayer;
        probes->sampleTokens = M;
        // The hidden states are not part of the run: free them.
        std::vector<float>().swap(capture.probeHidden);
    }
    std::optional<AblationResult> ablation;
    if (params.wants("ablation")) {
        AblationParams ap;
        ap.windows = params.windows;
        ap.heads = params.heads;
        ap.subsetTokens = params.subsetTokens;
        ap.attribution = params.attribution;
        ap.onSnapshot = callbacks.onAblationSnapshot;
        const ProgressPart part = nextPart(ablationCost);
        ablation = runAblationScan(model, data, ap, progress);  // a cancel keeps the finished windows
    }
    std::optional<LinearizeResult> linearize;
    if (params.wants("linearize")) {
        LinearizeParams lp = params.linearize;
        lp.windows = params.windows;
        const ProgressPart part = nextPart(linearizeCost);
        linearize = runLinearization(model, data, lp, progress);
    }
    info.finishedAt = utcNow();
    info.complete = !ablation || ablation->complete;
    return summariseLayerRun(std::move(info), std::move(params), std::move(capture), std::move(probes),
                             std::move(ablation), std::move(linearize), std::move(results));
}

}  // namespace ls
