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

std::string utcTimestamp() {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

LayerRun ownCommandRun(const Model& model, RunInfo info, LayerRunParams params, bool complete) {
    LayerRun run;
    run.info = std::move(info);
    run.info.finishedAt = utcTimestamp();
    run.info.complete = complete;
    run.params = std::move(params);
    run.capture.numLayers = model.config().numLayers;  // the model's shape, as every run file records it
    run.capture.hiddenSize = model.config().hiddenSize;
    return run;
}

RunInfo runInfoFor(const Model& model, const std::filesystem::path& input, const std::string& inputFormat) {
    const ModelConfig& c = model.config();
    RunInfo info;
    info.layerscopeVersion = LAYERSCOPE_VERSION;
    info.startedAt = utcTimestamp();
    info.modelPath = model.directory().string();
    info.modelSummary = model.architectureName() + ", " + std::to_string(c.numLayers) + " layers, " +
                        std::to_string(c.numHeads) + " heads, dim " + std::to_string(c.hiddenSize) + ", vocab " +
                        std::to_string(c.vocabSize);
    // Half-precision matrices change the numbers a little (docs/large-models.md): the run says so.
    if (const std::string memory = model.weightsInMemory(); memory != "float32") info.modelSummary += "; weights " + memory;
    info.datasetPath = input.string();
    info.datasetFormat = inputFormat;
    const Stopwatch hashing;
    info.modelHash = contentHash(modelFiles(model.directory()));
    info.datasetHash = input.empty() ? "" : contentHash({input});
    info.times.setup = hashing.seconds();
    return info;
}

LayerRun runLayerAnalyses(const Model& model, const Dataset& data, const Tokenizer* tokenizer,
                          LayerRunParams params, Progress& progress, const LayerRunCallbacks& callbacks) {
    const ModelConfig& c = model.config();
    resolveLayerRunParams(params, c);
    progress.setStage("Hashing the inputs");
    RunInfo info = runInfoFor(model, data.path, dataFormatName(data.format));
    if (params.lensChoice.tuned()) {
        progress.setStage("Loading the tuned lens");
        params.tunedLens = TunedLens::load(params.lensChoice.tunedDir, c, info.modelHash);
        params.lensChoice.hash = params.tunedLens->hash();
    }

    // What the capture pass keeps: what the requested analyses ask for, and the observers of
    // the analyses that keep per-token values of their own.
    CaptureRequest request;
    request.finalNormLast = params.finalNormLast;
    request.modelHash = info.modelHash;
    request.tunedLens = params.tunedLens.get();
    bool needsCapture = false;
    for (const AnalysisSpec& a : analysisRegistry())
        if (a.request && params.wants(a.name)) {
            a.request(params, request);
            needsCapture = true;
        }
    std::vector<std::pair<std::string, std::unique_ptr<CaptureObserver>>> observers;
    double observersCost = 0;
    std::vector<std::pair<const AnalysisRunner*, double>> passes;  // after the capture pass, with their costs
    for (const AnalysisRunner& runner : analysisRunners()) {
        if (!params.wants(runner.name)) continue;
        const double cost = runner.cost ? runner.cost(model, params) : 1.0;
        if (runner.observe) {
            observers.emplace_back(runner.name, runner.observe(model, params));
            request.observers.push_back(observers.back().second.get());
            observersCost += cost;
            needsCapture = true;
        }
        if (runner.runPass) passes.emplace_back(&runner, cost);
    }
    // Each pass gets a share of the run's progress by its rough cost in forward passes over the
    // data (the capture pass's lens projections and metrics cost more than its forward), so the
    // overall fraction, and the ETA from it, move at about a steady rate.
    const double captureCost = needsCapture ? 1.0 + (request.metrics ? 4.0 : request.lens ? 2.0 : 0.0) +
                                                  0.5 * static_cast<double>(request.lowRankRanks.size()) +
                                                  observersCost
                                            : 0.0;
    double totalCost = captureCost;
    for (const auto& pass : passes) totalCost += pass.second;
    totalCost = std::max(1e-9, totalCost);
    double costSoFar = 0;
    auto nextPart = [&](double cost) {  // the next pass's share of the run
        const double from = costSoFar / totalCost;
        costSoFar += cost;
        return ProgressPart(progress, from, costSoFar / totalCost);
    };

    LayerRun run;
    run.info = std::move(info);
    run.params = std::move(params);
    run.capture.numLayers = c.numLayers;
    run.capture.hiddenSize = c.hiddenSize;
    const Stopwatch passes_;
    if (needsCapture) {
        const ProgressPart part = nextPart(captureCost);
        run.capture = runCapturePass(model, data, run.params.windows, request, progress);
        if (callbacks.onPassTimed) callbacks.onPassTimed("capture", run.capture.seconds);
    }
    for (auto& [name, observer] : observers) run.results[name] = observer->finish();
    if (tokenizer) {  // the token inspector's texts
        InspectGrid& g = run.capture.inspect;
        for (const auto* ids : {&g.inputIds, &g.targetIds, &g.topIds})
            for (int32_t id : *ids)
                if (id >= 0 && !g.tokenText.count(id)) g.tokenText[id] = tokenizer->tokenText(id);
    }
    for (const auto& [runner, cost] : passes) {
        if (cost <= 0) continue;
        const ProgressPart part = nextPart(cost);
        const Stopwatch pass;
        runner->runPass(model, data, run, progress, callbacks);
        if (callbacks.onPassTimed) callbacks.onPassTimed(runner->name, pass.seconds());
    }
    run.info.finishedAt = utcTimestamp();
    run.info.times.setup += run.capture.setupSeconds;
    run.info.times.capture = passes_.seconds() - run.capture.setupSeconds;
    const Stopwatch summaries;
    summariseLayerRun(run);
    run.info.times.summaries = summaries.seconds();
    return run;
}

}  // namespace ls
