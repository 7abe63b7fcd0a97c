// The certified logit-lens top-1 (certified_lens_internal.h). Shapes: M tokens, D hidden,
// V vocabulary, r rank, K candidate (token, row) pairs.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iterator>
#include <limits>

#include "analysis/certified_lens_internal.h"

namespace ls {

namespace {
constexpr double kUnit = 1.0 / (1 << 24);  // float32 unit roundoff u = 2^-24
constexpr double kUp = 1.0 + 1e-6;         // rounds float64 bounds up past their float32 cast
}  // namespace

namespace {
// f(first row, rows (n, D) float64) over the head in chunks, so no float64 copy of the whole
// head is ever held (a 128k x 4096 head would take 4 GB).
template <typename F>
void forRowChunks(const torch::Tensor& head, F f) {
    const int64_t chunk = 8192;
    for (int64_t i = 0; i < head.size(0); i += chunk)
        f(i, head.narrow(0, i, std::min(chunk, head.size(0) - i)).to(torch::kFloat64));
}
}  // namespace

CertifiedLens::CertifiedLens(const torch::Tensor& head) : head_(head) {
    torch::NoGradGuard noGrad;
    const int64_t D = head.size(1);
    // The right singular vectors of W are the eigenvectors of the D x D Gram matrix W^T W:
    // GEMMs and a small eigendecomposition instead of a (V x D) SVD.
    torch::Tensor gram = torch::zeros({D, D}, torch::kFloat64);
    rowNorms2_ = torch::empty({head.size(0)}, torch::kFloat64);
    forRowChunks(head, [&](int64_t first, const torch::Tensor& rows) {
        gram.addmm_(rows.t(), rows);
        rowNorms2_.narrow(0, first, rows.size(0)).copy_(rows.pow(2).sum(1));
    });
    eigenvectors_ = std::get<1>(torch::linalg_eigh(gram)).flip({1}).contiguous();  // descending eigenvalues
}

const CertifiedLens::Factors& CertifiedLens::factors(int rank) {
    for (const Factors& f : cache_)
        if (f.rank == rank) return f;
    Factors f;
    f.rank = rank;
    f.basis = eigenvectors_.narrow(1, 0, rank).contiguous();  // (D, r)
    torch::Tensor p64 = torch::empty({head_.size(0), rank}, torch::kFloat64);  // (V, r)
    forRowChunks(head_, [&](int64_t first, const torch::Tensor& rows) { p64.narrow(0, first, rows.size(0)).copy_(rows.mm(f.basis)); });
    const torch::Tensor p2 = p64.pow(2).sum(1);                // (V)
    f.projected = p64.to(torch::kFloat32).contiguous();
    // ||w_i⊥||^2 = ||w_i||^2 - ||P_i||^2 (V_r orthonormal); 1e-12 ||w_i||^2 covers the float64
    // cancellation, kUp the cast to float32.
    f.residual = ((rowNorms2_ - p2).clamp_min(0) + 1e-12 * rowNorms2_).sqrt().mul(kUp).to(torch::kFloat32);
    // |fl(P_i . y) - P_i . y| <= (r + 2) u ||P_i|| ||y|| for the float32 GEMM on float32-rounded
    // P and y; doubled for margin.
    f.rounding = (p2.sqrt() * (2.0 * (rank + 2) * kUnit)).mul(kUp).to(torch::kFloat32);
    f.maxResidual = f.residual.max().item<float>();
    f.maxRounding = f.rounding.max().item<float>();
    cache_.push_back(std::move(f));
    return cache_.back();
}

void CertifiedLens::setRank(int rank) {
    const int D = static_cast<int>(head_.size(1));
    rank_ = rank <= 0 || rank > D ? D : rank;
}

torch::Tensor CertifiedLens::top1(const torch::Tensor& normed) {
    return top1With(factors(rank_ > 0 ? rank_ : static_cast<int>(head_.size(1))), normed);
}

torch::Tensor CertifiedLens::top1With(const Factors& f, const torch::Tensor& normed, int64_t maxPerToken) {
    torch::NoGradGuard noGrad;
    const int64_t M = normed.size(0), V = head_.size(0);
    const torch::Tensor x64 = normed.to(torch::kFloat64);  // (M, D)
    const torch::Tensor y64 = x64.mm(f.basis);              // (M, r)
    const torch::Tensor x2 = x64.pow(2).sum(1);
    const torch::Tensor xPerp = ((x2 - y64.pow(2).sum(1)).clamp_min(0) + 1e-12 * x2).sqrt();  // (M) ||x⊥||
    const torch::Tensor yNorm = y64.pow(2).sum(1).sqrt();                                   // (M) ||y||
    const torch::Tensor approx = at::linear(y64.to(torch::kFloat32), f.projected).contiguous();  // (M, V)

    // Cheap filter: one radius per token, R >= every row's. The true top-1 j has
    // a_j + R >= its exact value >= the best row's lower bound >= max a - R.
    const torch::Tensor radius = xPerp * f.maxResidual + yNorm * f.maxRounding;  // (M) float64
    const torch::Tensor amax = std::get<0>(approx.max(1)).to(torch::kFloat64);
    const torch::Tensor threshold = (amax - 2 * radius - 1e-6 * (amax.abs() + 2 * radius)).to(torch::kFloat32);
    const torch::Tensor pairs = (approx >= threshold.unsqueeze(1)).nonzero().contiguous();  // (K, 2), by token
    const int64_t K = pairs.size(0);
    if (maxPerToken > 0 && K > maxPerToken * M) return {};

    // Per-row bound on what passed: keep rows whose upper bound reaches the token's best lower
    // bound. Plain loops: K is a few rows per token when the rank pays.
    const int64_t* pair = pairs.data_ptr<int64_t>();
    const float* a = approx.data_ptr<float>();
    const float* residual = f.residual.data_ptr<float>();
    const float* rounding = f.rounding.data_ptr<float>();
    const torch::Tensor xPerpC = xPerp.contiguous(), yNormC = yNorm.contiguous();
    const double* xp = xPerpC.data_ptr<double>();
    const double* yn = yNormC.data_ptr<double>();
    auto bound = [&](int64_t t, int64_t i) { return residual[i] * xp[t] + rounding[i] * yn[t]; };
    std::vector<double> bestLower(static_cast<size_t>(M), -std::numeric_limits<double>::infinity());
    for (int64_t k = 0; k < K; ++k) {
        const int64_t t = pair[2 * k], i = pair[2 * k + 1];
        bestLower[t] = std::max(bestLower[t], a[t * V + i] - bound(t, i));
    }
    std::vector<int64_t> tokens, rows;
    for (int64_t k = 0; k < K; ++k) {
        const int64_t t = pair[2 * k], i = pair[2 * k + 1];
        if (a[t * V + i] + bound(t, i) >= bestLower[t]) {
            tokens.push_back(t);
            rows.push_back(i);
        }
    }

    // Exact dot products for the candidates (float32 x float32 products are exact in float64;
    // only the sum rounds, ~D 2^-53), in chunks; then the argmax, ties to the lowest row.
    const int64_t n = static_cast<int64_t>(rows.size());
    const torch::Tensor tokenIndex = torch::from_blob(tokens.data(), {n}, torch::kInt64);
    const torch::Tensor rowIndex = torch::from_blob(rows.data(), {n}, torch::kInt64);
    std::vector<double> exact(static_cast<size_t>(n));
    for (int64_t from = 0; from < n; from += 65536) {
        const int64_t len = std::min<int64_t>(65536, n - from);
        const torch::Tensor dots = (head_.index_select(0, rowIndex.narrow(0, from, len)).to(torch::kFloat64) *
                                    x64.index_select(0, tokenIndex.narrow(0, from, len)))
                                       .sum(1)
                                       .contiguous();
        std::copy(dots.data_ptr<double>(), dots.data_ptr<double>() + len, exact.begin() + from);
    }
    torch::Tensor top = torch::empty({M}, torch::kInt64);
    int64_t* best = top.data_ptr<int64_t>();
    std::vector<double> bestValue(static_cast<size_t>(M), -std::numeric_limits<double>::infinity());
    for (int64_t k = 0; k < n; ++k) {  // rows ascending within a token: ">" keeps the lowest on ties
        const int64_t t = tokens[k];
        if (exact[k] > bestValue[t]) {
            bestValue[t] = exact[k];
            best[t] = rows[k];
        }
    }
    tokens_ += M;
    candidates_ += n;
    return top;
}

std::string CertifiedLens::chooseRank(const torch::Tensor& normed) {
    torch::NoGradGuard noGrad;
    const int D = static_cast<int>(head_.size(1));
    const int64_t savedTokens = tokens_, savedCandidates = candidates_;
    auto timed = [](const std::function<void()>& fn) {
        fn();  // warm-up
        const auto t0 = std::chrono::steady_clock::now();
        fn();
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    // The bar: the full float32 projection and its argmax.
    double bestSeconds = timed([&] { at::linear(normed, head_).argmax(-1); });
    char line[160];
    std::snprintf(line, sizeof line, "full projection: %.1f ms", bestSeconds * 1e3);
    std::string report = line;
    rank_ = 0;
    std::vector<int> ranks;  // D/2 or below, powers of two from 16, largest first
    for (int r = 16; r <= D / 2; r *= 2) ranks.insert(ranks.begin(), r);
    for (int r : ranks) {
        const Factors& f = factors(r);
        // A rank whose cheap filter passes more than 1/16 of the vocabulary cannot pay, and
        // lower ranks have larger bounds: stop there.
        if (!top1With(f, normed, std::max<int64_t>(1, head_.size(0) / 16)).defined()) {
            report += "; rank " + std::to_string(r) + ": too many candidates";
            break;
        }
        const int64_t before = candidates_;
        const double s = timed([&] { top1With(f, normed); });
        std::snprintf(line, sizeof line, "; rank %d: %.1f ms, %.1f candidates/token", r, s * 1e3,
                      static_cast<double>(candidates_ - before) / 2.0 / static_cast<double>(normed.size(0)));
        report += line;
        if (s < bestSeconds) {
            bestSeconds = s;
            rank_ = r;
        }
    }
    // Ranks not chosen are not kept (each holds a (V, r) matrix).
    for (auto it = cache_.begin(); it != cache_.end();) it = it->rank == rank_ ? std::next(it) : cache_.erase(it);
    tokens_ = savedTokens;
    candidates_ = savedCandidates;
    return report + (rank_ > 0 ? " -> rank " + std::to_string(rank_) : " -> no rank pays: the full projection");
}

}  // namespace ls
