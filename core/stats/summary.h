#pragma once
// Summary statistics of a list of values, exact to numpy (computed in double).
//   - std is the population standard deviation (ddof = 0), numpy's np.std default;
//   - quantiles use numpy's default "linear" method (Hyndman & Fan type 7);
//   - NaN values are ignored everywhere (like np.nanmean / np.nanpercentile);
//     count is the number of values used. Infinities are kept: mean/std become inf or NaN
//     as in numpy, q = 0 and q = 1 give min and max exactly (numpy may give NaN there).
#include <cstdint>
#include <vector>

namespace ls {

struct Summary {
    int64_t count = 0;  // values used (NaNs excluded); 0 means every field below is NaN
    double mean = 0, std = 0;
    double min = 0, p10 = 0, p25 = 0, p50 = 0, p75 = 0, p90 = 0, max = 0;
};

Summary summarize(const std::vector<float>& values);

// The q-quantile, q in [0, 1] (np.quantile(values, q), linear interpolation).
// Empty (or all-NaN) input gives NaN; q outside [0, 1] throws ls::Error.
double quantile(std::vector<float> values, double q);

// Same on values already sorted ascending and free of NaN (no copy, no sort).
double quantileSorted(const std::vector<float>& sorted, double q);

}  // namespace ls
