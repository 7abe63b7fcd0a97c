// The certified logit-lens top-1 (certified_lens_internal.h). Shapes: M tokens, D hidden,
// V vocabulary, r rank, K candidate (token, row) pairs.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <iterator>
#include <limits>

#include "analysis/certified_lens_internal.h"
#include "analysis/int8_projection_internal.h"

namespace ls {

CertifiedLens::CertifiedLens(const torch::Tensor& head) : head_(head) {}

const torch::Tensor& CertifiedLens::eigenvectors() {
    if (eigenvectors_.defined()) return eigenvectors_;
    torch::NoGradGuard noGrad;
    const int64_t D = head_.size(1);
    // The right singular vectors of W are the eigenvectors of the D x D Gram matrix W^T W:
    // GEMMs and a small eigendecomposition instead of a (V x D) SVD.
    torch::Tensor gram = torch::zeros({D, D}, torch::kFloat64);
    rowNorms2_ = torch::empty({head_.size(0)}, torch::kFloat64);
    forRowChunks(head_, [&](int64_t first, const torch::Tensor& rows) {
        gram.addmm_(rows.t(), rows);
        rowNorms2_.narrow(0, first, rows.size(0)).copy_(rows.pow(2).sum(1));
    });
    eigenvectors_ = std::get<1>(torch::linalg_eigh(gram)).flip({1}).contiguous();  // descending eigenvalues
    return eigenvectors_;
}

const CertifiedLens::Factors& CertifiedLens::factors(int rank) {
    for (const Factors& f : cache_)
        if (f.rank == rank) return f;
    Factors f;
    f.rank = rank;
    f.basis = eigenvectors().narrow(1, 0, rank).contiguous();  // (D, r)
    torch::Tensor p64 = torch::empty({head_.size(0), rank}, torch::kFloat64);  // (V, r)
    forRowChunks(head_, [&](int64_t first, const torch::Tensor& rows) { p64.narrow(0, first, rows.size(0)).copy_(rows.mm(f.basis)); });
    const torch::Tensor p2 = p64.pow(2).sum(1);                // (V)
    f.projected = p64.to(torch::kFloat32).contiguous();
    // ||w_i⊥||^2 = ||w_i||^2 - ||P_i||^2 (V_r orthonormal); 1e-12 ||w_i||^2 covers the float64
    // cancellation, kRoundUp the cast to float32.
    f.residual = ((rowNorms2_ - p2).clamp_min(0) + 1e-12 * rowNorms2_).sqrt().mul(kRoundUp).to(torch::kFloat32);
    // |fl(P_i . y) - P_i . y| <= (r + 2) u ||P_i|| ||y|| for the float32 GEMM on float32-rounded
    // P and y; doubled for margin.
    f.rounding = (p2.sqrt() * (2.0 * (rank + 2) * kFloat32Unit)).mul(kRoundUp).to(torch::kFloat32);
    cache_.push_back(std::move(f));
    return cache_.back();
}

CertifiedLens::~CertifiedLens() = default;

void CertifiedLens::setRank(int rank) {
    const int D = static_cast<int>(head_.size(1));
    rank_ = rank <= 0 || rank > D ? D : rank;
    useInt8_ = false;
}

void CertifiedLens::setInt8() {
    if (!int8_) int8_ = std::make_unique<Int8Projection>(head_);
    useInt8_ = true;
}

bool CertifiedLens::pays() const { return useInt8_ || (rank_ > 0 && rank_ < head_.size(1)); }

std::string CertifiedLens::method() const {
    return useInt8_ ? "int8" : pays() ? "rank " + std::to_string(rank_) : "full projection";
}

torch::Tensor CertifiedLens::top1(const torch::Tensor& normed) { return top1Checked(normed); }

torch::Tensor CertifiedLens::top1(const torch::Tensor& normed, const torch::Tensor& logits) {
    return top1Checked(normed, 0, logits);
}

CertifiedLens::Approximation CertifiedLens::approximate(const torch::Tensor& normed) {
    Approximation a;
    if (useInt8_) {
        Int8Projection::Result r = int8_->project(normed);
        a.logits = r.logits;
        a.scale = r.scale;
        a.tokenA = r.stateNorm;
        a.tokenB = r.stateError;
        a.rowA = int8_->rowError();
        a.rowB = int8_->rowNorm();
        return a;
    }
    const Factors& f = factors(rank_ > 0 ? rank_ : static_cast<int>(head_.size(1)));
    const torch::Tensor x64 = normed.to(torch::kFloat64);  // (M, D)
    const torch::Tensor y64 = x64.mm(f.basis);              // (M, r)
    const torch::Tensor x2 = x64.pow(2).sum(1), y2 = y64.pow(2).sum(1);
    a.logits = at::linear(y64.to(torch::kFloat32), f.projected);  // (M, V)
    a.scale = torch::ones({normed.size(0)}, torch::kFloat64);
    a.tokenA = ((x2 - y2).clamp_min(0) + 1e-12 * x2).sqrt();  // ||x⊥||
    a.tokenB = y2.sqrt();                                      // ||y||
    a.rowA = f.residual;
    a.rowB = f.rounding;
    return a;
}

const torch::Tensor& CertifiedLens::float32Bound() {
    if (!float32Bound_.defined()) {
        // gamma_D = D u / (1 - D u) bounds a float32 dot product's rounding in any summation
        // order (FMA or not); doubled for margin, which also covers the norms' own float32
        // rounding (relative D u at most, far below a factor of 2).
        const double D = static_cast<double>(head_.size(1));
        const double gamma = D * kFloat32Unit / (1 - D * kFloat32Unit);
        float32Bound_ = (head_.norm(2, 1).to(torch::kFloat64) * (2 * gamma)).mul(kRoundUp).to(torch::kFloat32);
    }
    return float32Bound_;
}

CertifiedLens::Approximation CertifiedLens::fullProjection(const torch::Tensor& normed, const torch::Tensor& logits) {
    Approximation a;
    a.logits = logits;
    a.scale = torch::ones({normed.size(0)}, torch::kFloat64);
    a.tokenA = normed.to(torch::kFloat64).pow(2).sum(1).sqrt();  // ||x||
    a.tokenB = torch::zeros({normed.size(0)}, torch::kFloat64);
    a.rowA = float32Bound();
    a.rowB = torch::zeros_like(a.rowA);
    return a;
}

torch::Tensor CertifiedLens::top1Checked(const torch::Tensor& normed, int64_t maxPerToken, const torch::Tensor& fullLogits) {
    torch::NoGradGuard noGrad;
    const int64_t M = normed.size(0), V = head_.size(0), D = head_.size(1);
    const torch::Tensor x = normed.contiguous();
    const torch::Tensor head = head_.contiguous();
    torch::Tensor top = torch::empty({M}, torch::kInt64);
    std::atomic<int64_t> exactDots{0};
    std::atomic<bool> tooMany{false};
    for (int64_t from = 0; from < M; from += 256) {  // 256 tokens' logits at a time: (256, V) float32
        const int64_t n = std::min<int64_t>(256, M - from);
        const Approximation ap = fullLogits.defined() ? fullProjection(x.narrow(0, from, n), fullLogits.narrow(0, from, n))
                                                  : approximate(x.narrow(0, from, n));
        const torch::Tensor logits = ap.logits.contiguous(), scale = ap.scale.contiguous(),
                            tokenA = ap.tokenA.contiguous(), tokenB = ap.tokenB.contiguous();
        const float* rowA = ap.rowA.data_ptr<float>();
        const float* rowB = ap.rowB.data_ptr<float>();
        const double maxA = ap.rowA.max().item<float>(), maxB = ap.rowB.max().item<float>();
        // Tokens are independent: each one's filter, bounds and exact dots run on its own.
        at::parallel_for(0, n, 8, [&](int64_t begin, int64_t end) {
            std::vector<int64_t> seen, rows;
            std::vector<double> approx, bound;
            for (int64_t t = begin; t < end; ++t) {
                const float* a = logits.data_ptr<float>() + t * V;
                const double c = scale.data_ptr<double>()[t];
                const double tA = tokenA.data_ptr<double>()[t], tB = tokenB.data_ptr<double>()[t];
                // Cheap filter: one radius per token, R >= every row's bound. The true top-1 j has
                // approx_j + R >= its exact value >= the best row's lower bound >= max approx - R,
                // so the candidates are the rows within 2R of the maximum.
                const double radius = tA * maxA + tB * maxB;
                auto thresholdFor = [&](float rawMax) {  // in float64, a little below max - 2R
                    const double amax = rawMax * c;
                    return amax - 2 * radius - 1e-6 * (std::abs(amax) + 2 * radius);
                };
                auto rawThresholdFor = [&](float rawMax) {  // the same for the float32 scan, rounded down
                    const double threshold = thresholdFor(rawMax);
                    return static_cast<float>(threshold / c * (threshold > 0 ? 1 - 1e-6 : 1 + 1e-6));
                };
                // One pass over the row: a block of 64 logits whose maximum reaches the threshold of
                // the maximum so far keeps its logits that reach it. That threshold only rises, so
                // every logit that reaches the final one is kept (in ascending row order), and the
                // final threshold then picks the candidates among them.
                seen.clear();
                float runningMax = -std::numeric_limits<float>::infinity();
                float scanAt = -std::numeric_limits<float>::infinity();
                auto scan = [&](int64_t first, int64_t count, float blockMax) {
                    if (blockMax < scanAt) return;
                    for (int64_t k = first; k < first + count; ++k)
                        if (a[k] >= scanAt) seen.push_back(k);
                    if (blockMax > runningMax) {
                        runningMax = blockMax;
                        scanAt = rawThresholdFor(runningMax);
                    }
                };
                int64_t i = 0;
                for (; i + 64 <= V; i += 64) {
                    float lanes[16];  // 16 independent maxima: vectorises without -ffast-math
                    std::copy(a + i, a + i + 16, lanes);
                    for (int b = 16; b < 64; b += 16)
                        for (int k = 0; k < 16; ++k) lanes[k] = std::max(lanes[k], a[i + b + k]);
                    scan(i, 64, *std::max_element(std::begin(lanes), std::end(lanes)));
                }
                for (; i < V; ++i) scan(i, 1, a[i]);
                const double threshold = thresholdFor(runningMax);
                const float rawThreshold = rawThresholdFor(runningMax);
                rows.clear();
                approx.clear();
                bound.clear();
                double bestLower = -std::numeric_limits<double>::infinity();
                for (int64_t r : seen) {
                    if (a[r] < rawThreshold) continue;
                    const double value = a[r] * c;
                    if (value < threshold) continue;
                    rows.push_back(r);
                    approx.push_back(value);
                    bound.push_back(rowA[r] * tA + rowB[r] * tB);
                    bestLower = std::max(bestLower, value - bound.back());
                }
                if (maxPerToken > 0 && static_cast<int64_t>(rows.size()) > maxPerToken) {
                    tooMany = true;
                    return;
                }
                // Per-row bound, then exact float64 dots (float32 x float32 products are exact in
                // float64; only the sum rounds, ~D 2^-53); rows ascend, so ">" keeps the lowest on ties.
                const float* xt = x.data_ptr<float>() + (from + t) * D;
                double bestValue = -std::numeric_limits<double>::infinity();
                int64_t best = rows.empty() ? 0 : rows.front(), dots = 0;
                for (size_t k = 0; k < rows.size(); ++k) {
                    if (approx[k] + bound[k] < bestLower) continue;
                    const float* w = head.data_ptr<float>() + rows[k] * D;
                    double dot = 0;
                    for (int64_t j = 0; j < D; ++j) dot += static_cast<double>(w[j]) * static_cast<double>(xt[j]);
                    ++dots;
                    if (dot > bestValue) {
                        bestValue = dot;
                        best = rows[k];
                    }
                }
                top.data_ptr<int64_t>()[from + t] = best;
                exactDots += dots;
            }
        });
        if (tooMany) return {};
    }
    tokens_ += M;
    candidates_ += exactDots;
    return top;
}

int64_t CertifiedLens::logitsOutsideBound(const torch::Tensor& normed) {
    torch::NoGradGuard noGrad;
    const Approximation ap = approximate(normed);
    const torch::Tensor x64 = normed.to(torch::kFloat64);
    const torch::Tensor approx = ap.logits.to(torch::kFloat64) * ap.scale.unsqueeze(1);  // (M, V)
    const torch::Tensor bound = ap.tokenA.unsqueeze(1) * ap.rowA.to(torch::kFloat64).unsqueeze(0) +
                                ap.tokenB.unsqueeze(1) * ap.rowB.to(torch::kFloat64).unsqueeze(0);  // (M, V)
    // The float32 projection is within slack of the exact logits, so a logit it shows inside
    // bound - slack is inside its bound; the rest (usually none) get a float64 dot product.
    const torch::Tensor slack = x64.pow(2).sum(1).sqrt().unsqueeze(1) * float32Bound().to(torch::kFloat64).unsqueeze(0);
    const torch::Tensor error32 = (approx - at::linear(normed, head_).to(torch::kFloat64)).abs();
    const torch::Tensor suspects = error32.gt(bound - slack).nonzero();  // (K, 2): token, row
    int64_t outside = 0;
    for (int64_t k = 0; k < suspects.size(0); ++k) {
        const int64_t t = suspects[k][0].item<int64_t>(), i = suspects[k][1].item<int64_t>();
        const double exact = x64[t].dot(head_[i].to(torch::kFloat64)).item<double>();
        outside += std::abs(approx[t][i].item<double>() - exact) > bound[t][i].item<double>();
    }
    return outside;
}

namespace {

double secondsOf(const std::function<void()>& fn) {
    const auto t0 = std::chrono::steady_clock::now();
    fn();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double timedAfterWarmUp(const std::function<void()>& fn) {
    fn();
    return secondsOf(fn);
}

}  // namespace

bool CertifiedLens::int8Checked(const torch::Tensor& normed, std::string& report) {
    // The int8 bound rests on oneDNN summing int8 products exactly; check it against float64
    // logits on part of the sample before trusting it.
    setInt8();
    const int64_t outside = logitsOutsideBound(normed.narrow(0, 0, std::min<int64_t>(64, normed.size(0))));
    if (outside == 0) return true;
    report += "; int8: " + std::to_string(outside) + " logits outside their bound, not used";
    useInt8_ = false;
    int8_.reset();
    return false;
}

std::string CertifiedLens::chooseMethod(const torch::Tensor& normed, int64_t tokenLayers) {
    torch::NoGradGuard noGrad;
    const int D = static_cast<int>(head_.size(1));
    const int64_t savedTokens = tokens_, savedCandidates = candidates_;
    const double samples = static_cast<double>(tokenLayers) / static_cast<double>(normed.size(0));
    timings_ = Timings{};
    timings_.sampleTokens = normed.size(0);
    // The bar: the full float32 projection and its argmax.
    timings_.full = timedAfterWarmUp([&] { at::linear(normed, head_).argmax(-1); });
    double bestSeconds = timings_.full;
    char line[200];
    std::snprintf(line, sizeof line, "full projection: %.1f ms", bestSeconds * 1e3);
    std::string report = line;
    // Trying a method costs its set-up and a few sample projections: about 6 full sample
    // projections for int8 (quantising the head, the float64 check, two timed runs), about 2D/M
    // for the Gram matrix of the low-rank bound. It can at best save the run's projections, so a
    // run shorter than twice that keeps the full projection untried.
    const double fullRun = samples * timings_.full;
    const bool tryInt8 = Int8Projection::available() && fullRun > 2 * 6 * timings_.full;
    const bool tryRanks = fullRun > 2 * (2.0 * D / static_cast<double>(normed.size(0)) + 4) * timings_.full;
    // A method whose cheap filter passes more than 1/16 of the vocabulary for some token cannot pay.
    const int64_t limit = std::max<int64_t>(1, head_.size(0) / 16);
    bool bestInt8 = false;
    int bestRank = 0;  // 0 with !bestInt8: nothing beats the full projection
    double bestSetup = 0;
    auto tryMethod = [&](const std::string& name, double setup) {  // the current method
        if (!top1Checked(normed, limit).defined()) {
            report += "; " + name + ": too many candidates";
            return false;
        }
        const int64_t before = candidates_;
        const double s = secondsOf([&] { top1Checked(normed); });
        std::snprintf(line, sizeof line, "; %s: %.1f ms, %.1f candidates/token (set-up %.2f s)", name.c_str(), s * 1e3,
                      static_cast<double>(candidates_ - before) / static_cast<double>(normed.size(0)), setup);
        report += line;
        // The set-up is paid by now: what is left of the run decides.
        if (s < bestSeconds) {
            bestSeconds = s;
            bestInt8 = useInt8_;
            bestRank = useInt8_ ? 0 : rank_;
            bestSetup = setup;
        }
        return true;
    };
    if (tryInt8) {
        std::string problem;
        const double setup = secondsOf([&] { int8Checked(normed, problem); });
        if (useInt8_)
            tryMethod("int8", setup);
        else
            report += problem;
    }
    if (tryRanks) {
        const double gram = secondsOf([&] { eigenvectors(); });
        std::vector<int> ranks;  // D/2 or below, powers of two from 16, largest first
        for (int r = 16; r <= D / 2; r *= 2) ranks.insert(ranks.begin(), r);
        for (int r : ranks) {
            setRank(r);
            // Lower ranks have larger bounds: stop at the first with too many candidates.
            if (!tryMethod("rank " + std::to_string(r), gram)) break;
        }
    }
    if (!tryInt8 && !tryRanks) {
        std::snprintf(line, sizeof line, "; %.0f token-layers: too few for a certified method to pay", static_cast<double>(tokenLayers));
        report += line;
    }
    if (bestInt8) {
        setInt8();
    } else {
        useInt8_ = false;
        rank_ = bestRank;
        int8_.reset();
    }
    // Ranks not chosen are not kept (each holds a (V, r) matrix).
    for (auto it = cache_.begin(); it != cache_.end();)
        it = !useInt8_ && it->rank == rank_ ? std::next(it) : cache_.erase(it);
    tokens_ = savedTokens;
    candidates_ = savedCandidates;
    timings_.method = pays() ? method() : "full";
    timings_.chosen = pays() ? bestSeconds : timings_.full;
    timings_.setup = pays() ? bestSetup : 0;
    timings_.measured = tryInt8 || tryRanks;
    return report + " -> " + (pays() ? method() : "none pays: the full projection");
}

std::string CertifiedLens::reuseChoice(const Timings& earlier, const torch::Tensor& normed, int64_t tokenLayers) {
    torch::NoGradGuard noGrad;
    timings_ = earlier;
    const double samples = static_cast<double>(tokenLayers) / static_cast<double>(earlier.sampleTokens);
    char line[200];
    std::snprintf(line, sizeof line, "from the cache: full projection %.1f ms, %s %.1f ms, set-up %.2f s", earlier.full * 1e3,
                  earlier.method.c_str(), earlier.chosen * 1e3, earlier.setup);
    std::string report = line;
    const bool pays = earlier.method != "full" && samples * (earlier.full - earlier.chosen) > earlier.setup;
    const int D = static_cast<int>(head_.size(1));
    int rank = 0;
    if (pays && earlier.method == "int8" && Int8Projection::available()) {
        const auto t0 = std::chrono::steady_clock::now();
        if (int8Checked(normed, report)) {
            std::snprintf(line, sizeof line, "; int8 set-up and check %.2f s",
                          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
            return report + line + " -> int8";
        }
    } else if (pays && std::sscanf(earlier.method.c_str(), "rank %d", &rank) == 1 && rank >= 1 && rank < D) {
        setRank(rank);
        return report + " -> " + method();
    }
    useInt8_ = false;
    rank_ = 0;
    timings_.method = "full";
    return report + " -> " + (pays ? "not usable here: the full projection" : "too short a run to pay: the full projection");
}

}  // namespace ls
