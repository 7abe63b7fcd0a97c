#pragma once
// Fixed-width histograms, exact to numpy.histogram(values, bins, range=(lo, hi)):
// bins + 1 edges from np.linspace(lo, hi, bins + 1); bin i is [edge i, edge i+1) except the
// last, which is closed on the right. Values outside [lo, hi] and NaNs are not counted.
// Computed in double: the same counts as numpy on the values cast to float64.
#include <cstdint>
#include <vector>

namespace ls {

struct Histogram {
    double lo = 0, hi = 1;        // the range actually used (see lo == hi below)
    std::vector<int64_t> counts;  // (bins,)
    double binWidth() const { return counts.empty() ? 0.0 : (hi - lo) / double(counts.size()); }
    // Left edge of bin i; edge(bins) == hi. Same values as np.linspace(lo, hi, bins + 1).
    double edge(int i) const;
    int64_t total() const;
};

// bins >= 1 and finite lo <= hi, else ls::Error. As numpy does, lo == hi widens the
// range to [lo - 0.5, hi + 0.5].
Histogram histogram(const std::vector<float>& values, int bins, double lo, double hi);

// Range from the finite values' min and max (numpy's default range; empty input gives
// [0, 1]). Infinities and NaNs are left out of the range and of the counts.
Histogram histogram(const std::vector<float>& values, int bins);

}  // namespace ls
