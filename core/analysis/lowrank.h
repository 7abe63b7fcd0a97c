#pragma once
// The low-rank output head (spec section 2, seed 000): W = U S V^T, W_r keeps the top r
// singular values. Plain C++: the capture pass did the SVD and counted; this summarises.
#include <cstdint>
#include <vector>

#include "analysis/analysis_result.h"
#include "io/table.h"

namespace ls {

struct CaptureResult;

struct LowRankParams {
    std::vector<int> ranks;  // empty = 8, 16, ... < dim, and dim
};

struct LowRankRow {
    int rank = 0;
    double coverage = 0;         // sum_{i<=r} s_i / sum_i s_i
    double energyCoverage = 0;   // the same with s_i^2
    double agreementFinal = 0;   // fraction with argmax W_r x_L == argmax W x_L
    double agreementLayer = 0;   // the same at the chosen layer
    double precision = 0, recall = 0, f1 = 0;  // low-rank saturation detection (NaN if undefined)
};

struct LowRankSpeed {
    int rank = 0;
    int64_t tokens = 0;
    double fullMs = 0, factoredMs = 0;
    double speedup = 0;  // fullMs / factoredMs
};

struct LowRankResult : AnalysisResult {
    int layer = 0;                        // the chosen layer
    std::vector<double> singularValues;   // descending
    std::vector<double> coverage;         // [r-1] for every r = 1..rank(W)
    std::vector<double> energyCoverage;   // [r-1]
    std::vector<LowRankRow> rows;         // the requested ranks
    std::vector<LowRankSpeed> speed;
};

// Throws ls::Error if the capture holds no low-rank data.
LowRankResult analyseLowRank(const CaptureResult& capture, int layer);

// lowrank, lowrank_speed, lowrank_singular_values.
std::vector<Table> lowRankTables(const LowRankResult& result);

}  // namespace ls
