// runLayerAnalyses: the capture pass plus the plain summaries (lives in layerscope_core
// because it runs the model).
#include <chrono>
#include <ctime>

#include "analysis/layer_run.h"
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
                          LayerRunParams params, Progress& progress) {
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

    CaptureRequest request;
    request.cossim = params.wants("cossim");
    request.lens = params.wants("saturation");
    request.postAttentionLens = params.wants("saturation") && params.postAttentionLens;
    if (params.wants("lowrank")) {
        request.lowRankRanks = params.ranks;
        request.lowRankLayer = params.layer;
    }
    request.inspect = params.wants("inspect");
    request.inspectWindow = params.inspectWindow;
    request.topK = params.topK;
    CaptureResult capture = runCapturePass(model, data, params.windows, request, progress);
    if (tokenizer) {
        InspectGrid& g = capture.inspect;
        for (const auto* ids : {&g.inputIds, &g.targetIds, &g.topIds})
            for (int32_t id : *ids)
                if (id >= 0 && !g.tokenText.count(id)) g.tokenText[id] = tokenizer->tokenText(id);
    }
    info.finishedAt = utcNow();
    info.complete = true;
    return summariseLayerRun(std::move(info), std::move(params), std::move(capture));
}

}  // namespace ls
