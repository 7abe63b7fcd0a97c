// The certified lens's method choice in the cache (certified_lens_internal.h, common/cache_dir.h).
#include <torch/torch.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "analysis/certified_lens_internal.h"
#include "common/cache_dir.h"
#include "common/fnv_hash.h"

namespace ls {

std::string lensChoiceCacheKey(const std::string& modelHash, int64_t vocabSize, int64_t hiddenSize) {
    std::ifstream cpuinfo("/proc/cpuinfo");
    std::string line, machine;
    while (std::getline(cpuinfo, line))
        if (line.rfind("model name", 0) == 0 || line.rfind("flags", 0) == 0) {
            machine += line;
            if (line.rfind("flags", 0) == 0) break;  // the first processor's lines are enough
        }
    machine += " threads " + std::to_string(at::get_num_threads()) + " vocab " + std::to_string(vocabSize) + " dim " +
               std::to_string(hiddenSize);
    return "lens-choice-" + modelHash + "-" + hex16(fnv1a(machine)) + ".json";
}

std::optional<CertifiedLens::Timings> cachedLensChoice(const std::string& key) {
    if (key.empty()) return std::nullopt;
    const std::optional<std::string> text = readCacheEntry(key);
    if (!text) return std::nullopt;
    try {  // an entry that does not read as one is ignored, and replaced by this run's choice
        const nlohmann::json j = nlohmann::json::parse(*text);
        CertifiedLens::Timings t;
        if (j.at("format").get<int>() != 1) return std::nullopt;
        t.sampleTokens = j.at("sample_tokens").get<int64_t>();
        t.full = j.at("full_seconds").get<double>();
        t.method = j.at("method").get<std::string>();
        t.chosen = j.at("method_seconds").get<double>();
        t.setup = j.at("setup_seconds").get<double>();
        t.measured = true;
        if (t.sampleTokens < 1 || !(t.full > 0) || !(t.chosen > 0) || !(t.setup >= 0)) return std::nullopt;
        return t;
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;
    }
}

void cacheLensChoice(const std::string& key, const CertifiedLens::Timings& t) {
    const nlohmann::json j = {{"format", 1},           {"sample_tokens", t.sampleTokens}, {"full_seconds", t.full},
                              {"method", t.method},    {"method_seconds", t.chosen},      {"setup_seconds", t.setup}};
    writeCacheEntry(key, j.dump(2) + "\n");
}

}  // namespace ls
