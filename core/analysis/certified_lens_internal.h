#pragma once
// The logit lens's top-1, argmax_i w_i . x over the head's V rows, exactly, for less than the
// full (V x D) projection (core .cpp files only: LibTorch).
//
// Two cheap approximations of every logit, each with a per-logit error bound of the form
//   |w_i . x_t - approx_ti| <= rowA_i tokenA_t + rowB_i tokenB_t:
// - low rank: with V_r (D, r), the top r eigenvectors of W^T W (the head's right singular
//   vectors), w_i . x = P_i . y + w_i⊥ . x⊥ (P = W V_r, y = V_r^T x), |w_i⊥ . x⊥| <=
//   ||w_i⊥|| ||x⊥|| (Cauchy-Schwarz), plus the float32 rounding of P_i . y. Pays when the head's
//   spectrum decays;
// - int8 (int8_projection_internal.h): W and x quantised per row, summed exactly in int32, with
//   the quantisation errors' norms as the bound. Pays on any head where the CPU has VNNI.
// A row whose upper bound reaches the best lower bound is a candidate; candidates get an exact
// float64 dot product, and the top-1 is the exact argmax (ties: the lowest index), which equals
// the float64 full projection's (the float32 full projection may differ from it on near-ties
// within its rounding error). A cheap filter first uses one radius per token (the largest over
// rows), then the per-row bound on what passes. The method is chosen by timing on a sample;
// when none beats the full float32 projection (a tiny head, or a flat spectrum without VNNI),
// callers use that instead.
#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

namespace ls {

class Int8Projection;

class CertifiedLens {
public:
    explicit CertifiedLens(const torch::Tensor& head);  // (V, D) float32, kept by reference
    ~CertifiedLens();

    // Times int8 (when available) and ranks D/2, D/4, ... 16 against the full float32
    // projection on normed states (M, D) and keeps the fastest; none when nothing beats it.
    // Returns a line for logs / benchmarks.
    std::string chooseMethod(const torch::Tensor& normed);
    void setRank(int rank);  // the low-rank method at this rank, 1..D; 0 or out of range = D
    void setInt8();          // the int8 method; needs Int8Projection::available()
    bool pays() const;       // a method cheaper than the full projection was chosen
    std::string method() const;  // "int8", "rank 64", or "full projection"

    // How many of the current method's approximate logits for normed (M <= 256, D) lie
    // outside their bound, against float64 logits: 0 unless the arithmetic breaks its assumptions.
    int64_t logitsOutsideBound(const torch::Tensor& normed);

    // normed (M, D) float32 -> exact top-1 (M) int64
    torch::Tensor top1(const torch::Tensor& normed);

    // Running totals since construction: tokens seen, exact dot products done.
    int64_t tokens() const { return tokens_; }
    int64_t candidates() const { return candidates_; }

private:
    struct Factors {  // the low-rank approximation at one rank
        int rank = 0;
        torch::Tensor basis;      // (D, r) float64: V_r
        torch::Tensor projected;  // (V, r) float32: W V_r
        torch::Tensor residual;   // (V) float32: ||w_i⊥||, rounded up (rowA)
        torch::Tensor rounding;   // (V) float32: 2 (r + 2) u ||P_i|| (rowB)
    };
    // One chunk of tokens' approximate logits and bound terms; approx_ti = logits_ti scale_t.
    struct Approximation {
        torch::Tensor logits;                  // (M, V) float32
        torch::Tensor scale, tokenA, tokenB;   // (M) float64
        torch::Tensor rowA, rowB;              // (V) float32
    };
    const Factors& factors(int rank);
    Approximation approximate(const torch::Tensor& normed);  // by the current method, M <= 256
    // Undefined when maxPerToken > 0 and the cheap filter passes more rows than that for a token.
    torch::Tensor top1Checked(const torch::Tensor& normed, int64_t maxPerToken = 0);

    torch::Tensor head_;            // (V, D) float32, the model's
    torch::Tensor eigenvectors_;    // (D, D) float64, columns by descending eigenvalue
    torch::Tensor rowNorms2_;       // (V) float64: ||w_i||^2
    std::vector<Factors> cache_;
    std::unique_ptr<Int8Projection> int8_;
    bool useInt8_ = false;
    int rank_ = 0;                  // the low-rank method's, when not int8; 0 = full projection
    int64_t tokens_ = 0, candidates_ = 0;
};

}  // namespace ls
