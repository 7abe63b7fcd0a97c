// One prompt's forward with its attention weights, head outputs and residual streams kept, then
// the direct logit attribution at one position. Shapes: T positions, D hidden, H heads, hd head
// dim, L blocks, V vocabulary, K components.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "analysis/layer_run.h"
#include "analysis/prompt.h"
#include "common/error.h"
#include "model/transformer_internal.h"
#include "tokenizer/tokenizer.h"

namespace ls {

namespace {

// The `top` largest (promoted) and smallest (suppressed) entries of one row of effects (V),
// ties to the lower id.
void topTokens(const float* effects, int64_t V, int top, LogitComponent& out) {
    std::vector<int32_t> order(static_cast<size_t>(V));
    std::iota(order.begin(), order.end(), 0);
    const int64_t k = std::min<int64_t>(top, V);
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int32_t a, int32_t b) {
        return effects[a] != effects[b] ? effects[a] > effects[b] : a < b;
    });
    for (int64_t i = 0; i < k; ++i) out.promoted.push_back({order[i], effects[order[i]]});
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int32_t a, int32_t b) {
        return effects[a] != effects[b] ? effects[a] < effects[b] : a < b;
    });
    for (int64_t i = 0; i < k; ++i) out.suppressed.push_back({order[i], effects[order[i]]});
}

}  // namespace

PromptResult runPrompt(const Model& model, const Tokenizer* tokenizer, const Prompt& prompt, const PromptParams& params) {
    const auto start = std::chrono::steady_clock::now();
    const Model::Impl& m = model.impl();
    const ModelConfig& c = model.config();
    const int L = c.numLayers, H = c.numHeads, hd = c.headDim;
    const int64_t T = static_cast<int64_t>(prompt.ids.size()), V = c.vocabSize;
    if (T == 0) throw Error("the prompt has no tokens");
    if (T > c.maxPositions)
        throw Error("the prompt has " + std::to_string(T) + " tokens, more than the model's context of " +
                    std::to_string(c.maxPositions));
    if (T > kMaxPromptTokens)
        throw Error("the prompt has " + std::to_string(T) + " tokens; the microscope keeps every head's T x T attention "
                    "pattern and takes at most " + std::to_string(kMaxPromptTokens) +
                    ": a shorter prompt, or windows of at most " + std::to_string(kMaxPromptTokens) + " tokens");
    checkTokenIds(c, prompt.ids.data(), T);
    const int position = params.position < 0 ? static_cast<int>(T - 1) : params.position;
    if (position >= T)
        throw ParamError("position", "must be a position of the prompt, 0.." + std::to_string(T - 1) + " (or -1 for the last)");
    if (params.top < 1) throw ParamError("top", "must be at least 1");
    if (params.token >= V)
        throw ParamError("token", "id " + std::to_string(params.token) + " is outside the vocabulary (0.." + std::to_string(V - 1) + ")");

    torch::InferenceMode inference;
    std::vector<torch::Tensor> residual(static_cast<size_t>(L + 1)), postAttention(static_cast<size_t>(L)),
        headOutputs(static_cast<size_t>(L)), weights(static_cast<size_t>(L));
    ForwardOptions o;
    o.observeResidual = [&](int i, const torch::Tensor& x) { residual[static_cast<size_t>(i)] = x[0]; };      // (T, D)
    o.observePostAttention = [&](int l, const torch::Tensor& a) { postAttention[static_cast<size_t>(l - 1)] = a[0]; };  // (T, D)
    o.editHeadOutputs = [&](int l, torch::Tensor& heads) { headOutputs[static_cast<size_t>(l)] = heads[0]; };  // (T, H, hd)
    o.observeAttention = [&](int l, const torch::Tensor& w) { weights[static_cast<size_t>(l)] = w[0]; };       // (H, T, T)
    o.logitsFrom = position;  // the head only where the logit is attributed
    o.logitsTo = position + 1;
    const torch::Tensor ids = torch::tensor(std::vector<int64_t>(prompt.ids.begin(), prompt.ids.end()), torch::kInt64).unsqueeze(0);
    const torch::Tensor logits = m.forward(ids, o)[0][0];  // (V) at the position

    PromptResult r;
    r.prompt = prompt;
    for (const int32_t id : prompt.ids) r.tokenTexts.push_back(tokenLabel(tokenizer, id));

    // Attention patterns: (L, H, T, T), and each head's summaries.
    AttentionPatterns& a = r.attention;
    a.numLayers = L;
    a.numHeads = H;
    a.tokens = static_cast<int>(T);
    const torch::Tensor all = torch::stack(weights).contiguous();
    a.weights.assign(all.data_ptr<float>(), all.data_ptr<float>() + all.numel());
    for (int l = 1; l <= L; ++l)
        for (int h = 0; h < H; ++h) {
            HeadPatternSummary s = summarisePattern(&a.weights[((static_cast<size_t>(l - 1) * H + h) * T) * T], prompt.ids);
            s.layer = l;
            s.head = h;
            a.summaries.push_back(s);
        }

    // The token attributed.
    LogitAttribution& d = r.attribution;
    d.position = position;
    if (params.token >= 0) {
        d.token = params.token;
        d.tokenSource = "chosen";
    } else if (position + 1 < T) {
        d.token = prompt.ids[static_cast<size_t>(position) + 1];
        d.tokenSource = "target";
    } else {
        d.token = static_cast<int32_t>(logits.argmax().item<int64_t>());
        d.tokenSource = "prediction";
    }
    r.chosenTokenText = tokenLabel(tokenizer, d.token);
    d.logit = logits[d.token].item<double>();

    // The components of h_L(P), in float64: (K, D).
    std::vector<torch::Tensor> parts;
    auto add = [&](LogitComponent::Kind kind, int layer, int head, const torch::Tensor& vector) {
        LogitComponent comp;
        comp.kind = kind;
        comp.layer = layer;
        comp.head = head;
        d.components.push_back(comp);
        parts.push_back(vector.to(torch::kFloat64));
    };
    add(LogitComponent::Kind::Embeddings, 0, -1, residual[0][position]);
    for (int l = 0; l < L; ++l) {
        const LayerWeights& w = m.weights.layers[static_cast<size_t>(l)];
        const torch::Tensor wo = float32Matrix(w.oWeight).to(torch::kFloat64);             // (D, H*hd)
        const torch::Tensor o64 = headOutputs[static_cast<size_t>(l)][position].to(torch::kFloat64);  // (H, hd)
        for (int h = 0; h < H; ++h) add(LogitComponent::Kind::Head, l + 1, h, at::mv(wo.narrow(1, int64_t(h) * hd, hd), o64[h]));
        if (w.oBias.defined()) add(LogitComponent::Kind::AttentionBias, l + 1, -1, w.oBias);
        // the MLP's output: h_l - a_l
        add(LogitComponent::Kind::Mlp, l + 1, -1,
            residual[static_cast<size_t>(l) + 1][position].to(torch::kFloat64) - postAttention[static_cast<size_t>(l)][position].to(torch::kFloat64));
    }
    const torch::Tensor C = torch::stack(parts);  // (K, D) float64
    // The final norm frozen at P: scale s and, for LayerNorm, centring.
    const torch::Tensor hL = residual[static_cast<size_t>(L)][position].to(torch::kFloat64);  // (D)
    const bool layerNorm = c.modelType == "gpt2";
    const torch::Tensor gamma = m.weights.finalNormWeight.to(torch::kFloat64);
    const double s = layerNorm ? std::sqrt((hL - hL.mean()).pow(2).mean().item<double>() + c.normEps)
                               : std::sqrt(hL.pow(2).mean().item<double>() + c.normEps);
    const torch::Tensor centred = layerNorm ? C - C.mean(1, /*keepdim=*/true) : C;
    const torch::Tensor effective = centred * gamma / s;  // (K, D): what each component adds to normf(h_L(P))
    const torch::Tensor unembed = float32Matrix(m.weights.head[d.token]).to(torch::kFloat64);  // (D)
    const torch::Tensor values = at::mv(effective, unembed);  // (K)
    d.finalNormScale = s;
    d.finalNormBias = m.weights.finalNormBias.defined() ? at::dot(unembed, m.weights.finalNormBias.to(torch::kFloat64)).item<double>() : 0.0;
    d.componentsSum = values.sum().item<double>();
    for (size_t k = 0; k < d.components.size(); ++k) d.components[k].value = values[static_cast<int64_t>(k)].item<double>();
    // Every component's effect on every token's logit, in blocks of components: (k, V) float32.
    const torch::Tensor effectiveFloat = effective.to(torch::kFloat32);
    constexpr int64_t kBlock = 64;
    for (int64_t from = 0; from < effectiveFloat.size(0); from += kBlock) {
        const int64_t n = std::min(kBlock, effectiveFloat.size(0) - from);
        const torch::Tensor effects = m.headLogits(effectiveFloat.narrow(0, from, n)).contiguous();
        for (int64_t i = 0; i < n; ++i)
            topTokens(effects[i].data_ptr<float>(), V, params.top, d.components[static_cast<size_t>(from + i)]);
    }
    for (const LogitComponent& comp : d.components)
        for (const auto* effects : {&comp.promoted, &comp.suppressed})
            for (const TokenEffect& e : *effects) r.effectTexts.emplace(e.id, tokenLabel(tokenizer, e.id));
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return r;
}

LayerRun promptRun(const Model& model, RunInfo info, const PromptParams& params, PromptResult result) {
    LayerRunParams p;
    p.analyses = {"prompt"};
    p.prompt = params;
    LayerRun run = ownCommandRun(model, std::move(info), std::move(p), true);
    run.setResult("prompt", std::move(result));
    return run;
}

}  // namespace ls
