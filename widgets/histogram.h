#pragma once
// Histogram binning and summary numbers for the views. Plain C++: the widgets library
// does not depend on core, so it carries its own (small, exact) versions of these.
#include <cstdint>
#include <vector>

namespace ls::widgets {

// Equal-width bins over [lo, hi]. Bin i covers [lo + i*w, lo + (i+1)*w); the last bin
// also holds hi, so every finite value lands in exactly one bin.
struct HistogramBins {
    double lo = 0.0;
    double hi = 0.0;
    std::vector<int64_t> counts;  // (bins,)
    int64_t skipped = 0;          // non-finite values (NaN, inf), not counted

    int size() const { return static_cast<int>(counts.size()); }
    double width() const { return counts.empty() ? 0.0 : (hi - lo) / counts.size(); }
    double binLo(int i) const { return lo + i * width(); }
    double binHi(int i) const { return i + 1 == size() ? hi : lo + (i + 1) * width(); }
    double binCenter(int i) const { return 0.5 * (binLo(i) + binHi(i)); }
    int64_t total() const;
    int64_t maxCount() const;
};

// Bins the finite values into binCount (>= 1) bins spanning [min, max]. If all values are
// equal the range is widened to [v - 0.5, v + 0.5] so the bar has a visible width.
// No finite values -> empty counts.
HistogramBins binValues(const std::vector<double>& values, int binCount);

struct ValueSummary {
    int64_t count = 0;   // finite values
    double mean = 0.0;
    double median = 0.0; // mean of the two middle values for an even count
    double min = 0.0;
    double max = 0.0;
};

// Summary of the finite values (all zero if there are none).
ValueSummary summarize(const std::vector<double>& values);

}  // namespace ls::widgets
