#include "stats/summary.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>

#include "common/error.h"

namespace ls {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

void removeNaNs(std::vector<float>& values) {
    values.erase(std::remove_if(values.begin(), values.end(), [](float v) { return std::isnan(v); }),
                 values.end());
}

void requireProbability(double q) {
    if (!(q >= 0.0 && q <= 1.0)) {  // also rejects NaN
        std::ostringstream message;
        message << "quantile: q must be in [0, 1], got " << q;
        throw Error(message.str());
    }
}

}  // namespace

double quantileSorted(const std::vector<float>& sorted, double q) {
    requireProbability(q);
    if (sorted.empty()) return kNaN;
    // numpy "linear": virtual index (n - 1) q between neighbours a and b, weight t.
    const double index = double(sorted.size() - 1) * q;
    const size_t below = size_t(std::floor(index));
    const size_t above = std::min(below + 1, sorted.size() - 1);
    const double t = index - double(below);
    const double a = sorted[below], b = sorted[above];
    if (t == 0) return a;  // on a data point (also keeps +-inf exact at q = 0 and 1)
    // numpy's _lerp: interpolate from the nearer end so that t = 1 gives b exactly.
    const double diff = b - a;
    return t >= 0.5 ? b - diff * (1.0 - t) : a + diff * t;
}

double quantile(std::vector<float> values, double q) {
    requireProbability(q);
    removeNaNs(values);
    std::sort(values.begin(), values.end());
    return quantileSorted(values, q);
}

Summary summarize(const std::vector<float>& values) {
    std::vector<float> sorted = values;
    removeNaNs(sorted);
    std::sort(sorted.begin(), sorted.end());

    Summary s;
    s.count = int64_t(sorted.size());
    if (sorted.empty()) {
        s.mean = s.std = s.min = s.p10 = s.p25 = s.p50 = s.p75 = s.p90 = s.max = kNaN;
        return s;
    }
    // Two passes in double; the second sums the residuals again to cancel the
    // rounding error of the mean (the "corrected two-pass" algorithm).
    const double n = double(sorted.size());
    double sum = 0;
    for (float v : sorted) sum += v;
    s.mean = sum / n;
    double squares = 0, residuals = 0;
    for (float v : sorted) {
        const double d = double(v) - s.mean;
        squares += d * d;
        residuals += d;
    }
    const double variance = (squares - residuals * residuals / n) / n;  // population (ddof = 0)
    s.std = std::sqrt(std::max(variance, 0.0));

    s.min = sorted.front();
    s.max = sorted.back();
    s.p10 = quantileSorted(sorted, 0.10);
    s.p25 = quantileSorted(sorted, 0.25);
    s.p50 = quantileSorted(sorted, 0.50);
    s.p75 = quantileSorted(sorted, 0.75);
    s.p90 = quantileSorted(sorted, 0.90);
    return s;
}

}  // namespace ls
