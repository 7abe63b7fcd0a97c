#include "histogram.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace ls::widgets {

int64_t HistogramBins::total() const {
    return std::accumulate(counts.begin(), counts.end(), int64_t{0});
}

int64_t HistogramBins::maxCount() const {
    return counts.empty() ? 0 : *std::max_element(counts.begin(), counts.end());
}

HistogramBins binValues(const std::vector<double>& values, int binCount) {
    HistogramBins bins;
    bool any = false;
    for (double v : values) {
        if (!std::isfinite(v)) {
            ++bins.skipped;
            continue;
        }
        bins.lo = any ? std::min(bins.lo, v) : v;
        bins.hi = any ? std::max(bins.hi, v) : v;
        any = true;
    }
    if (!any)
        return bins;
    if (bins.hi == bins.lo) {
        bins.lo -= 0.5;
        bins.hi += 0.5;
    }
    bins.counts.assign(std::max(binCount, 1), 0);
    const double scale = bins.size() / (bins.hi - bins.lo);
    for (double v : values) {
        if (!std::isfinite(v))
            continue;
        // Clamp: hi itself (and rounding just below it) belongs to the last bin.
        const int i = std::min(static_cast<int>((v - bins.lo) * scale), bins.size() - 1);
        ++bins.counts[std::max(i, 0)];
    }
    return bins;
}

ValueSummary summarize(const std::vector<double>& values) {
    std::vector<double> finite;
    finite.reserve(values.size());
    std::copy_if(values.begin(), values.end(), std::back_inserter(finite),
                 [](double v) { return std::isfinite(v); });
    ValueSummary s;
    s.count = static_cast<int64_t>(finite.size());
    if (finite.empty())
        return s;
    s.mean = std::accumulate(finite.begin(), finite.end(), 0.0) / finite.size();
    const auto [mn, mx] = std::minmax_element(finite.begin(), finite.end());
    s.min = *mn;
    s.max = *mx;
    // Median by partial sort: the upper middle, and for even counts the largest value
    // below it (the max of the lower half).
    const size_t mid = finite.size() / 2;
    std::nth_element(finite.begin(), finite.begin() + mid, finite.end());
    s.median = finite[mid];
    if (finite.size() % 2 == 0)
        s.median = 0.5 * (s.median + *std::max_element(finite.begin(), finite.begin() + mid));
    return s;
}

}  // namespace ls::widgets
