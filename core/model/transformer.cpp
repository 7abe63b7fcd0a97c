// The forward pass of GPT-2 and Llama blocks in float32, following Hugging Face's
// modeling_gpt2.py / modeling_llama.py. Shapes: B batch, T tokens, D hidden, H heads,
// KVH key/value heads, hd head dim, F FFN dim, V vocabulary.
#include <dlfcn.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <string>
#include <limits>
#include <mutex>
#include <vector>

#include "model/system_info.h"
#include "model/transformer_internal.h"

namespace ls {

HalfMatmul bf16MatmulOnThisCpu() {
    static const HalfMatmul choice = [] {
        const char* forced = std::getenv("LAYERSCOPE_BF16_MATMUL");
        if (forced && std::string(forced) == "convert") return HalfMatmul::ConvertEach;
        if (forced && std::string(forced) == "bf16") return HalfMatmul::Bf16;
        for (const std::string& f : cpuFeatures())
            if (f == "avx512_bf16" || f == "amx_bf16") return HalfMatmul::Bf16;
        return HalfMatmul::ConvertEach;
    }();
    return choice;
}

bool bf16MatmulAvailable() { return bf16MatmulOnThisCpu() == HalfMatmul::Bf16; }

torch::Tensor matmulWeights(const ModelWeights& w, const torch::Tensor& x, const torch::Tensor& matrix,
                            const torch::Tensor& bias) {
    if (matrix.scalar_type() == torch::kFloat32)
        return bias.defined() ? at::linear(x, matrix, bias) : at::linear(x, matrix);
    if (matrix.scalar_type() == torch::kBFloat16 && w.halfMatmul == HalfMatmul::Bf16) {
        torch::Tensor y = at::linear(x.to(torch::kBFloat16), matrix).to(torch::kFloat32);  // float32 accumulation
        return bias.defined() ? y.add_(bias) : y;
    }
    const torch::Tensor converted = matrix.to(torch::kFloat32);  // this matrix only, freed after
    return bias.defined() ? at::linear(x, converted, bias) : at::linear(x, converted);
}

namespace {

// GPT-2: LayerNorm; Llama: RMSNorm x * rsqrt(mean(x^2) + eps) * w. (..., D) -> (..., D)
torch::Tensor norm(const ModelConfig& c, const torch::Tensor& x, const torch::Tensor& weight,
                   const torch::Tensor& bias) {
    if (c.modelType == "gpt2") return at::layer_norm(x, {x.size(-1)}, weight, bias, c.normEps);
    return x * torch::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true) + c.normEps) * weight;
}

torch::Tensor activation(const std::string& name, const torch::Tensor& x) {
    if (name == "gelu_new" || name == "gelu_pytorch_tanh") return at::gelu(x, "tanh");  // same formula
    if (name == "gelu") return at::gelu(x);
    if (name == "relu") return at::relu(x);
    return at::silu(x);  // silu / swish
}

// rotate_half RoPE on (B, T, heads, hd) with cos/sin (1, T, 1, hd)
torch::Tensor applyRope(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
    const int64_t half = x.size(-1) / 2;
    auto rotated = torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
    return x * cos + rotated * sin;
}

// OpenBLAS (Debian's pthreads build) splits every GEMM over all cores. For attention's many
// small per-head products that costs more than it gains, so those run one per core instead, each
// on one BLAS thread. While a guard lives anywhere in the process, OpenBLAS uses one thread;
// the last guard to go restores the count. Unavailable (no OpenBLAS symbols) -> batched path.
class SingleThreadedBlas {
public:
    static bool available() { return set() && get(); }
    SingleThreadedBlas() {
        std::lock_guard<std::mutex> lock(mutex_);
        if (depth_++ == 0) {
            saved_ = get()();
            set()(1);
        }
    }
    ~SingleThreadedBlas() {
        std::lock_guard<std::mutex> lock(mutex_);
        if (--depth_ == 0) set()(saved_);
    }
    SingleThreadedBlas(const SingleThreadedBlas&) = delete;
    SingleThreadedBlas& operator=(const SingleThreadedBlas&) = delete;

private:
    using SetThreads = void (*)(int);
    using GetThreads = int (*)();
    static SetThreads set() {
        static const auto f = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
        return f;
    }
    static GetThreads get() {
        static const auto f = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
        return f;
    }
    static inline std::mutex mutex_;
    static inline int depth_ = 0;  // guards alive in the process
    static inline int saved_ = 0;  // OpenBLAS's thread count before the first of them
};

// Softmax attention under the causal mask, in blocks of query positions: block [i0, i1)
// attends to keys [0, i1) only, so the fully masked blocks above the diagonal are never
// computed, only the diagonal (c, c) part is masked, and a block's scores stay in cache.
// Grouped-query attention shares k and v without copies: query head h reads kv head h / rep.
// q (B, T, H, hd) already scaled by 1/sqrt(hd), k and v (B, T, KVH, hd) (views; the last dim
// contiguous), future (T, T) true above the diagonal -> (B, T, H, hd) contiguous.
constexpr int64_t kQueryBlock = 256;  // scores (256, <= T) per head and block: 1 MB at T = 1024

// With autograd (attribution patching) or without OpenBLAS: batched products over all heads.
torch::Tensor causalAttentionBatched(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                     const torch::Tensor& future) {
    const int64_t B = q.size(0), T = q.size(1), H = q.size(2), hd = q.size(3), KVH = k.size(2), rep = H / KVH;
    const torch::Tensor qh = q.permute({0, 2, 1, 3}).reshape({B, KVH, rep, T, hd});
    const torch::Tensor kh = k.permute({0, 2, 1, 3}), vh = v.permute({0, 2, 1, 3});  // (B, KVH, T, hd)
    std::vector<torch::Tensor> out;
    for (int64_t i0 = 0; i0 < T; i0 += kQueryBlock) {
        const int64_t c = std::min(kQueryBlock, T - i0), i1 = i0 + c;
        const torch::Tensor qBlock = qh.narrow(3, i0, c).reshape({B, KVH, rep * c, hd});
        torch::Tensor scores = torch::matmul(qBlock, kh.narrow(2, 0, i1).transpose(-1, -2)).view({B, KVH, rep, c, i1});
        scores.narrow(-1, i0, c).masked_fill_(future.narrow(0, i0, c).narrow(1, i0, c), -std::numeric_limits<float>::infinity());
        // In place when no gradient is wanted: one (B, H, c, i1) buffer fewer per block.
        const torch::Tensor weights =
            (torch::GradMode::is_enabled() ? torch::softmax(scores, -1) : at::_softmax_out(scores, scores, -1, false))
                .view({B, KVH, rep * c, i1});
        out.push_back(torch::matmul(weights, vh.narrow(2, 0, i1)).view({B, KVH, rep, c, hd}));
    }
    const torch::Tensor heads = out.size() == 1 ? out.front() : torch::cat(out, 3);  // (B, KVH, rep, T, hd)
    return heads.view({B, H, T, hd}).permute({0, 2, 1, 3}).contiguous();
}

torch::Tensor causalAttention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                              const torch::Tensor& future) {
    if (torch::GradMode::is_enabled() || !SingleThreadedBlas::available()) return causalAttentionBatched(q, k, v, future);
    const int64_t B = q.size(0), T = q.size(1), H = q.size(2), hd = q.size(3), rep = H / k.size(2);
    const int64_t blocks = (T + kQueryBlock - 1) / kQueryBlock;
    torch::Tensor out = torch::empty({B, T, H, hd}, q.options());
    SingleThreadedBlas oneBlasThread;
    // One task per (window, head, query block), written straight into its rows of out. Within a
    // head the last (largest) block comes first; each thread takes a contiguous run of tasks.
    at::parallel_for(0, B * H * blocks, 1, [&](int64_t begin, int64_t end) {
        for (int64_t task = begin; task < end; ++task) {
            const int64_t b = task / (H * blocks), h = task / blocks % H, block = blocks - 1 - task % blocks;
            const int64_t i0 = block * kQueryBlock, c = std::min(kQueryBlock, T - i0), i1 = i0 + c;
            const torch::Tensor keys = k.select(0, b).select(1, h / rep).narrow(0, 0, i1);    // (i1, hd)
            const torch::Tensor values = v.select(0, b).select(1, h / rep).narrow(0, 0, i1);  // (i1, hd)
            torch::Tensor scores = at::mm(q.select(0, b).select(1, h).narrow(0, i0, c), keys.t());  // (c, i1)
            scores.narrow(1, i0, c).masked_fill_(future.narrow(0, i0, c).narrow(1, i0, c), -std::numeric_limits<float>::infinity());
            at::_softmax_out(scores, scores, -1, false);
            torch::Tensor rows = out.select(0, b).select(1, h).narrow(0, i0, c);  // (c, hd), row stride H*hd
            at::mm_out(rows, scores, values);
        }
    });
    return out;
}

}  // namespace

// transformer_internal.h says what they compute. Grouped-query: query head h reads kv head h / rep.
torch::Tensor mixedCausalAttentionWeights(const torch::Tensor& q, const torch::Tensor& k, int64_t past,
                                          const std::vector<int64_t>& relu, bool rowSum) {
    const int64_t B = q.size(0), T = q.size(1), H = q.size(2), hd = q.size(3), KVH = k.size(1), rep = H / KVH;
    const int64_t keys = past + T;
    // (B, KVH, rep*T, hd) x (B, KVH, hd, keys): query head h = kv * rep + r
    const torch::Tensor qh = q.permute({0, 2, 1, 3}).reshape({B, KVH, rep * T, hd});
    torch::Tensor scores = torch::matmul(qh, k.transpose(-1, -2)).view({B, H, T, keys});
    // true where query i (absolute past + i) would see a later key j > past + i: (T, keys)
    const torch::Tensor future = T > 1 ? torch::ones({T, keys}, torch::kBool).triu(past + 1) : torch::Tensor();
    const auto softmaxOf = [&](torch::Tensor s) {  // (B, h, T, keys) in place
        if (future.defined()) s.masked_fill_(future, -std::numeric_limits<float>::infinity());
        return at::_softmax_out(s, s, -1, false);
    };
    const auto reluOf = [&](const torch::Tensor& s) {  // (B, h, T, keys)
        torch::Tensor r = torch::relu(s);
        if (future.defined()) r.masked_fill_(future, 0.0);
        if (!rowSum) return r.div_(torch::arange(past + 1, keys + 1, torch::kFloat32).view({1, 1, T, 1}));  // positions attended
        const torch::Tensor sum = r.sum(-1, /*keepdim=*/true);
        return torch::where(sum > 0, r / sum, torch::zeros_like(r));
    };
    if (relu.empty()) return softmaxOf(scores);
    if (static_cast<int64_t>(relu.size()) == H) return reluOf(scores);  // (each head once)
    std::vector<bool> isRelu(static_cast<size_t>(H), false);
    for (const int64_t h : relu) isRelu[static_cast<size_t>(h)] = true;
    std::vector<int64_t> soft;
    for (int64_t h = 0; h < H; ++h)
        if (!isRelu[static_cast<size_t>(h)]) soft.push_back(h);
    const torch::Tensor reluIndex = torch::tensor(relu, torch::kInt64), softIndex = torch::tensor(soft, torch::kInt64);
    torch::Tensor weights = scores;
    weights.index_copy_(1, softIndex, softmaxOf(scores.index_select(1, softIndex)));
    weights.index_copy_(1, reluIndex, reluOf(scores.index_select(1, reluIndex)));
    return weights;
}

torch::Tensor attendWith(const torch::Tensor& weights, const torch::Tensor& v) {
    const int64_t B = weights.size(0), H = weights.size(1), T = weights.size(2), keys = weights.size(3);
    const int64_t KVH = v.size(1), rep = H / KVH, hd = v.size(3);
    return torch::matmul(weights.view({B, KVH, rep * T, keys}), v)  // (B, KVH, rep*T, hd)
        .view({B, H, T, hd})
        .permute({0, 2, 1, 3})
        .contiguous();
}

torch::Tensor mixedCausalAttention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, int64_t past,
                                   const std::vector<int64_t>& relu, bool rowSum) {
    return attendWith(mixedCausalAttentionWeights(q, k, past, relu, rowSum), v);
}

namespace {

// The MLP of one block on the residual stream entering it (B, T, D) -> its output (B, T, D).
torch::Tensor mlp(const ModelConfig& c, const ModelWeights& w, const LayerWeights& L, const torch::Tensor& x) {
    const torch::Tensor h = norm(c, x, L.norm2Weight, L.norm2Bias);
    const torch::Tensor inner = c.modelType == "llama"
                                    ? activation(c.activation, matmulWeights(w, h, L.gateWeight, L.gateBias)) * matmulWeights(w, h, L.upWeight, L.upBias)
                                    : activation(c.activation, matmulWeights(w, h, L.upWeight, L.upBias));  // (B, T, F)
    return matmulWeights(w, inner, L.downWeight, L.downBias);
}

}  // namespace

torch::Tensor Model::Impl::forwardFromMlp(int layer, torch::Tensor postAttention, const ForwardOptions& options) const {
    torch::Tensor x = postAttention + mlp(config, weights, weights.layers[layer], postAttention);
    if (options.observeResidual) options.observeResidual(layer + 1, x);
    return forwardFrom(layer + 1, x, options);
}

torch::Tensor Model::Impl::normFinal(const torch::Tensor& residual) const {
    return norm(config, residual, weights.finalNormWeight, weights.finalNormBias);
}

torch::Tensor Model::Impl::headLogits(const torch::Tensor& normed) const {
    const torch::Tensor& head = weights.head;  // (V, D)
    if (head.scalar_type() == torch::kFloat32) return at::linear(normed, head);
    // A half head is converted (never multiplied in bfloat16, whose logits would be rounded to 3
    // digits: the lens and the loss need them exact), in blocks of vocabulary rows: all of a
    // 128K x 4096 head would be 2 GB as float32.
    constexpr int64_t kRows = 16384;
    const int64_t V = head.size(0);
    std::vector<int64_t> shape = normed.sizes().vec();
    shape.back() = V;
    torch::Tensor out = torch::empty(shape, normed.options().dtype(torch::kFloat32));
    for (int64_t from = 0; from < V; from += kRows) {
        const int64_t n = std::min(kRows, V - from);
        out.narrow(-1, from, n).copy_(at::linear(normed, head.narrow(0, from, n).to(torch::kFloat32)));
    }
    return out;
}

torch::Tensor Model::Impl::embed(const torch::Tensor& ids, int64_t firstPosition) const {
    const int64_t B = ids.size(0), T = ids.size(1);
    torch::Tensor x = float32Matrix(weights.tokenEmbedding.index_select(0, ids.reshape({-1}))).view({B, T, -1});  // (B, T, D)
    if (config.modelType != "llama") x = x + weights.positionEmbedding.narrow(0, firstPosition, T).unsqueeze(0);
    return x;
}

KvCache Model::Impl::makeCache(int64_t batch, int64_t capacity) const {
    KvCache cache;
    for (int l = 0; l < config.numLayers; ++l) {
        cache.keys.push_back(torch::empty({batch, config.numKvHeads, capacity, config.headDim}, torch::kFloat32));
        cache.values.push_back(torch::empty({batch, config.numKvHeads, capacity, config.headDim}, torch::kFloat32));
    }
    return cache;
}

torch::Tensor Model::Impl::forward(const torch::Tensor& ids, const ForwardOptions& options) const {
    const int64_t past = options.cache ? options.cache->length : 0;
    if (options.cache && past + ids.size(1) > options.cache->keys.front().size(2))
        throw std::logic_error("forward: the KV cache holds fewer positions than the sequence needs");
    torch::Tensor x = embed(ids, past);
    if (options.observeResidual) options.observeResidual(0, x);
    return forwardFrom(0, x, options);
}

torch::Tensor Model::Impl::forwardFrom(int firstLayer, torch::Tensor x, const ForwardOptions& options) const {
    const ModelConfig& c = config;
    const ModelWeights& w = weights;
    const int64_t B = x.size(0), T = x.size(1);
    const int64_t H = c.numHeads, KVH = c.numKvHeads, hd = c.headDim;
    const bool llama = c.modelType == "llama";
    KvCache* cache = options.cache;  // forward() checked its capacity; positions start at past
    const int64_t past = cache ? cache->length : 0;

    torch::Tensor cos, sin;
    if (llama) {
        auto positions = torch::arange(past, past + T, torch::kFloat32);
        auto freqs = torch::outer(positions, w.ropeInvFreq);  // (T, hd/2)
        auto emb = torch::cat({freqs, freqs}, -1);             // (T, hd)
        cos = emb.cos().view({1, T, 1, hd});
        sin = emb.sin().view({1, T, 1, hd});
    }
    // true above the diagonal: future positions a token must not attend to. (T, T)
    const torch::Tensor future = torch::ones({T, T}, torch::kBool).triu(1);
    const double scale = 1.0 / std::sqrt(static_cast<double>(hd));

    for (int l = firstLayer; l < c.numLayers; ++l) {
        const LayerWeights& L = w.layers[l];
        // --- attention ---
        torch::Tensor h = norm(c, x, L.norm1Weight, L.norm1Bias);
        torch::Tensor q, k, v;
        if (L.qkvWeight.defined()) {  // one GEMM: (B, T, H*hd + 2*KVH*hd), then views
            const torch::Tensor qkv = matmulWeights(weights, h, L.qkvWeight, L.qkvBias);
            q = qkv.narrow(-1, 0, H * hd).view({B, T, H, hd});
            k = qkv.narrow(-1, H * hd, KVH * hd).view({B, T, KVH, hd});
            v = qkv.narrow(-1, (H + KVH) * hd, KVH * hd).view({B, T, KVH, hd});
        } else {
            q = matmulWeights(weights, h, L.qWeight, L.qBias).view({B, T, H, hd});
            k = matmulWeights(weights, h, L.kWeight, L.kBias).view({B, T, KVH, hd});
            v = matmulWeights(weights, h, L.vWeight, L.vBias).view({B, T, KVH, hd});
        }
        if (llama) {
            q = applyRope(q, cos, sin);
            k = applyRope(k, cos, sin);
        }
        static const std::vector<int64_t> kNoRelu;
        const std::vector<int64_t>* relu = &kNoRelu;
        if (options.reluHeads)
            if (const auto it = options.reluHeads->byLayer.find(l); it != options.reluHeads->byLayer.end()) relu = &it->second;
        torch::Tensor heads;  // (B, T, H, hd)
        if (cache) {  // append this step's keys and values (one sequence fills every row), attend over them
            cache->keys[l].narrow(2, past, T).copy_(k.permute({0, 2, 1, 3}));
            cache->values[l].narrow(2, past, T).copy_(v.permute({0, 2, 1, 3}));
        }
        const bool rowSum = options.reluHeads && options.reluHeads->rowSum;
        if (options.observeAttention && !cache) {  // the weights themselves: (B, H, T, T)
            const torch::Tensor weights = mixedCausalAttentionWeights(q * scale, k.permute({0, 2, 1, 3}), 0, *relu, rowSum);
            options.observeAttention(l, weights);
            heads = attendWith(weights, v.permute({0, 2, 1, 3}));
        } else if (relu->empty() && past == 0) {  // whole sequences, or a prompt's prefill: the blocked kernel
            heads = causalAttention(q * scale, k, v, future);
        } else if (cache) {
            heads = mixedCausalAttention(q * scale, cache->keys[l].narrow(0, 0, B).narrow(2, 0, past + T),
                                         cache->values[l].narrow(0, 0, B).narrow(2, 0, past + T), past, *relu, rowSum);
        } else {
            heads = mixedCausalAttention(q * scale, k.permute({0, 2, 1, 3}), v.permute({0, 2, 1, 3}), 0, *relu, rowSum);
        }
        if (options.editHeadOutputs) options.editHeadOutputs(l, heads);
        x = x + matmulWeights(weights, heads.view({B, T, H * hd}), L.oWeight, L.oBias);
        if (options.observePostAttention) options.observePostAttention(l + 1, x);
        x = x + mlp(c, weights, L, x);
        if (options.observeResidual) options.observeResidual(l + 1, x);
    }
    if (cache && firstLayer == 0) cache->length += T;
    if (!options.computeLogits) return {};
    const int64_t to = options.logitsTo < 0 ? T : options.logitsTo;
    return headLogits(normFinal(x.narrow(1, options.logitsFrom, to - options.logitsFrom)));  // (B, to - from, V)
}

}  // namespace ls
