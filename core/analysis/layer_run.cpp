#include "analysis/layer_run.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

#include "analysis/inspect.h"
#include "analysis/registry.h"
#include "common/error.h"
#include "model/model.h"

namespace ls {

namespace {

// "cossim, saturation, ...": every analysis's name, for messages.
std::string analysisNames() {
    std::string names;
    for (const AnalysisSpec& a : analysisRegistry()) names += (names.empty() ? "" : ", ") + a.name;
    return names;
}

}  // namespace

std::vector<std::string> parseAnalysisList(const std::string& list) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= list.size()) {
        const size_t comma = std::min(list.find(',', start), list.size());
        const std::string name = list.substr(start, comma - start);
        if (!findAnalysis(name)) throw Error("unknown analysis '" + name + "' (available: " + analysisNames() + ")");
        if (std::find(out.begin(), out.end(), name) == out.end()) out.push_back(name);
        start = comma + 1;
    }
    return out;
}

bool LayerRunParams::wants(const std::string& analysis) const {
    return std::find(analyses.begin(), analyses.end(), analysis) != analyses.end();
}

void resolveLayerRunParams(LayerRunParams& p, const ModelConfig& c) {
    if (p.analyses.empty())
        throw Error("no analysis chosen (available: " + analysisNames() + ")");
    if (p.subsetTokens < 0) throw ParamError("subset-tokens", "must be at least 0");
    const int L = c.numLayers;
    if (p.layer == 0) p.layer = std::max(1, L - 1);
    if (p.layer < 1 || p.layer > L)
        throw ParamError("layer", std::to_string(p.layer) + " is out of range: the model has layers 1.." +
                    std::to_string(L));
    const int maxRank = std::min(c.hiddenSize, c.vocabSize);
    if (p.ranks.empty() && p.wants("lowrank")) {
        for (int r = 8; r < maxRank; r *= 2) p.ranks.push_back(r);
        p.ranks.push_back(maxRank);
    }
    for (int r : p.ranks)
        if (r < 1 || r > maxRank)
            throw ParamError("ranks", "rank " + std::to_string(r) + " is outside 1.." + std::to_string(maxRank) +
                        " (the hidden size" + (c.vocabSize < c.hiddenSize ? std::string(" or vocabulary") : "") + ")");
    if (p.hardRatios.empty()) throw ParamError("hard-ratios", "give at least one ratio in (0, 1)");
    for (double r : p.hardRatios)
        if (!(r > 0.0 && r < 1.0)) throw ParamError("hard-ratios", "" + std::to_string(r) + " is outside (0, 1)");
    if (p.topK < 1 || p.topK > c.vocabSize)
        throw ParamError("top-k", std::to_string(p.topK) + " is outside 1.." + std::to_string(c.vocabSize));
    if (p.bins < 1 || p.bins > 100000) throw ParamError("bins", "must be between 1 and 100000");
    parseLensMethod(p.lensMethod, c.hiddenSize);  // throws for a bad name before any work
    if (p.inspectWindow < 0) throw ParamError("inspect-window", "must be at least 0");
    checkHeads(p.heads, c);
    // The context sweep linearises the first N heads in linearize's order: it needs that scan.
    if (p.wants("context") && !p.wants("linearize")) p.analyses.push_back("linearize");
    if (p.wants("linearize")) {
        p.linearize.heads = p.heads;
        p.linearize.contextSweep = p.wants("context");
        if (p.linearize.contextSweep && p.linearize.contextLengths.empty()) {  // the seed's lengths that fit the model
            for (int n : {128, 256, 512, 1024})
                if (n <= c.maxPositions) p.linearize.contextLengths.push_back(n);
            if (p.linearize.contextLengths.empty()) p.linearize.contextLengths.push_back(c.maxPositions);
        }
        checkLinearizeParams(p.linearize, c);  // before any work, as the scan itself would
    }
    for (const std::string& a : p.analyses) parseAnalysisList(a);  // each must be known
    if (p.probeLayer < 0) p.probeLayer = L;
    if (p.probeLayer > L)
        throw ParamError("probe-layer", std::to_string(p.probeLayer) + " is out of range: the model has layers 0.." +
                    std::to_string(L));
    for (int r : p.metricRanks)
        if (r < 1 || r > maxRank)
            throw ParamError("metric-ranks", "rank " + std::to_string(r) + " is outside 1.." + std::to_string(maxRank));
    if (p.wants("exit")) {
        if (L < 2) throw Error("early exit needs a model with at least 2 layers");
        if (p.exit.signal == "cossim" && !p.wants("cossim")) p.analyses.push_back("cossim");
        for (int l : p.exit.layers)
            if (l < 1 || l >= L)
                throw ParamError("layers", "layer " + std::to_string(l) + " is outside 1.." + std::to_string(L - 1) +
                            " (tokens that pass nowhere run to layer " + std::to_string(L) + " anyway)");
        if (p.exit.signal != "cossim") {
            if (p.exit.signal == "correct_prob")
                throw ParamError("signal", "correct_prob needs the answer, which an exit policy does not have");
            metricHigherIsEasier(p.exit.signal);  // throws for an unknown signal
        }
        for (const auto* list : {&p.exit.thresholds, &p.exit.layerThresholds})
            for (double th : *list)
                if (!std::isfinite(th)) throw ParamError("thresholds", "every threshold must be a finite number");
        if (!std::isnan(p.exit.threshold) && !std::isfinite(p.exit.threshold))
            throw ParamError("threshold", "must be a finite number");
        if (!p.exit.layerThresholds.empty()) {
            const size_t allowed = p.exit.layers.empty() ? size_t(L - 1) : p.exit.layers.size();
            if (p.exit.layerThresholds.size() != allowed)
                throw ParamError("layer-thresholds", "give one threshold per allowed layer (" + std::to_string(allowed) +
                            "), got " + std::to_string(p.exit.layerThresholds.size()));
        }
    }
}

LayerRun summariseLayerRun(RunInfo info, LayerRunParams params, CaptureResult capture,
                           std::optional<ProbeResult> probes, std::optional<AblationResult> ablation,
                           std::optional<LinearizeResult> linearize,
                           std::map<std::string, std::shared_ptr<const AnalysisResult>> results) {
    LayerRun run;
    run.results = std::move(results);
    run.ablation = std::move(ablation);
    run.linearize = std::move(linearize);
    run.info = std::move(info);
    run.params = std::move(params);
    run.capture = std::move(capture);
    run.probes = std::move(probes);
    for (const AnalysisSpec& a : analysisRegistry())
        if (a.summarise && run.params.wants(a.name)) a.summarise(run);
    return run;
}

int64_t LayerRun::scoredTokens() const {
    if (capture.tokens() > 0) return capture.tokens();
    return ablation ? ablation->tokens : linearize ? linearize->tokens : 0;
}

int64_t LayerRun::windowCount() const {
    if (capture.windows > 0 || !ablation) return capture.windows;
    return ablation->windows;
}

std::vector<Table> LayerRun::tables(bool perTokenSaturation) const {
    std::vector<Table> out;
    for (const AnalysisSpec& a : analysisRegistry())
        if (a.tables) a.tables(*this, perTokenSaturation, out);
    return out;
}

std::string contentHash(const std::vector<std::filesystem::path>& files) {
    uint64_t h = 1469598103934665603ull;  // FNV-1a 64 offset basis
    std::vector<char> buffer(1 << 20);
    for (const auto& file : files) {
        std::ifstream in(file, std::ios::binary);
        if (!in) throw Error(file, "cannot read the file to hash it");
        while (in) {
            in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
            const std::streamsize got = in.gcount();
            for (std::streamsize i = 0; i < got; ++i) {
                h ^= static_cast<unsigned char>(buffer[static_cast<size_t>(i)]);
                h *= 1099511628211ull;  // FNV prime
            }
        }
    }
    char hex[17];
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
    return hex;
}

std::vector<std::filesystem::path> modelFiles(const std::filesystem::path& dir) {
    std::vector<std::filesystem::path> files{dir / "config.json"};
    std::vector<std::filesystem::path> weights;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec))
        if (entry.path().extension() == ".safetensors" || entry.path().filename() == "model.safetensors.index.json")
            weights.push_back(entry.path());
    std::sort(weights.begin(), weights.end());
    files.insert(files.end(), weights.begin(), weights.end());
    return files;
}

}  // namespace ls
