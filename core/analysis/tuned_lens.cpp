#include "analysis/tuned_lens.h"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/json_integer.h"
#include "data/dataset.h"

namespace ls {

std::string LensChoice::text() const { return tuned() ? "tuned:" + tunedDir.string() : "logit"; }

LensChoice parseLensChoice(const std::string& text) {
    if (text.empty() || text == "logit") return {};
    const std::string prefix = "tuned:";
    if (text.rfind(prefix, 0) == 0 && text.size() > prefix.size()) return LensChoice{text.substr(prefix.size()), ""};
    throw ParamError("lens", "needs 'logit' or 'tuned:LENS_DIR' (a folder made by `lens train`), got '" + text + "'");
}

bool TunedLensInfo::hasStage(const std::string& stage) const {
    return std::find(stages.begin(), stages.end(), stage) != stages.end();
}

nlohmann::json tunedLensInfoJson(const TunedLensInfo& info) {
    nlohmann::json kl = nlohmann::json::array();
    for (const LensLayerKl& k : info.heldOutKl)
        kl.push_back({{"stage", k.stage}, {"layer", k.layer}, {"logit_kl", k.logitKl}, {"tuned_kl", k.tunedKl}});
    return {{"format", "layerscope-tuned-lens"}, {"version", 1},
            {"model_hash", info.modelHash},       {"model_path", info.modelPath},
            {"data_hash", info.dataHash},         {"data_path", info.dataPath},
            {"layers", info.layers},              {"hidden_size", info.hiddenSize},
            {"stages", info.stages},              {"seq_len", info.seqLen},
            {"steps", info.steps},                {"best_step", info.bestStep},
            {"learning_rate", info.learningRate}, {"batch_tokens", info.batchTokens},
            {"seed", info.seed},                  {"train_windows", info.trainWindows},
            {"held_out_windows", info.heldOutWindows}, {"held_out_tokens", info.heldOutTokens},
            {"seconds", info.seconds},            {"held_out_kl", kl}};
}

TunedLensInfo tunedLensInfoFromJson(const nlohmann::json& j) {
    TunedLensInfo info;
    info.modelHash = j.at("model_hash").get<std::string>();
    info.modelPath = j.value("model_path", "");
    info.dataHash = j.value("data_hash", "");
    info.dataPath = j.value("data_path", "");
    info.layers = jsonInteger<int>(j, "layers");
    info.hiddenSize = jsonInteger<int>(j, "hidden_size");
    info.stages = j.at("stages").get<std::vector<std::string>>();
    info.seqLen = j.contains("seq_len") ? jsonInteger<int>(j, "seq_len") : 0;
    info.steps = j.contains("steps") ? jsonInteger<int64_t>(j, "steps") : 0;
    info.bestStep = j.contains("best_step") ? jsonInteger<int64_t>(j, "best_step") : 0;
    info.learningRate = j.value("learning_rate", 0.0);
    info.batchTokens = j.contains("batch_tokens") ? jsonInteger<int64_t>(j, "batch_tokens") : 0;
    info.seed = j.value("seed", uint64_t(0));
    info.trainWindows = j.contains("train_windows") ? jsonInteger<int64_t>(j, "train_windows") : 0;
    info.heldOutWindows = j.contains("held_out_windows") ? jsonInteger<int64_t>(j, "held_out_windows") : 0;
    info.heldOutTokens = j.contains("held_out_tokens") ? jsonInteger<int64_t>(j, "held_out_tokens") : 0;
    info.seconds = j.value("seconds", 0.0);
    for (const nlohmann::json& k : j.value("held_out_kl", nlohmann::json::array()))
        info.heldOutKl.push_back({k.at("stage").get<std::string>(), jsonInteger<int>(k, "layer"),
                                  k.at("logit_kl").get<double>(), k.at("tuned_kl").get<double>()});
    for (const std::string& s : info.stages)
        if (s != "block" && s != "attention") throw std::runtime_error("unknown stage '" + s + "'");
    return info;
}

TunedLensInfo readTunedLensInfo(const std::filesystem::path& dir) {
    const std::filesystem::path path = dir / kTunedLensInfoFile;
    if (!std::filesystem::is_regular_file(path)) throw Error(path, "missing: not a tuned lens folder (make one with `lens train`)");
    const std::string text = readFileBytes(path);
    try {
        return tunedLensInfoFromJson(nlohmann::json::parse(text));
    } catch (const std::exception& e) {
        throw Error(path, std::string("not a tuned lens description: ") + e.what());
    }
}

}  // namespace ls
