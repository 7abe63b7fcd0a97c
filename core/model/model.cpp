// Loading a Hugging Face model folder into float32 LibTorch weights.
#include <torch/torch.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <atomic>
#include <cstring>
#include <stdexcept>
#include <limits>
#include <thread>
#include <tuple>

#include "common/error.h"
#include "common/number_text.h"
#include "common/memory.h"
#include "model/checkpoint.h"
#include "model/transformer_internal.h"

namespace ls {

namespace {

namespace fs = std::filesystem;

// n stored elements (any alignment: the mapping's offsets need not suit float) into float32;
// returns how many are NaN or infinite as float32. One pass: the check reads what the
// conversion just wrote, still in cache.
int64_t toFloat32(const unsigned char* src, StDtype dtype, int64_t n, float* dst) {
    switch (dtype) {
        case StDtype::F32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); break;
        case StDtype::F16:
            for (int64_t i = 0; i < n; ++i) {
                c10::Half h;
                std::memcpy(&h.x, src + 2 * i, 2);
                dst[i] = static_cast<float>(h);
            }
            break;
        case StDtype::BF16:
            for (int64_t i = 0; i < n; ++i) {
                uint16_t bits;
                std::memcpy(&bits, src + 2 * i, 2);
                const uint32_t wide = static_cast<uint32_t>(bits) << 16;  // bf16 is float32's top half
                std::memcpy(dst + i, &wide, 4);
            }
            break;
        case StDtype::F64:
            for (int64_t i = 0; i < n; ++i) {
                double d;
                std::memcpy(&d, src + 8 * i, 8);
                dst[i] = static_cast<float>(d);
            }
            break;
        default: throw std::logic_error("toFloat32: not a float dtype");  // Checkpoint::checked refuses them
    }
    int64_t bad = 0;
    for (int64_t i = 0; i < n; ++i) bad += !std::isfinite(dst[i]);
    return bad;
}

// n float32 values into dtype's elements at dst (float32, bfloat16 or float16; rounded to
// nearest even).
void fromFloat32(const float* src, int64_t n, torch::ScalarType dtype, void* dst) {
    switch (dtype) {
        case torch::kFloat32: std::memcpy(dst, src, static_cast<size_t>(n) * 4); break;
        case torch::kBFloat16: {
            auto* out = static_cast<c10::BFloat16*>(dst);
            for (int64_t i = 0; i < n; ++i) out[i] = c10::BFloat16(src[i]);
            break;
        }
        case torch::kHalf: {
            auto* out = static_cast<c10::Half*>(dst);
            for (int64_t i = 0; i < n; ++i) out[i] = c10::Half(src[i]);
            break;
        }
        default: throw std::logic_error("fromFloat32: not a weight dtype");
    }
}

// Builds LayerWeights/ModelWeights from a checkpoint, checking every shape. Weight matrices
// (embeddings, projections, head) are made in matrixDtype (ModelWeights::matrixDtype), the rest
// in float32.
class WeightLoader {
public:
    WeightLoader(const Checkpoint& ckpt, std::string prefix, torch::ScalarType matrixDtype = torch::kFloat32)
        : ckpt_(ckpt), prefix_(std::move(prefix)), matrixDtype_(matrixDtype) {}

    // A norm, bias or position table: float32 in its stored shape, read from the mapping in one
    // parallel pass that converts and checks for NaN/Inf.
    torch::Tensor load(const std::string& shortName, std::vector<int64_t> expectedShape) {
        torch::Tensor weight = torch::empty(expectedShape, torch::kFloat32);
        loadInto(shortName, weight);
        return weight;
    }
    // A weight matrix: the same, in the matrix dtype.
    torch::Tensor loadMatrix(const std::string& shortName, std::vector<int64_t> expectedShape) {
        torch::Tensor weight = torch::empty(expectedShape, matrixDtype_);
        loadInto(shortName, weight);
        return weight;
    }

    // The same into weight, a contiguous tensor of the stored shape (a part of a larger one) of
    // float32 or the matrix dtype.
    void loadInto(const std::string& shortName, torch::Tensor weight) {
        const std::string name = prefix_ + shortName;
        const StTensor& t = ckpt_.checked(name, weight.sizes().vec());
        const size_t size = dtypeSize(t.dtype);
        const torch::ScalarType dtype = weight.scalar_type();
        char* out = static_cast<char*>(weight.data_ptr());
        const size_t outSize = weight.element_size();
        std::atomic<int64_t> bad{0};
        // Kept as stored (a bfloat16 or float16 matrix of a checkpoint of that dtype): copied, and
        // checked on the bits (an exponent of all ones is NaN or infinite).
        const uint16_t exponent = t.dtype == StDtype::BF16 && dtype == torch::kBFloat16 ? 0x7F80
                                  : t.dtype == StDtype::F16 && dtype == torch::kHalf   ? 0x7C00
                                                                                       : 0;
        at::parallel_for(0, weight.numel(), 1 << 16, [&](int64_t begin, int64_t end) {
            if (exponent) {
                const unsigned char* src = t.data + static_cast<size_t>(begin) * 2;
                std::memcpy(out + static_cast<size_t>(begin) * 2, src, static_cast<size_t>(end - begin) * 2);
                int64_t nonFinite = 0;
                for (int64_t i = 0; i < end - begin; ++i) {
                    uint16_t bits;
                    std::memcpy(&bits, src + 2 * i, 2);
                    nonFinite += (bits & exponent) == exponent;
                }
                bad += nonFinite;
                return;
            }
            if (dtype == torch::kFloat32) {
                bad += toFloat32(t.data + static_cast<size_t>(begin) * size, t.dtype, end - begin,
                                 reinterpret_cast<float*>(out) + begin);
                return;
            }
            std::vector<float> buffer(static_cast<size_t>(end - begin));  // checked as float32, then stored
            bad += toFloat32(t.data + static_cast<size_t>(begin) * size, t.dtype, end - begin, buffer.data());
            fromFloat32(buffer.data(), end - begin, dtype, out + static_cast<size_t>(begin) * outSize);
        });
        releaseMappedPages(t);
        checkFinite(name, bad, weight.numel());
    }

    // A stored (rows, cols) matrix as (cols, rows) in the matrix dtype: GPT-2's Conv1D (in, out) as
    // Linear's (out, in), converted, checked and transposed in one pass over tiles of rows.
    torch::Tensor loadTransposed(const std::string& shortName, std::vector<int64_t> storedShape) {
        const std::string name = prefix_ + shortName;
        const StTensor& t = ckpt_.checked(name, storedShape);
        const int64_t rows = storedShape[0], cols = storedShape[1], tile = 64;
        torch::Tensor weight = torch::empty({cols, rows}, matrixDtype_);
        const size_t size = dtypeSize(t.dtype), outSize = weight.element_size();
        char* out = static_cast<char*>(weight.data_ptr());
        std::atomic<int64_t> bad{0};
        at::parallel_for(0, (rows + tile - 1) / tile, 1, [&](int64_t firstTile, int64_t endTile) {
            std::vector<float> buffer(static_cast<size_t>(tile * cols));  // (tile, cols) as stored
            std::vector<float> column(static_cast<size_t>(tile));
            for (int64_t k = firstTile; k < endTile; ++k) {
                const int64_t r0 = k * tile, n = std::min(tile, rows - r0);
                bad += toFloat32(t.data + static_cast<size_t>(r0 * cols) * size, t.dtype, n * cols, buffer.data());
                for (int64_t c = 0; c < cols; ++c) {  // out[c][r0 .. r0 + n): n contiguous elements
                    for (int64_t r = 0; r < n; ++r) column[static_cast<size_t>(r)] = buffer[static_cast<size_t>(r * cols + c)];
                    fromFloat32(column.data(), n, matrixDtype_, out + static_cast<size_t>(c * rows + r0) * outSize);
                }
            }
        });
        releaseMappedPages(t);
        checkFinite(name, bad, weight.numel());
        return weight;
    }

    torch::Tensor loadOptional(const std::string& shortName, std::vector<int64_t> shape, bool wanted) {
        if (!wanted) return {};
        return load(shortName, std::move(shape));
    }

private:
    // A NaN or infinite weight would make every result NaN; say so at load instead.
    void checkFinite(const std::string& name, int64_t bad, int64_t numel) const {
        if (bad > 0)
            throw Error(ckpt_.fileFor(name), "tensor '" + name + "' has " + std::to_string(bad) + " of " +
                                                 std::to_string(numel) +
                                                 " values that are NaN or infinite (in float32): the checkpoint is "
                                                 "corrupt or was saved after training diverged");
    }

    const Checkpoint& ckpt_;
    std::string prefix_;
    torch::ScalarType matrixDtype_;
};

void loadGpt2(const Checkpoint& ckpt, const ModelConfig& c, ModelWeights& w) {
    // Published gpt2 checkpoints have bare names; GPT2LMHeadModel.save_pretrained adds "transformer.".
    const std::string prefix = ckpt.has("transformer.wte.weight") ? "transformer." : "";
    WeightLoader ld(ckpt, prefix, w.matrixDtype);
    const int64_t D = c.hiddenSize, F = c.intermediateSize, V = c.vocabSize;
    w.tokenEmbedding = ld.loadMatrix("wte.weight", {V, D});
    w.positionEmbedding = ld.load("wpe.weight", {c.maxPositions, D});
    for (int i = 0; i < c.numLayers; ++i) {
        const std::string p = "h." + std::to_string(i) + ".";
        LayerWeights L;
        L.norm1Weight = ld.load(p + "ln_1.weight", {D});
        L.norm1Bias = ld.load(p + "ln_1.bias", {D});
        L.norm2Weight = ld.load(p + "ln_2.weight", {D});
        L.norm2Bias = ld.load(p + "ln_2.bias", {D});
        // GPT-2's Conv1D stores (in, out); read as Linear's (out, in). c_attn is already q, k and v
        // fused: (3D, D), with q/k/v (and their biases) as views into it.
        L.qkvWeight = ld.loadTransposed(p + "attn.c_attn.weight", {D, 3 * D});
        L.qkvBias = ld.load(p + "attn.c_attn.bias", {3 * D});
        auto parts = L.qkvWeight.split(D, 0);
        auto biasParts = L.qkvBias.split(D, 0);
        L.qWeight = parts[0];
        L.kWeight = parts[1];
        L.vWeight = parts[2];
        L.qBias = biasParts[0];
        L.kBias = biasParts[1];
        L.vBias = biasParts[2];
        L.oWeight = ld.loadTransposed(p + "attn.c_proj.weight", {D, D});
        L.oBias = ld.load(p + "attn.c_proj.bias", {D});
        L.upWeight = ld.loadTransposed(p + "mlp.c_fc.weight", {D, F});  // (F, D)
        L.upBias = ld.load(p + "mlp.c_fc.bias", {F});
        L.downWeight = ld.loadTransposed(p + "mlp.c_proj.weight", {F, D});  // (D, F)
        L.downBias = ld.load(p + "mlp.c_proj.bias", {D});
        w.layers.push_back(std::move(L));
    }
    w.finalNormWeight = ld.load("ln_f.weight", {D});
    w.finalNormBias = ld.load("ln_f.bias", {D});
    if (!c.tiedEmbeddings && ckpt.has("lm_head.weight")) {
        WeightLoader head(ckpt, "", w.matrixDtype);
        w.head = head.loadMatrix("lm_head.weight", {V, D});
    } else {
        w.head = w.tokenEmbedding;
    }
}

void loadLlama(const Checkpoint& ckpt, const ModelConfig& c, ModelWeights& w) {
    WeightLoader ld(ckpt, "model.", w.matrixDtype);
    const int64_t D = c.hiddenSize, F = c.intermediateSize, V = c.vocabSize;
    const int64_t qOut = int64_t(c.numHeads) * c.headDim, kvOut = int64_t(c.numKvHeads) * c.headDim;
    w.tokenEmbedding = ld.loadMatrix("embed_tokens.weight", {V, D});
    for (int i = 0; i < c.numLayers; ++i) {
        const std::string p = "layers." + std::to_string(i) + ".";
        LayerWeights L;
        L.norm1Weight = ld.load(p + "input_layernorm.weight", {D});
        L.norm2Weight = ld.load(p + "post_attention_layernorm.weight", {D});
        // q, k and v as one (H*hd + 2*KVH*hd, D) matrix so attention's input projection is one
        // GEMM; each is read straight into its rows, and q/k/v (and their biases) are views.
        const std::vector<int64_t> sizes{qOut, kvOut, kvOut};
        L.qkvWeight = torch::empty({qOut + 2 * kvOut, D}, w.matrixDtype);
        auto parts = L.qkvWeight.split_with_sizes(sizes, 0);
        L.qWeight = parts[0];
        L.kWeight = parts[1];
        L.vWeight = parts[2];
        if (c.attentionBias) {
            L.qkvBias = torch::empty({qOut + 2 * kvOut}, torch::kFloat32);
            auto biases = L.qkvBias.split_with_sizes(sizes, 0);
            L.qBias = biases[0];
            L.kBias = biases[1];
            L.vBias = biases[2];
        }
        for (const auto& [name, weight, bias] : {std::tuple{"q_proj", L.qWeight, L.qBias}, std::tuple{"k_proj", L.kWeight, L.kBias},
                                                 std::tuple{"v_proj", L.vWeight, L.vBias}}) {
            ld.loadInto(p + "self_attn." + name + ".weight", weight);
            if (c.attentionBias) ld.loadInto(p + "self_attn." + name + ".bias", bias);
        }
        // A linear layer: weight (out, in), and its bias (out) when the config says it has one.
        auto linear = [&](const std::string& name, int64_t out, int64_t in, bool hasBias, torch::Tensor& weight,
                          torch::Tensor& bias) {
            weight = ld.loadMatrix(p + name + ".weight", {out, in});
            bias = ld.loadOptional(p + name + ".bias", {out}, hasBias);
        };
        linear("self_attn.o_proj", D, qOut, c.attentionBias, L.oWeight, L.oBias);
        linear("mlp.gate_proj", F, D, c.mlpBias, L.gateWeight, L.gateBias);
        linear("mlp.up_proj", F, D, c.mlpBias, L.upWeight, L.upBias);
        linear("mlp.down_proj", D, F, c.mlpBias, L.downWeight, L.downBias);
        w.layers.push_back(std::move(L));
    }
    w.finalNormWeight = ld.load("norm.weight", {D});
    if (c.tiedEmbeddings) {
        w.head = w.tokenEmbedding;
    } else {  // describeCheckpoint checked that it exists
        WeightLoader head(ckpt, "", w.matrixDtype);
        w.head = head.loadMatrix("lm_head.weight", {V, D});
    }
    w.ropeInvFreq = ropeInverseFrequencies(c);
}



}  // namespace

std::vector<torch::Tensor> parameterList(const ModelWeights& w) {
    // A tied head shares storage with the embedding; q, k and v are views into one fused
    // matrix at different offsets: one parameter per (storage, offset).
    std::set<std::pair<const void*, int64_t>> seen;
    std::vector<torch::Tensor> out;
    auto add = [&](const torch::Tensor& t) {
        if (t.defined() && seen.insert({t.storage().unsafeGetStorageImpl(), t.storage_offset()}).second) out.push_back(t);
    };
    add(w.tokenEmbedding);
    add(w.positionEmbedding);
    for (const auto& L : w.layers)
        for (const auto* t : {&L.norm1Weight, &L.norm1Bias, &L.norm2Weight, &L.norm2Bias, &L.qWeight,
                              &L.kWeight, &L.vWeight, &L.oWeight, &L.qBias, &L.kBias, &L.vBias, &L.oBias,
                              &L.gateWeight, &L.upWeight, &L.downWeight, &L.gateBias, &L.upBias, &L.downBias})
            add(*t);
    add(w.finalNormWeight);
    add(w.finalNormBias);
    add(w.head);
    return out;
}

// RoPE inverse frequencies (hd/2), with HF's "linear" or "llama3" scaling applied.
torch::Tensor ropeInverseFrequencies(const ModelConfig& c) {
    const int64_t half = c.headDim / 2;
    std::vector<float> inv(half);
    for (int64_t i = 0; i < half; ++i) {
        // HF: 1 / theta ** (arange(0, hd, 2).float() / hd), computed in float32
        const float exponent = static_cast<float>(2 * i) / static_cast<float>(c.headDim);
        float f = 1.0f / std::pow(static_cast<float>(c.ropeTheta), exponent);
        if (c.ropeScalingType == "linear") {
            f /= static_cast<float>(c.ropeScalingFactor);
        } else if (c.ropeScalingType == "llama3") {
            // transformers' _compute_llama3_parameters
            const double factor = c.ropeScalingFactor, low = c.ropeLowFreqFactor, high = c.ropeHighFreqFactor;
            const double oldContext = c.ropeOriginalMaxPositions;
            const double lowFreqWavelen = oldContext / low, highFreqWavelen = oldContext / high;
            const double wavelen = 2.0 * M_PI / f;
            if (wavelen > lowFreqWavelen) {
                f = static_cast<float>(f / factor);
            } else if (wavelen >= highFreqWavelen) {  // medium band: smooth interpolation
                const double smooth = (oldContext / wavelen - low) / (high - low);
                f = static_cast<float>((1 - smooth) * f / factor + smooth * f);
            }
        }
        inv[i] = f;
    }
    return torch::from_blob(inv.data(), {half}, torch::kFloat32).clone();
}

WeightsDtype parseWeightsDtype(const std::string& name) {
    if (name == "auto") return WeightsDtype::Auto;
    if (name == "float32") return WeightsDtype::Float32;
    if (name == "bfloat16") return WeightsDtype::BFloat16;
    throw ParamError("weights-dtype", "'" + name + "' is not auto, float32 or bfloat16");
}

namespace {

// The dtype the weight matrices are kept in. auto: float32 when that fits in memory with room
// for the run (a quarter of what is available), else the checkpoint's own half
// dtype (exact: nothing rounded); a float32 checkpoint stays float32 (bfloat16 must be asked).
torch::ScalarType matrixDtypeFor(const ModelDescription& m, WeightsDtype asked, int64_t available) {
    if (asked == WeightsDtype::Float32) return torch::kFloat32;
    if (asked == WeightsDtype::BFloat16) return torch::kBFloat16;
    const int64_t float32Bytes = weightBytes(m.config, 4);
    const bool fits = available < 0 || float32Bytes + available / 4 <= available;
    if (fits) return torch::kFloat32;
    if (m.weightDtype == "BF16") return torch::kBFloat16;
    if (m.weightDtype == "F16") return torch::kHalf;
    return torch::kFloat32;
}

const char* dtypeName(torch::ScalarType t) {
    return t == torch::kBFloat16 ? "bfloat16" : t == torch::kHalf ? "float16" : "float32";
}

}  // namespace

Model Model::load(const std::filesystem::path& dir, const LoadOptions& options) {
    // The config and every tensor's name, shape and dtype first, as `info` checks them.
    const ModelDescription description = describeModel(dir);
    const ModelConfig& c = description.config;
    // The weights in memory (float32, or half-precision matrices): a checkpoint too large for
    // this machine gets a message before the loading starts, not an out-of-memory kill halfway.
    const int64_t available = availableMemoryBytes();
    const torch::ScalarType matrixDtype = matrixDtypeFor(description, options.weights, available);
    const int64_t needed = weightBytes(c, matrixDtype == torch::kFloat32 ? 4 : 2);
    if (available >= 0 && needed > available) {
        std::string hint;
        if (matrixDtype == torch::kFloat32)
            hint = description.weightDtype == "BF16" || description.weightDtype == "F16"
                       ? " (--weights-dtype auto keeps this checkpoint's half-precision matrices: about " +
                             formatBytes(weightBytes(c, 2)) + ")"
                       : " (--weights-dtype bfloat16 would need about " + formatBytes(weightBytes(c, 2)) + ")";
        throw Error(dir, "the weights need about " + formatBytes(needed) + " as " + dtypeName(matrixDtype) +
                             ", but only " + formatBytes(available) + " of memory is available" + hint);
    }
    auto impl = std::make_shared<Impl>();
    impl->weights.matrixDtype = matrixDtype;
    impl->weights.halfMatmul = matrixDtype == torch::kBFloat16 && !options.convertHalfMatrices ? bf16MatmulOnThisCpu()
                                                                                              : HalfMatmul::ConvertEach;
    const Checkpoint ckpt(dir);
    ckpt.prefetch();
    try {
        // Normal tensors, not inference tensors: autograd through the model (attribution
        // patching) must be able to save them; they never require grad themselves.
        torch::NoGradGuard guard;
        if (c.modelType == "gpt2")
            loadGpt2(ckpt, c, impl->weights);
        else
            loadLlama(ckpt, c, impl->weights);
    } catch (const c10::Error& e) {
        throw Error(dir, std::string("failed to read weights: ") + e.what_without_backtrace());
    }
    impl->directory = description.directory;
    impl->config = description.config;
    impl->weightDtype = description.weightDtype;
    impl->parameterCount = description.parameterCount;
    return Model(std::move(impl));
}

const ModelConfig& Model::config() const { return impl_->config; }
const std::filesystem::path& Model::directory() const { return impl_->directory; }
int64_t Model::parameterCount() const { return impl_->parameterCount; }
std::string Model::weightDtype() const { return impl_->weightDtype; }
std::string Model::weightsInMemory() const {
    const ModelWeights& w = impl_->weights;
    if (!w.halfMatrices()) return "float32";
    return std::string(dtypeName(w.matrixDtype)) +
           (w.halfMatmul == HalfMatmul::Bf16 ? " matrices (blocks multiplied in bfloat16 by oneDNN; the head converted)"
                                              : " matrices (each converted to float32 as it is used)");
}
std::string Model::architectureName() const { return ModelDescription{impl_->directory, impl_->config, 0, ""}.architectureName(); }

void checkTokenIds(const ModelConfig& c, const int32_t* ids, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
        if (ids[i] < 0 || ids[i] >= c.vocabSize)
            throw Error("token id " + std::to_string(ids[i]) + " at index " + std::to_string(i) +
                        " is outside the model's vocabulary (0.." + std::to_string(c.vocabSize - 1) + ")");
}

namespace {

// Checks one sequence for Model::logits / Model::capture and makes it a (1, T) int64 tensor.
torch::Tensor singleSequence(const ModelConfig& c, const std::vector<int32_t>& ids, const char* what) {
    if (ids.empty()) throw Error(std::string(what) + ": no tokens given");
    if (static_cast<int64_t>(ids.size()) > c.maxPositions)
        throw Error(std::string(what) + ": " + std::to_string(ids.size()) + " tokens exceed the model's context of " +
                    std::to_string(c.maxPositions));
    checkTokenIds(c, ids.data(), static_cast<int64_t>(ids.size()));
    return torch::tensor(std::vector<int64_t>(ids.begin(), ids.end()), torch::kInt64).unsqueeze(0);
}

std::vector<float> toVector(const torch::Tensor& t) {
    const torch::Tensor c = t.contiguous();
    return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

}  // namespace

std::vector<float> Model::logits(const std::vector<int32_t>& ids) const {
    torch::InferenceMode guard;
    const torch::Tensor input = singleSequence(impl_->config, ids, "logits");
    return toVector(impl_->forward(input).squeeze(0));  // (T, V)
}

Model::Captures Model::capture(const std::vector<int32_t>& ids) const {
    torch::InferenceMode guard;
    const torch::Tensor input = singleSequence(impl_->config, ids, "capture");
    Captures out;
    ForwardOptions options;
    options.computeLogits = false;
    options.observeResidual = [&](int, const torch::Tensor& h) { out.residuals.push_back(toVector(h.squeeze(0))); };
    options.editHeadOutputs = [&](int, torch::Tensor& heads) { out.headOutputs.push_back(toVector(heads.squeeze(0))); };
    impl_->forward(input, options);
    return out;
}

int setComputeThreads(int threads) {
    if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    torch::set_num_threads(threads);
    return torch::get_num_threads();
}

std::vector<std::pair<std::string, std::string>> modelSummary(const Model& model) {
    return modelSummary(ModelDescription{model.directory(), model.config(), model.parameterCount(), model.weightDtype()});
}

}  // namespace ls
