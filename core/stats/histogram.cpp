#include "stats/histogram.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <sstream>

#include "common/error.h"

namespace ls {

double Histogram::edge(int i) const {
    const int bins = int(counts.size());
    if (i >= bins) return hi;  // np.linspace sets the last edge to stop exactly
    return double(i) * ((hi - lo) / double(bins)) + lo;
}

int64_t Histogram::total() const {
    return std::accumulate(counts.begin(), counts.end(), int64_t(0));
}

Histogram histogram(const std::vector<float>& values, int bins, double lo, double hi) {
    if (bins < 1) throw Error("histogram: bins must be at least 1, got " + std::to_string(bins));
    if (!(std::isfinite(lo) && std::isfinite(hi)) || lo > hi) {
        std::ostringstream message;
        message << "histogram: range [" << lo << ", " << hi << "] must be finite with lo <= hi";
        throw Error(message.str());
    }
    if (lo == hi) {  // numpy widens an empty range instead of dividing by zero
        lo -= 0.5;
        hi += 0.5;
    }
    Histogram h;
    h.lo = lo;
    h.hi = hi;
    h.counts.assign(size_t(bins), 0);

    // numpy's fast path for equal bins: scale to a bin index, then fix the index by
    // comparing with the actual edges (the scaling can be 1 ulp off at an edge).
    const double norm = double(bins) / (hi - lo);
    for (float value : values) {
        const double v = value;
        if (!(v >= lo && v <= hi)) continue;  // outside the range, or NaN
        int i = int((v - lo) * norm);
        if (i >= bins) i = bins - 1;  // v == hi belongs to the last bin
        if (v < h.edge(i)) --i;
        else if (i != bins - 1 && v >= h.edge(i + 1)) ++i;
        ++h.counts[size_t(i)];
    }
    return h;
}

Histogram histogram(const std::vector<float>& values, int bins) {
    double lo = 0, hi = 1;  // numpy's range for empty input
    bool any = false;
    for (float v : values) {
        if (!std::isfinite(v)) continue;
        lo = any ? std::min(lo, double(v)) : v;
        hi = any ? std::max(hi, double(v)) : v;
        any = true;
    }
    return histogram(values, bins, lo, hi);
}

}  // namespace ls
