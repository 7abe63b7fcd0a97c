#pragma once
// Which lens reads an intermediate layer, and the tuned lens (Belrose et al., 2023).
//
// Logit lens:  z_l = W norm_f(h_l).
// Tuned lens:  z_l = W norm_f(A_l h_l + b_l), one affine translator per layer and stage, trained
//              to minimise KL(p_L || softmax(z_l)) (train/tuned_lens_trainer.h). Stage "block":
//              h_l for l = 0..L-1 (layer L is the model's output: no translator, the identity);
//              stage "attention": a_l for l = 1..L (trained with --post-attention).
// A stage without translators reads through the logit lens.
//
// A lens folder holds
//   tuned_lens.safetensors  A.{stage}.{layer} (D, D) float32 and b.{stage}.{layer} (D) float32,
//                           A acting on column vectors (row form: h A^T + b)
//   tuned_lens.json         what it was trained for and on (TunedLensInfo)
// A lens belongs to one model: loading it for another is refused, both hashes named.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace ls {

struct ModelConfig;

// "logit" or "tuned:DIR" (the --lens option, run files' params_json "lens").
struct LensChoice {
    std::filesystem::path tunedDir;  // empty: the logit lens
    std::string hash;                // the tuned lens's content hash, once loaded or read from a run file

    bool tuned() const { return !tunedDir.empty(); }
    std::string text() const;                                            // "logit", "tuned:DIR"
    bool operator==(const LensChoice& o) const { return tunedDir == o.tunedDir && hash == o.hash; }
};
// Throws ls::ParamError("lens", ...) for anything but "logit" and "tuned:DIR".
LensChoice parseLensChoice(const std::string& text);

inline const char* kTunedLensWeightsFile = "tuned_lens.safetensors";
inline const char* kTunedLensInfoFile = "tuned_lens.json";

// Held-out KL(p_L || p_l) per layer, mean over the held-out tokens, in nats.
struct LensLayerKl {
    std::string stage;   // "block" or "attention"
    int layer = 0;
    double logitKl = 0;  // the logit lens (the translator at identity, zero)
    double tunedKl = 0;  // the saved translator
};

// tuned_lens.json.
struct TunedLensInfo {
    std::string modelHash, modelPath;  // the model it translates (RunInfo::modelHash)
    std::string dataHash, dataPath;    // what it was trained on
    int layers = 0, hiddenSize = 0;
    std::vector<std::string> stages;   // "block", then "attention" if trained after attention
    int seqLen = 0;                    // the training windows' length
    int64_t steps = 0, bestStep = 0;   // steps taken; the step whose state was kept
    double learningRate = 0;
    int64_t batchTokens = 0;
    uint64_t seed = 0;
    int64_t trainWindows = 0, heldOutWindows = 0, heldOutTokens = 0;
    double seconds = 0;
    std::vector<LensLayerKl> heldOutKl;  // every translated (stage, layer)

    bool hasStage(const std::string& stage) const;
};
nlohmann::json tunedLensInfoJson(const TunedLensInfo& info);
// Throws std::exception for a missing or malformed key (the caller names the file).
TunedLensInfo tunedLensInfoFromJson(const nlohmann::json& j);
// dir's tuned_lens.json; throws ls::Error naming the file when it is missing or malformed.
TunedLensInfo readTunedLensInfo(const std::filesystem::path& dir);

// A loaded tuned lens. Its tensors stay inside core (analysis/tuned_lens_internal.h).
class TunedLens {
public:
    struct Translators;

    // Reads dir's two files and checks them against the model (modelHash: RunInfo::modelHash):
    // another model's lens is refused with both hashes; missing files, a missing translator, a
    // wrong shape or dtype are named with the file. Throws ls::Error.
    static std::shared_ptr<const TunedLens> load(const std::filesystem::path& dir, const ModelConfig& config,
                                                 const std::string& modelHash);

    const std::filesystem::path& directory() const { return dir_; }
    const TunedLensInfo& info() const { return info_; }
    const std::string& hash() const { return hash_; }  // contentHash of the two files
    const Translators& translators() const { return *translators_; }

private:
    std::filesystem::path dir_;
    TunedLensInfo info_;
    std::string hash_;
    std::shared_ptr<const Translators> translators_;
};

}  // namespace ls
