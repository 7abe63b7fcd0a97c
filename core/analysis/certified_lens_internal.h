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
// rows), then the per-row bound on what passes. The method is chosen by the run's expected
// total cost: its set-up (quantising the head, the Gram matrix) plus the run's token-layers
// at the per-token cost timed on a sample, against the full float32 projections; a short run
// keeps the full projection without trying anything. The choice and its timings are kept in
// the cache (common/cache_dir.h) by model and machine, so a second run on the model repeats
// none of the timing.
#include <torch/torch.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ls {

class Int8Projection;

class CertifiedLens {
public:
    explicit CertifiedLens(const torch::Tensor& head);  // (V, D) float32, kept by reference
    ~CertifiedLens();

    // What a choice measured, per sample of M normed states (the cache keeps it).
    struct Timings {
        int64_t sampleTokens = 0;
        double full = 0;         // seconds for the full float32 projection of the sample and its argmax
        std::string method;      // the choice: "int8", "rank R" or "full"
        double chosen = 0;       // seconds for the chosen method's top-1 of the sample
        double setup = 0;        // seconds the chosen method's set-up took (quantising, Gram matrix, check)
        bool measured = false;   // methods were timed (a run too short to try any decides nothing for others)
    };

    // For a run that will project tokenLayers normed states: times int8 (when available) and
    // ranks D/2, D/4, ... 16 against the full float32 projection on normed states (M, D) and
    // keeps the method of least total cost (none when nothing beats the full projection, or
    // the run is too short for trying to pay). Returns a line for logs / benchmarks.
    std::string chooseMethod(const torch::Tensor& normed, int64_t tokenLayers);
    // The same choice from an earlier run's timings on this model and machine: the method again
    // when it pays for this run's length (int8 is checked against float64 logits on normed
    // first; normed may be undefined for any other method).
    std::string reuseChoice(const Timings& earlier, const torch::Tensor& normed, int64_t tokenLayers);
    const Timings& timings() const { return timings_; }
    void setRank(int rank);  // the low-rank method at this rank, 1..D; 0 or out of range = D
    void setInt8();          // the int8 method; needs Int8Projection::available()
    bool pays() const;       // a method cheaper than the full projection was chosen
    std::string method() const;  // "int8", "rank 64", or "full projection"

    // How many of the current method's approximate logits for normed (M <= 256, D) lie
    // outside their bound, against float64 logits: 0 unless the arithmetic breaks its assumptions.
    // (The float32 projection clears nearly every logit; the others get float64 dots.)
    int64_t logitsOutsideBound(const torch::Tensor& normed);

    // normed (M, D) float32 -> exact top-1 (M) int64
    torch::Tensor top1(const torch::Tensor& normed);
    // The same when the full float32 logits (M, V) = W normed are there anyway (the final layer,
    // for the loss): they are the approximation, with the float32 GEMM's error bound
    // |fl(w_i . x) - w_i . x| <= gamma_D ||w_i|| ||x||, so only near-ties get exact dots.
    torch::Tensor top1(const torch::Tensor& normed, const torch::Tensor& logits);

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
    const torch::Tensor& eigenvectors();  // computed on first use: only the low-rank method needs them
    bool int8Checked(const torch::Tensor& normed, std::string& report);  // the bound holds on part of the sample
    Approximation approximate(const torch::Tensor& normed);  // by the current method, M <= 256
    Approximation fullProjection(const torch::Tensor& normed, const torch::Tensor& logits);  // (M, V) given
    const torch::Tensor& float32Bound();  // (V): 2 gamma_D ||w_i||, rounded up (float32 GEMM's error per ||x||)
    // Undefined when maxPerToken > 0 and the cheap filter passes more rows than that for a token.
    // logits: the full float32 projection of normed, used as the approximation when given.
    torch::Tensor top1Checked(const torch::Tensor& normed, int64_t maxPerToken = 0, const torch::Tensor& fullLogits = {});

    torch::Tensor head_;            // (V, D) float32, the model's
    torch::Tensor eigenvectors_;    // (D, D) float64, columns by descending eigenvalue
    torch::Tensor rowNorms2_;       // (V) float64: ||w_i||^2
    torch::Tensor float32Bound_;    // (V) float32: 2 gamma_D ||w_i||, rounded up; computed on first use
    std::vector<Factors> cache_;
    Timings timings_;
    std::unique_ptr<Int8Projection> int8_;
    bool useInt8_ = false;
    int rank_ = 0;                  // the low-rank method's, when not int8; 0 = full projection
    int64_t tokens_ = 0, candidates_ = 0;
};

// The cache entry (common/cache_dir.h) of the lens's choice for this model (its content hash)
// on this machine: the timings depend on the CPU and the thread count as much as on the head.
std::string lensChoiceCacheKey(const std::string& modelHash, int64_t vocabSize, int64_t hiddenSize);
// An earlier choice under that key; nothing when there is none or the entry does not read as one
// (the caller chooses again and replaces it).
std::optional<CertifiedLens::Timings> cachedLensChoice(const std::string& key);
void cacheLensChoice(const std::string& key, const CertifiedLens::Timings& timings);

}  // namespace ls
