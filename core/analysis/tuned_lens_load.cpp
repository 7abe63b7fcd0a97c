// Loading a tuned lens and reading through it (LibTorch; the plain half is tuned_lens.cpp).
#include <cstring>

#include "analysis/layer_run.h"
#include "analysis/tuned_lens_internal.h"
#include "common/error.h"
#include "model/model_folder.h"
#include "model/safetensors.h"

namespace ls {

const char* lensStageName(LensStage stage) { return stage == LensStage::Block ? "block" : "attention"; }

namespace {

// The float32 tensor `name` of the given shape, copied out of the mapping.
torch::Tensor readTensor(const SafetensorsFile& file, const std::string& name, const std::vector<int64_t>& shape) {
    const auto it = file.tensors().find(name);
    if (it == file.tensors().end()) throw Error(file.path(), "has no tensor '" + name + "' (every translated layer needs A and b)");
    const StTensor& t = it->second;
    if (t.dtype != StDtype::F32) throw Error(file.path(), "tensor '" + name + "' is " + t.dtypeName + ", not F32");
    if (t.shape != shape) {
        std::string want, got;
        for (int64_t s : shape) want += (want.empty() ? "" : ", ") + std::to_string(s);
        for (int64_t s : t.shape) got += (got.empty() ? "" : ", ") + std::to_string(s);
        throw Error(file.path(), "tensor '" + name + "' has shape (" + got + "), the model needs (" + want + ")");
    }
    torch::Tensor out = torch::empty(shape, torch::kFloat32);
    std::memcpy(out.data_ptr<float>(), t.data, t.bytes);
    if (!torch::isfinite(out).all().item<bool>()) throw Error(file.path(), "tensor '" + name + "' holds NaN or infinity");
    return out;
}

}  // namespace

std::shared_ptr<const TunedLens> TunedLens::load(const std::filesystem::path& dir, const ModelConfig& config,
                                                 const std::string& modelHash) {
    if (!std::filesystem::is_directory(dir)) throw Error(dir, "is not a tuned lens folder (no such folder; make one with `lens train`)");
    auto lens = std::shared_ptr<TunedLens>(new TunedLens());
    lens->dir_ = dir;
    lens->info_ = readTunedLensInfo(dir);
    const std::filesystem::path infoPath = dir / kTunedLensInfoFile, weightsPath = dir / kTunedLensWeightsFile;
    if (!std::filesystem::is_regular_file(weightsPath))
        throw Error(weightsPath, "missing: not a tuned lens folder (make one with `lens train`)");
    const TunedLensInfo& info = lens->info_;
    if (!modelHash.empty() && info.modelHash != modelHash)
        throw Error(dir, "is a tuned lens of another model (its model hash " + info.modelHash + ", this model's " + modelHash +
                             "): train one for this model with `lens train`");
    const int L = config.numLayers, D = config.hiddenSize;
    if (info.layers != L || info.hiddenSize != D)
        throw Error(infoPath, "is for " + std::to_string(info.layers) + " layers of dim " + std::to_string(info.hiddenSize) +
                                  ", the model has " + std::to_string(L) + " of dim " + std::to_string(D));
    const SafetensorsFile file(weightsPath);
    auto t = std::make_shared<Translators>();
    for (LensStage stage : {LensStage::Block, LensStage::Attention}) {
        const int s = static_cast<int>(stage);
        t->delta[s].resize(L + 1);
        t->bias[s].resize(L + 1);
        if (!info.hasStage(lensStageName(stage))) continue;
        const int first = stage == LensStage::Block ? 0 : 1, last = stage == LensStage::Block ? L - 1 : L;
        for (int l = first; l <= last; ++l) {
            const std::string suffix = std::string(lensStageName(stage)) + "." + std::to_string(l);
            t->delta[s][l] = readTensor(file, "A." + suffix, {D, D}) - torch::eye(D, torch::kFloat32);
            t->bias[s][l] = readTensor(file, "b." + suffix, {D});
        }
    }
    lens->translators_ = std::move(t);
    lens->hash_ = contentHash({weightsPath, infoPath});
    return lens;
}

torch::Tensor LensReader::normed(LensStage stage, int layer, const torch::Tensor& h) const {
    if (!tuned_ || !tuned_->translators().has(stage, layer)) return m_.normFinal(h);
    const TunedLens::Translators& t = tuned_->translators();
    const int s = static_cast<int>(stage);
    return m_.normFinal(translate(h, t.delta[s][layer], t.bias[s][layer]));
}

}  // namespace ls
