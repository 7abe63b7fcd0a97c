// Fresh weights and writing a model folder: what the trainer needs, and the exact inverse
// of model.cpp's loaders.
#include <torch/torch.h>

#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file_io.h"
#include "model/transformer_internal.h"

namespace ls {

ModelWeights initializeWeights(const ModelConfig& c, uint64_t seed) {
    torch::manual_seed(seed);
    const int64_t D = c.hiddenSize, F = c.intermediateSize, V = c.vocabSize;
    const int64_t qOut = int64_t(c.numHeads) * c.headDim, kvOut = int64_t(c.numKvHeads) * c.headDim;
    const bool gpt2 = c.modelType == "gpt2";
    // GPT-2's init: normal(0, 0.02); residual projections scaled by 1/sqrt(2 * layers).
    const double stdev = 0.02, residualStd = 0.02 / std::sqrt(2.0 * c.numLayers);
    auto normal = [](std::vector<int64_t> shape, double s) { return torch::randn(shape) * s; };
    auto bias = [&](int64_t n, bool wanted) { return wanted ? torch::zeros({n}) : torch::Tensor(); };

    ModelWeights w;
    w.tokenEmbedding = normal({V, D}, stdev);
    if (gpt2) w.positionEmbedding = normal({c.maxPositions, D}, 0.01);
    for (int l = 0; l < c.numLayers; ++l) {
        LayerWeights L;
        L.norm1Weight = torch::ones({D});
        L.norm2Weight = torch::ones({D});
        if (gpt2) {
            L.norm1Bias = torch::zeros({D});
            L.norm2Bias = torch::zeros({D});
        }
        L.qWeight = normal({qOut, D}, stdev);
        L.kWeight = normal({kvOut, D}, stdev);
        L.vWeight = normal({kvOut, D}, stdev);
        L.oWeight = normal({D, qOut}, residualStd);
        L.qBias = bias(qOut, c.attentionBias);
        L.kBias = bias(kvOut, c.attentionBias);
        L.vBias = bias(kvOut, c.attentionBias);
        L.oBias = bias(D, c.attentionBias);
        if (!gpt2) L.gateWeight = normal({F, D}, stdev);
        L.upWeight = normal({F, D}, stdev);
        L.downWeight = normal({D, F}, residualStd);
        if (!gpt2) L.gateBias = bias(F, c.mlpBias);
        L.upBias = bias(F, c.mlpBias);
        L.downBias = bias(D, c.mlpBias);
        w.layers.push_back(std::move(L));
    }
    w.finalNormWeight = torch::ones({D});
    if (gpt2) w.finalNormBias = torch::zeros({D});
    w.head = c.tiedEmbeddings ? w.tokenEmbedding : normal({V, D}, stdev);
    if (!gpt2) w.ropeInvFreq = ropeInverseFrequencies(c);
    return w;
}

namespace {

nlohmann::json configJson(const ModelConfig& c) {
    if (c.modelType == "gpt2")
        return {{"architectures", {"GPT2LMHeadModel"}},
                {"model_type", "gpt2"},
                {"n_layer", c.numLayers},
                {"n_head", c.numHeads},
                {"n_embd", c.hiddenSize},
                {"n_inner", c.intermediateSize},
                {"n_positions", c.maxPositions},
                {"n_ctx", c.maxPositions},
                {"vocab_size", c.vocabSize},
                {"layer_norm_epsilon", c.normEps},
                {"activation_function", c.activation},
                {"tie_word_embeddings", c.tiedEmbeddings},
                {"torch_dtype", "float32"}};
    return {{"architectures", {"LlamaForCausalLM"}},
            {"model_type", "llama"},
            {"num_hidden_layers", c.numLayers},
            {"num_attention_heads", c.numHeads},
            {"num_key_value_heads", c.numKvHeads},
            {"hidden_size", c.hiddenSize},
            {"head_dim", c.headDim},
            {"intermediate_size", c.intermediateSize},
            {"max_position_embeddings", c.maxPositions},
            {"vocab_size", c.vocabSize},
            {"rms_norm_eps", c.normEps},
            {"rope_theta", c.ropeTheta},
            {"rope_scaling", nullptr},
            {"hidden_act", c.activation},
            {"attention_bias", c.attentionBias},
            {"mlp_bias", c.mlpBias},
            {"tie_word_embeddings", c.tiedEmbeddings},
            {"torch_dtype", "float32"}};
}

}  // namespace

void saveModelFolder(const std::filesystem::path& dir, const ModelConfig& c, const ModelWeights& w) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw Error(dir, "cannot create the model folder: " + ec.message());
    torch::NoGradGuard noGrad;

    std::vector<torch::Tensor> keep;  // owns the contiguous float32 copies while writing
    std::vector<StTensorToWrite> tensors;
    auto add = [&](const std::string& name, const torch::Tensor& t) {
        if (!t.defined()) return;
        keep.push_back(t.detach().to(torch::kFloat32).contiguous());
        const auto& k = keep.back();
        tensors.push_back({name, "F32", k.sizes().vec(), k.data_ptr(), static_cast<uint64_t>(k.nbytes())});
    };
    if (c.modelType == "gpt2") {
        add("wte.weight", w.tokenEmbedding);
        add("wpe.weight", w.positionEmbedding);
        for (int l = 0; l < c.numLayers; ++l) {
            const LayerWeights& L = w.layers[l];
            const std::string p = "h." + std::to_string(l) + ".";
            add(p + "ln_1.weight", L.norm1Weight);
            add(p + "ln_1.bias", L.norm1Bias);
            // Back to Conv1D's (in, out) layout with q, k, v fused.
            add(p + "attn.c_attn.weight", torch::cat({L.qWeight, L.kWeight, L.vWeight}, 0).t());
            add(p + "attn.c_attn.bias", torch::cat({L.qBias, L.kBias, L.vBias}, 0));
            add(p + "attn.c_proj.weight", L.oWeight.t());
            add(p + "attn.c_proj.bias", L.oBias);
            add(p + "ln_2.weight", L.norm2Weight);
            add(p + "ln_2.bias", L.norm2Bias);
            add(p + "mlp.c_fc.weight", L.upWeight.t());
            add(p + "mlp.c_fc.bias", L.upBias);
            add(p + "mlp.c_proj.weight", L.downWeight.t());
            add(p + "mlp.c_proj.bias", L.downBias);
        }
        add("ln_f.weight", w.finalNormWeight);
        add("ln_f.bias", w.finalNormBias);
        if (!c.tiedEmbeddings) add("lm_head.weight", w.head);
    } else {
        add("model.embed_tokens.weight", w.tokenEmbedding);
        for (int l = 0; l < c.numLayers; ++l) {
            const LayerWeights& L = w.layers[l];
            const std::string p = "model.layers." + std::to_string(l) + ".";
            add(p + "input_layernorm.weight", L.norm1Weight);
            add(p + "post_attention_layernorm.weight", L.norm2Weight);
            add(p + "self_attn.q_proj.weight", L.qWeight);
            add(p + "self_attn.k_proj.weight", L.kWeight);
            add(p + "self_attn.v_proj.weight", L.vWeight);
            add(p + "self_attn.o_proj.weight", L.oWeight);
            add(p + "self_attn.q_proj.bias", L.qBias);
            add(p + "self_attn.k_proj.bias", L.kBias);
            add(p + "self_attn.v_proj.bias", L.vBias);
            add(p + "self_attn.o_proj.bias", L.oBias);
            add(p + "mlp.gate_proj.weight", L.gateWeight);
            add(p + "mlp.up_proj.weight", L.upWeight);
            add(p + "mlp.down_proj.weight", L.downWeight);
            add(p + "mlp.gate_proj.bias", L.gateBias);
            add(p + "mlp.up_proj.bias", L.upBias);
            add(p + "mlp.down_proj.bias", L.downBias);
        }
        add("model.norm.weight", w.finalNormWeight);
        if (!c.tiedEmbeddings) add("lm_head.weight", w.head);
    }
    writeSafetensors(dir / "model.safetensors", tensors, {{"format", "pt"}});

    writeFileAtomically(dir / "config.json", configJson(c).dump(2) + "\n");
}

}  // namespace ls
