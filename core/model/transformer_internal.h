#pragma once
// Model internals: LibTorch weights and the forward pass. Included only by core's .cpp
// files (never by Qt code: Qt's `slots` macro breaks <torch/torch.h>).
// Weights are float32 on the CPU, whatever dtype the checkpoint stored, unless the model was
// loaded with half-precision matrices (Model::LoadOptions): then the weight matrices (token
// embedding, projections, head) are bfloat16 or float16 and everything else (norms, biases,
// positions, activations) stays float32; matmulWeights() below multiplies either kind.
#include <torch/torch.h>

#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "model/model.h"
#include "model/safetensors.h"

namespace ls {

struct LayerWeights {
    // Pre-attention and pre-MLP norms: (D). GPT-2 LayerNorm has biases, Llama RMSNorm not.
    torch::Tensor norm1Weight, norm1Bias, norm2Weight, norm2Bias;
    // Attention projections in torch.nn.Linear layout (out, in) so at::linear hits BLAS:
    //   q: (H*hd, D), k/v: (KVH*hd, D), o: (D, H*hd); biases (out) or undefined.
    torch::Tensor qWeight, kWeight, vWeight, oWeight, qBias, kBias, vBias, oBias;
    // Loaded models: q, k, v stacked (H*hd + 2*KVH*hd, D) and bias; q/k/v above are views into
    // it. Undefined for weights being trained (the forward then runs three projections).
    torch::Tensor qkvWeight, qkvBias;
    // MLP. GPT-2: up = c_fc (F, D), down = c_proj (D, F). Llama adds gate (F, D).
    torch::Tensor gateWeight, upWeight, downWeight, gateBias, upBias, downBias;
};

// How the forward multiplies by half-precision weight matrices: in bfloat16 through oneDNN (CPUs
// with AVX512-BF16 or AMX: activations rounded to bfloat16, float32 accumulation), or each
// matrix converted to float32 as it is used (exact to the stored weights; one matrix at a time).
enum class HalfMatmul { ConvertEach, Bf16 };

struct ModelWeights {
    torch::ScalarType matrixDtype = torch::kFloat32;  // of the matrices below; kBFloat16 / kHalf: half
    HalfMatmul halfMatmul = HalfMatmul::ConvertEach;
    torch::Tensor tokenEmbedding;     // (V, D)
    torch::Tensor positionEmbedding;  // (P, D), GPT-2 only
    std::vector<LayerWeights> layers;
    torch::Tensor finalNormWeight, finalNormBias;  // (D); bias GPT-2 only
    torch::Tensor head;               // (V, D); the same storage as tokenEmbedding when tied
    torch::Tensor ropeInvFreq;        // (hd/2) float32, Llama only, scaling already applied
    bool halfMatrices() const { return matrixDtype != torch::kFloat32; }
};

// x (..., in) float32 times a weight matrix (out, in) of the model's (+ bias (out) float32 or
// undefined) -> (..., out) float32, whatever the matrix's dtype (HalfMatmul says how).
torch::Tensor matmulWeights(const ModelWeights& weights, const torch::Tensor& x, const torch::Tensor& matrix,
                            const torch::Tensor& bias = {});
// A weight matrix (or a slice of one) as float32: itself, or a converted copy.
inline torch::Tensor float32Matrix(const torch::Tensor& matrix) {
    return matrix.scalar_type() == torch::kFloat32 ? matrix : matrix.to(torch::kFloat32);
}
// How to multiply by bfloat16 matrices on this CPU: Bf16 where it has AVX512-BF16 or AMX, unless
// LAYERSCOPE_BF16_MATMUL=convert (or =bf16 to force it, for tests and benchmarks).
HalfMatmul bf16MatmulOnThisCpu();

// Keys and values of the positions a batch of sequences has seen, for generation: each new
// token then costs one position per layer. keys[l], values[l]: (B, KVH, capacity, hd), the
// first `length` positions filled (Model::Impl::makeCache). A forward of one sequence into a
// cache of B rows fills every row (a prompt shared by B samples); its output is that one row's.
struct KvCache {
    std::vector<torch::Tensor> keys, values;
    int64_t length = 0;
};

// Query heads of one block that use ReLU attention instead of softmax (linearize.h): their
// weights are relu(q.k/sqrt(hd)) under the causal mask, divided by the number of positions
// attended (count) or by the row sum (rowSum; an all-zero row stays zero).
struct ReluHeads {
    std::map<int, std::vector<int64_t>> byLayer;  // 0-based layer -> its ReLU heads, ascending
    bool rowSum = false;
    bool empty() const { return byLayer.empty(); }
};

// What a caller wants from one forward pass. Capture points are observers: nothing is
// materialised unless somebody asks. Interventions are parameters, not model copies.
struct ForwardOptions {
    // Called with h_0 .. h_L (index 0 = block 1's input, l = block l's output): (B, T, D).
    std::function<void(int index, const torch::Tensor& residual)> observeResidual;
    // Called with a_l = h_{l-1} + attention_l, inside block l after the attention residual
    // add and before the MLP, for l = 1..L: (B, T, D).
    std::function<void(int layer, const torch::Tensor& residual)> observePostAttention;
    // Called per layer with the heads' outputs before the output projection: (B, T, H, hd).
    // It may modify the tensor in place (zero / mean head ablation).
    std::function<void(int layer, torch::Tensor& headOutputs)> editHeadOutputs;
    // Called per 0-based layer with its attention weights (B, H, T, T): query i's weights over
    // keys 0..i (0 above the diagonal). Asking for them computes every head's weights whole (the
    // explicit kernel, not the blocked one): single prompts. Not with a cache.
    std::function<void(int layer, const torch::Tensor& weights)> observeAttention;
    // ReLU attention kernels for some heads (null or empty: softmax everywhere).
    const ReluHeads* reluHeads = nullptr;
    // Generation: the input holds positions [cache->length, cache->length + T) of sequences
    // whose earlier keys and values are in the cache; they attend to those too, and theirs are
    // appended (cache->length grows by T). Only with forward() (from block 1).
    KvCache* cache = nullptr;
    // Logits are computed for positions [logitsFrom, logitsTo) only (the head is ~1/3 of
    // GPT-2's FLOPs); logitsTo < 0 means T. computeLogits=false skips the head entirely.
    bool computeLogits = true;
    int64_t logitsFrom = 0;
    int64_t logitsTo = -1;
};

struct Model::Impl {
    ModelConfig config;
    std::filesystem::path directory;
    ModelWeights weights;
    std::string weightDtype;
    int64_t parameterCount = 0;

    // ids: (B, T) int64 -> logits (B, logitsTo - logitsFrom, V) float32 (undefined tensor
    // when computeLogits is false). Must run under torch::InferenceMode.
    torch::Tensor forward(const torch::Tensor& ids, const ForwardOptions& options = {}) const;
    // Token (+ position) embeddings h_0 of positions [firstPosition, firstPosition + T):
    // ids (B, T) -> (B, T, D).
    torch::Tensor embed(const torch::Tensor& ids, int64_t firstPosition = 0) const;
    // An empty cache for B sequences of up to `capacity` positions (<= the context).
    KvCache makeCache(int64_t batch, int64_t capacity) const;
    // Blocks firstLayer .. L-1 (0-based) on x, the residual stream entering block firstLayer
    // (B, T, D), then the head as forward() does. observeResidual sees firstLayer + 1 .. L.
    // Reusing a cached x is what makes per-layer interventions cheap (prefix caching).
    torch::Tensor forwardFrom(int firstLayer, torch::Tensor x, const ForwardOptions& options = {}) const;
    // The rest of the pass from inside 0-based block `layer`, given its post-attention residual
    // a = h_{layer} + attention (B, T, D): that block's MLP, the later blocks and the head.
    // Head interventions in `layer` itself are then a cheap edit of a (ablation scans).
    torch::Tensor forwardFromMlp(int layer, torch::Tensor postAttention, const ForwardOptions& options = {}) const;

    // the final norm: (..., D) -> (..., D)
    torch::Tensor normFinal(const torch::Tensor& residual) const;
    // The head's logits of final-normed states (..., D) -> (..., V) float32. A half head is
    // converted in blocks of vocabulary rows (never a float32 copy of all of it) and never
    // multiplied in bfloat16: the logits stay exact to the stored weights.
    torch::Tensor headLogits(const torch::Tensor& normed) const;
    // The head as float32 (V, D): itself, or a converted copy (the certified lens, the SVD).
    torch::Tensor headFloat32() const { return float32Matrix(weights.head); }
};

}  // namespace ls

namespace ls {
// The attention of the cached and the ReLU paths: T new query positions [past, past + T) over
// keys [0, past + T), the query heads in `relu` with ReLU attention (rowSum or count), the others
// softmax, each kernel computing only its own heads' weights. q (B, T, H, hd) already scaled by
// 1/sqrt(hd); k, v (B, KVH, past + T, hd), the last dim contiguous -> (B, T, H, hd) contiguous.
torch::Tensor mixedCausalAttention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, int64_t past,
                                   const std::vector<int64_t>& relu, bool rowSum);
// Its two halves: the weights (B, H, T, past + T) float32, and those weights applied to the
// values v (B, KVH, past + T, hd) -> (B, T, H, hd) contiguous.
torch::Tensor mixedCausalAttentionWeights(const torch::Tensor& q, const torch::Tensor& k, int64_t past,
                                          const std::vector<int64_t>& relu, bool rowSum);
torch::Tensor attendWith(const torch::Tensor& weights, const torch::Tensor& v);
// RoPE inverse frequencies (hd/2) float32 with the config's scaling applied.
torch::Tensor ropeInverseFrequencies(const ModelConfig& config);
// Throws ls::Error naming the first id outside [0, vocab).
void checkTokenIds(const ModelConfig& config, const int32_t* ids, int64_t count);
}  // namespace ls

namespace ls {
// Fresh weights for a config (GPT-2 style init: normal(0, 0.02), norms 1, biases 0), with
// the head tied to the embedding when config.tiedEmbeddings. Deterministic for a seed.
ModelWeights initializeWeights(const ModelConfig& config, uint64_t seed);

// Every distinct trainable tensor of the weights (a tied head appears once).
std::vector<torch::Tensor> parameterList(const ModelWeights& weights);

// Writes config.json + model.safetensors (float32) in the Hugging Face layout of
// config.modelType ("gpt2": Conv1D layout, fused c_attn; "llama": q/k/v/o_proj ...), so
// Model::load and other tools read it back. Files appear atomically (".partial" + rename).
void saveModelFolder(const std::filesystem::path& dir, const ModelConfig& config, const ModelWeights& weights);
}  // namespace ls
