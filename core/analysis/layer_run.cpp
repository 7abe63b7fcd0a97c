#include "analysis/layer_run.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <optional>

#include "analysis/inspect.h"
#include "analysis/registry.h"
#include "common/cache_dir.h"
#include "common/fnv_hash.h"
#include "common/error.h"
#include "model/model.h"

namespace ls {

namespace {

// "cossim, saturation, ...": every analysis's name, for messages.
std::string analysisNames() {
    std::string names;
    for (const AnalysisSpec& a : analysisRegistry())
        if (a.ownCommand.empty()) names += (names.empty() ? "" : ", ") + a.name;
    return names;
}

}  // namespace

std::vector<std::string> parseAnalysisList(const std::string& list) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= list.size()) {
        const size_t comma = std::min(list.find(',', start), list.size());
        const std::string name = list.substr(start, comma - start);
        const AnalysisSpec* spec = findAnalysis(name);
        if (!spec) throw Error("unknown analysis '" + name + "' (available: " + analysisNames() + ")");
        if (!spec->ownCommand.empty())
            throw Error("'" + name + "' runs with a command of its own: layerscope-cli " + spec->ownCommand);
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
    for (const std::string& a : p.analyses) parseAnalysisList(a);  // each must be known
    // The shared parameters.
    const int L = c.numLayers;
    if (p.layer == 0) p.layer = std::max(1, L - 1);
    if (p.layer < 1 || p.layer > L)
        throw ParamError("layer", std::to_string(p.layer) + " is out of range: the model has layers 1.." +
                    std::to_string(L));
    if (p.bins < 1 || p.bins > 100000) throw ParamError("bins", "must be between 1 and 100000");
    checkHeads(p.heads, c);
    // A tuned lens is loaded (and checked against the model's hash) when the run starts; a folder
    // without one is refused now, before any work.
    if (p.lensChoice.tuned() && !std::filesystem::is_regular_file(p.lensChoice.tunedDir / kTunedLensInfoFile))
        throw ParamError("lens", p.lensChoice.tunedDir.string() + " holds no tuned lens (no " + kTunedLensInfoFile +
                                     "; make one with `lens train`)");
    // Each asked-for analysis's own; one may add another it needs, whose own then run too.
    std::vector<std::string> resolved;
    for (bool added = true; added;) {
        added = false;
        for (const AnalysisSpec& a : analysisRegistry())
            if (p.wants(a.name) && std::find(resolved.begin(), resolved.end(), a.name) == resolved.end()) {
                resolved.push_back(a.name);
                if (a.resolve) a.resolve(p, c);
                added = true;
            }
    }
    if (p.windows.shard.sharded())
        for (const AnalysisSpec& a : analysisRegistry())
            if (p.wants(a.name) && a.shardRefusal)
                if (const std::string why = a.shardRefusal(p); !why.empty())
                    throw ParamError("shard", a.name + " cannot run in shards: " + why);
}

void summariseLayerRun(LayerRun& run) {
    for (const AnalysisSpec& a : analysisRegistry())
        if (a.summarise && run.params.wants(a.name)) a.summarise(run);
}

int64_t LayerRun::scoredTokens() const {
    if (capture.tokens() > 0) return capture.tokens();
    for (const AnalysisSpec& a : analysisRegistry())  // registry order: ablation before linearize
        if (const auto r = result<AnalysisResult>(a.name); r && r->ownPassTokens() > 0) return r->ownPassTokens();
    return 0;
}

int64_t LayerRun::windowCount() const {
    if (capture.windows > 0) return capture.windows;
    for (const AnalysisSpec& a : analysisRegistry())
        if (const auto r = result<AnalysisResult>(a.name); r && r->ownPassWindows() > 0) return r->ownPassWindows();
    return 0;
}

std::vector<Table> LayerRun::tables(bool perTokenSaturation) const {
    std::vector<Table> out;
    for (auto& part : tablesByAnalysis(perTokenSaturation))
        out.insert(out.end(), std::make_move_iterator(part.second.begin()), std::make_move_iterator(part.second.end()));
    return out;
}

std::vector<std::pair<const AnalysisSpec*, std::vector<Table>>> LayerRun::tablesByAnalysis(bool perTokenSaturation) const {
    std::vector<std::pair<const AnalysisSpec*, std::vector<Table>>> parts;
    for (const AnalysisSpec& a : analysisRegistry()) {
        std::vector<Table> own;
        if (a.tables) a.tables(*this, perTokenSaturation, own);
        if (!own.empty()) parts.emplace_back(&a, std::move(own));
    }
    return parts;
}

namespace {

// The files as they are now (path, device, inode, size, modification time): the cache key of
// their content hash, which a change to any of them changes. newestChange: the latest
// modification time, in seconds since the epoch.
std::optional<std::string> identityKey(const std::vector<std::filesystem::path>& files, double& newestChange) {
    uint64_t h = kFnv1aBasis;
    newestChange = 0;
    for (const auto& file : files) {
        struct stat st{};
        const std::string path = std::filesystem::absolute(file).string();
        if (stat(path.c_str(), &st) != 0) return std::nullopt;
        newestChange = std::max(newestChange, static_cast<double>(st.st_mtim.tv_sec) + 1e-9 * static_cast<double>(st.st_mtim.tv_nsec));
        const int64_t fields[] = {static_cast<int64_t>(st.st_dev), static_cast<int64_t>(st.st_ino),
                                  static_cast<int64_t>(st.st_size), static_cast<int64_t>(st.st_mtim.tv_sec),
                                  static_cast<int64_t>(st.st_mtim.tv_nsec)};
        h = fnv1a(h, path.data(), path.size() + 1);
        h = fnv1a(h, fields, sizeof fields);
    }
    return "content-hash-" + hex16(h);
}

}  // namespace

std::string contentHash(const std::vector<std::filesystem::path>& files) {
    // Hashing a 16 GB checkpoint takes most of a minute: the second run on the same files
    // takes the hash from the cache (common/cache_dir.h).
    double newestChange = 0;
    const std::optional<std::string> key = identityKey(files, newestChange);
    if (key)
        if (const auto cached = readCacheEntry(*key); cached && cached->size() == 17 && cached->back() == '\n' &&
                                                     cached->find_first_not_of("0123456789abcdef") == 16)
            return cached->substr(0, 16);
    uint64_t h = kFnv1aBasis;
    std::vector<char> buffer(1 << 20);
    for (const auto& file : files) {
        std::ifstream in(file, std::ios::binary);
        if (!in) throw Error(file, "cannot read the file to hash it");
        while (in) {
            in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
            h = fnv1a(h, buffer.data(), static_cast<size_t>(in.gcount()));
        }
    }
    // The kernel stamps modification times from a coarse clock: a file written again within the
    // same few milliseconds keeps its time. Files changed in the last seconds are not cached (as
    // git treats a "racily clean" index entry).
    const double now = static_cast<double>(std::time(nullptr));
    if (key && newestChange < now - 2) writeCacheEntry(*key, hex16(h) + "\n");
    return hex16(h);
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
