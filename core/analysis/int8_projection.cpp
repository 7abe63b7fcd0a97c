// The int8 head projection with per-logit error bounds (int8_projection_internal.h).
// Shapes: V vocabulary, D hidden, M tokens (at most kChunk per call).
#include "analysis/int8_projection_internal.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#ifdef LAYERSCOPE_HAVE_DNNL
#include <oneapi/dnnl/dnnl.hpp>
#endif

namespace ls {

#ifdef LAYERSCOPE_HAVE_DNNL

namespace {
constexpr int64_t kChunk = 256;  // tokens per matmul; the primitive and weight layout are made for this M

// Symmetric per-row int8: rows (n, D) float64 -> scales (n) float64 (> 0), q (n, D) int8.
// The scale is kept as the float32 value oneDNN will multiply by, so s q is exactly what runs.
std::pair<torch::Tensor, torch::Tensor> quantiseRows(const torch::Tensor& rows) {
    torch::Tensor scale = rows.abs().amax(1).div(127.0);
    scale = torch::where(scale > 0, scale, torch::ones_like(scale)).to(torch::kFloat32).to(torch::kFloat64);
    const torch::Tensor q = rows.div(scale.unsqueeze(1)).round().clamp(-127, 127);
    return {scale, q};
}
}  // namespace

struct Int8Projection::Engine {
    dnnl::engine engine{dnnl::engine::kind::cpu, 0};
    dnnl::stream stream{engine};
    dnnl::matmul::primitive_desc desc;
    dnnl::matmul matmul;
    dnnl::memory weights;  // (D, V) int8 in the primitive's preferred layout
    torch::Tensor src;     // (kChunk, D) int8, reused: fresh 50 MB outputs per call cost page faults
    torch::Tensor dst;     // (kChunk, V) float32, reused
};

bool Int8Projection::available() {
    const unsigned isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
    auto has = [&](dnnl::cpu_isa wanted) { return (isa & static_cast<unsigned>(wanted)) == static_cast<unsigned>(wanted); };
    return has(dnnl::cpu_isa::avx512_core_vnni) || has(dnnl::cpu_isa::avx2_vnni);
}

Int8Projection::Int8Projection(const torch::Tensor& head) : vocab_(head.size(0)), hidden_(head.size(1)) {
    if (!available()) throw std::runtime_error("int8 projection: this CPU has no VNNI");
    torch::NoGradGuard noGrad;
    const int64_t V = vocab_, D = hidden_;
    torch::Tensor q8 = torch::empty({V, D}, torch::kInt8);  // (V, D) = (D, V) in "ba" order
    std::vector<float> scales(static_cast<size_t>(V));
    rowError_ = torch::empty({V}, torch::kFloat32);
    rowNorm_ = torch::empty({V}, torch::kFloat32);
    // quantiseRows's arithmetic, one pass over each row (the head is the largest matrix of the
    // model: tensor ops in float64 took ten passes and most of a second).
    const torch::Tensor w = head.contiguous();
    const float* rows = w.data_ptr<float>();
    int8_t* q = q8.data_ptr<int8_t>();
    float* rowError = rowError_.data_ptr<float>();
    float* rowNorm = rowNorm_.data_ptr<float>();
    at::parallel_for(0, V, 256, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) {
            const float* row = rows + i * D;
            float amax = 0;
            for (int64_t j = 0; j < D; ++j) amax = std::max(amax, std::abs(row[j]));
            // The float32 value oneDNN multiplies by, so s q is exactly what runs.
            const double s = static_cast<double>(static_cast<float>(amax > 0 ? amax / 127.0 : 1.0));
            const float inverse = static_cast<float>(1.0 / s);
            double error2 = 0, norm2 = 0;
            for (int64_t j = 0; j < D; ++j) {
                // Any integer q in [-127, 127] is sound (the bound is the error of the q used); the
                // nearest one keeps the bound small.
                const double qj = std::clamp(std::nearbyint(row[j] * inverse), -127.0f, 127.0f);
                q[i * D + j] = static_cast<int8_t>(qj);
                const double dequantised = qj * s;
                error2 += (row[j] - dequantised) * (row[j] - dequantised);
                norm2 += dequantised * dequantised;
            }
            scales[static_cast<size_t>(i)] = static_cast<float>(s);
            rowError[i] = static_cast<float>(std::sqrt(error2) * kRoundUp);
            rowNorm[i] = static_cast<float>(std::sqrt(norm2) * kRoundUp);
        }
    });

    using dnnl::memory;
    engine_ = std::make_unique<Engine>();
    const memory::desc src({kChunk, D}, memory::data_type::s8, memory::format_tag::ab);
    const memory::desc weights({D, V}, memory::data_type::s8, memory::format_tag::any);
    const memory::desc dst({kChunk, V}, memory::data_type::f32, memory::format_tag::ab);
    dnnl::primitive_attr attr;
    attr.set_output_scales(1 << 1, scales);  // per output column (vocabulary row): s_i
    engine_->desc = dnnl::matmul::primitive_desc(dnnl::matmul::desc(src, weights, dst), attr, engine_->engine);
    engine_->matmul = dnnl::matmul(engine_->desc);
    memory user({{D, V}, memory::data_type::s8, memory::format_tag::ba}, engine_->engine, q8.data_ptr<int8_t>());
    engine_->weights = memory(engine_->desc.weights_desc(), engine_->engine);
    dnnl::reorder(user, engine_->weights).execute(engine_->stream, user, engine_->weights);
    engine_->stream.wait();
}

Int8Projection::Result Int8Projection::project(const torch::Tensor& normed) {
    torch::NoGradGuard noGrad;
    const int64_t M = normed.size(0);
    if (M > kChunk) throw std::logic_error("Int8Projection::project: more than 256 tokens");
    const torch::Tensor x = normed.to(torch::kFloat64);  // (M, D)
    Result r;
    auto [scale, p] = quantiseRows(x);  // c_t, p_t
    const torch::Tensor dequantised = p * scale.unsqueeze(1);
    r.scale = scale;
    r.stateNorm = x.pow(2).sum(1).sqrt();
    r.stateError = (x - dequantised).pow(2).sum(1).sqrt() + 4 * kFloat32Unit * dequantised.pow(2).sum(1).sqrt();

    // The primitive is made for kChunk rows: pad with zero states, keep the first M rows. The
    // result aliases the reused output buffer, valid until the next call.
    torch::Tensor& src = engine_->src;
    torch::Tensor& dst = engine_->dst;
    if (!src.defined()) {
        src = torch::zeros({kChunk, hidden_}, torch::kInt8);
        dst = torch::empty({kChunk, vocab_}, torch::kFloat32);
    }
    src.narrow(0, 0, M).copy_(p.to(torch::kInt8));
    src.narrow(0, M, kChunk - M).zero_();
    using dnnl::memory;
    memory srcMemory(engine_->desc.src_desc(), engine_->engine, src.data_ptr<int8_t>());
    memory dstMemory(engine_->desc.dst_desc(), engine_->engine, dst.data_ptr<float>());
    engine_->matmul.execute(engine_->stream,
                            {{DNNL_ARG_SRC, srcMemory}, {DNNL_ARG_WEIGHTS, engine_->weights}, {DNNL_ARG_DST, dstMemory}});
    engine_->stream.wait();
    r.logits = dst.narrow(0, 0, M);
    return r;
}

#else  // built without oneDNN: never available

struct Int8Projection::Engine {};
bool Int8Projection::available() { return false; }
Int8Projection::Int8Projection(const torch::Tensor&) { throw std::runtime_error("int8 projection: built without oneDNN"); }
Int8Projection::Result Int8Projection::project(const torch::Tensor&) { return {}; }

#endif

Int8Projection::~Int8Projection() = default;

}  // namespace ls
