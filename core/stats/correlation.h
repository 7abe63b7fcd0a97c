#pragma once
// Correlation coefficients, computed in double.
//   pearson:  np.corrcoef(x, y)[0, 1]
//   spearman: Pearson correlation of the ranks, ties get their average rank
//             (scipy.stats.spearmanr).
// x and y must have the same length (else ls::Error). Pairs where either value is NaN
// are left out. Fewer than 2 pairs, or a constant x or y, give NaN (as numpy does).
#include <vector>

namespace ls {

double pearson(const std::vector<float>& x, const std::vector<float>& y);
double pearson(const std::vector<double>& x, const std::vector<double>& y);

double spearman(const std::vector<float>& x, const std::vector<float>& y);
double spearman(const std::vector<double>& x, const std::vector<double>& y);

// Kendall's tau-b (scipy.stats.kendalltau's default): (concordant - discordant) /
// sqrt((n0 - ties in x) (n0 - ties in y)) over all pairs; O(n^2), for up to a few thousand
// values (head rankings). NaN for fewer than 2 values or a constant x or y.
double kendall(const std::vector<double>& x, const std::vector<double>& y);

// 1-based ranks, ties averaged (scipy.stats.rankdata(method="average")). No NaNs allowed.
std::vector<double> averageRanks(const std::vector<double>& values);

}  // namespace ls
