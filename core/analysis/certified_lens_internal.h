#pragma once
// The logit lens's top-1, argmax_i w_i . x over the head's V rows, exactly, for less than the
// full (V x D) projection (core .cpp files only: LibTorch).
//
// With V_r (D, r), the top r eigenvectors of W^T W (the head's right singular vectors), every
// row splits as w_i = w_i V_r V_r^T + w_i⊥, and so does x, hence
//   w_i . x = P_i . y + w_i⊥ . x⊥,   P = W V_r (V, r),  y = V_r^T x (r),
//   |w_i⊥ . x⊥| <= ||w_i⊥|| ||x⊥||                       (Cauchy-Schwarz)
// plus a bound on float32 rounding of P_i . y. A row whose upper bound reaches the best lower
// bound is a candidate; candidates get an exact float64 dot product, and the top-1 is the
// exact argmax (ties: the lowest index), which equals the float64 full projection's (the
// float32 full projection may differ from it on near-ties within its rounding error).
// A cheap filter first uses one radius per token (the largest over rows), then the per-row
// bound on what passes. The rank is chosen by timing on a sample; when no rank beats the
// full float32 projection (a head with a flat spectrum, random weights; a tiny head), callers
// use that instead. With rank D the method is exact at the full projection's cost.
#include <torch/torch.h>

#include <string>
#include <vector>

namespace ls {

class CertifiedLens {
public:
    explicit CertifiedLens(const torch::Tensor& head);  // (V, D) float32, kept by reference

    // Times ranks 16, 32, ... D/2 against the full float32 projection on normed states (M, D)
    // and keeps the fastest; rank 0 when none beats it. Returns a line for logs / benchmarks.
    std::string chooseRank(const torch::Tensor& normed);
    void setRank(int rank);  // 1..D; 0 or out of range = D
    int rank() const { return rank_; }
    bool pays() const { return rank_ > 0 && rank_ < head_.size(1); }  // cheaper than the full projection

    // normed (M, D) float32 -> exact top-1 (M) int64
    torch::Tensor top1(const torch::Tensor& normed);

    // Running totals since construction: tokens seen, exact dot products done.
    int64_t tokens() const { return tokens_; }
    int64_t candidates() const { return candidates_; }

private:
    struct Factors {
        int rank = 0;
        torch::Tensor basis;      // (D, r) float64: V_r
        torch::Tensor projected;  // (V, r) float32: W V_r
        torch::Tensor residual;   // (V) float32: ||w_i⊥||, rounded up, + the rounding term's factor
        torch::Tensor rounding;   // (V) float32: 2 (r + 2) u ||P_i||
        float maxResidual = 0, maxRounding = 0;
    };
    const Factors& factors(int rank);
    // Undefined when maxPerToken > 0 and the cheap filter passes more pairs than that per token.
    torch::Tensor top1With(const Factors& f, const torch::Tensor& normed, int64_t maxPerToken = 0);

    torch::Tensor head_;            // (V, D) float32, the model's
    torch::Tensor eigenvectors_;    // (D, D) float64, columns by descending eigenvalue
    torch::Tensor rowNorms2_;       // (V) float64: ||w_i||^2
    std::vector<Factors> cache_;
    int rank_ = 0;
    int64_t tokens_ = 0, candidates_ = 0;
};

}  // namespace ls
