#pragma once
// The head projection W x in int8 with a per-logit error bound, for the certified lens
// (certified_lens_internal.h; core .cpp files only: LibTorch, oneDNN).
//
// Rows of W (V, D) are quantised symmetrically per row, w^_i = s_i q_i (q_i in [-127, 127]^D),
// and each state per token, x^_t = c_t p_t (c_t = max|x_t| / 127). oneDNN's int8 matmul sums
// q_i . p_t exactly in int32 (VNNI) and scales it by s_i in float32. Then
//   w_i . x_t - w^_i . x^_t = (w_i - w^_i) . x_t + w^_i . (x_t - x^_t), so
//   |w_i . x_t - approx| <= ||w_i - w^_i|| ||x_t|| + ||w^_i|| (||x_t - x^_t|| + 4u ||x^_t||),
// the last term covering the float32 scaling (two roundings; doubled for margin). Every norm
// here is computed in float64 from the quantised values actually used.
//
// Used only where oneDNN's int8 matmul has VNNI (int8 products summed without saturation):
// available() says so. Without VNNI oneDNN may saturate or halve the weights, which would
// break the bound.
#include <torch/torch.h>

#include <algorithm>
#include <memory>

namespace ls {

// The float arithmetic of the certified lens's bounds (both approximations use them).
constexpr double kFloat32Unit = 1.0 / (1 << 24);  // float32 unit roundoff u = 2^-24
constexpr double kRoundUp = 1.0 + 1e-6;           // rounds float64 bounds up past their float32 cast

// f(first row, rows (n, D) float64) over the head in chunks, so no float64 copy of the whole
// head is ever held (a 128k x 4096 head would take 4 GB).
template <typename F>
void forRowChunks(const torch::Tensor& head, F f) {
    const int64_t chunk = 8192;
    for (int64_t i = 0; i < head.size(0); i += chunk)
        f(i, head.narrow(0, i, std::min(chunk, head.size(0) - i)).to(torch::kFloat64));
}

class Int8Projection {
public:
    static bool available();  // this CPU has VNNI and LayerScope was built with oneDNN

    explicit Int8Projection(const torch::Tensor& head);  // (V, D) float32
    ~Int8Projection();

    struct Result {
        torch::Tensor logits;         // (M, V) float32: q_i . p_t s_i; the approximate logit is that times scale[t]
        torch::Tensor scale;          // (M) float64: c_t
        torch::Tensor stateNorm;      // (M) float64: ||x_t||
        torch::Tensor stateError;     // (M) float64: ||x_t - x^_t|| + 4u ||x^_t||
    };
    // normed (M, D) float32, M <= 256. The logits alias a buffer reused by the next call.
    Result project(const torch::Tensor& normed);

    const torch::Tensor& rowError() const { return rowError_; }  // (V) float32: ||w_i - w^_i||, rounded up
    const torch::Tensor& rowNorm() const { return rowNorm_; }    // (V) float32: ||w^_i||, rounded up

private:
    struct Engine;  // oneDNN objects, one primitive per chunk of kChunk tokens
    std::unique_ptr<Engine> engine_;
    torch::Tensor rowError_, rowNorm_;
    int64_t vocab_ = 0, hidden_ = 0;
};

}  // namespace ls
