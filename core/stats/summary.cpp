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

// numpy "linear": the q-quantile of n sorted values lies at virtual index (n - 1) q,
// between positions below and above, with weight t on above.
struct Interpolation {
    size_t below, above;
    double t;
};

Interpolation interpolation(size_t n, double q) {
    const double index = double(n - 1) * q;
    const size_t below = size_t(std::floor(index));
    return {below, std::min(below + 1, n - 1), index - double(below)};
}

// Moves the values that a full sort would put at `positions` there (and everything smaller
// before them): the quantiles read only those positions, and this is O(n) per position
// instead of a sort.
void selectPositions(std::vector<float>& values, std::vector<size_t> positions) {
    std::sort(positions.begin(), positions.end());
    auto first = values.begin();
    for (size_t p : positions) {
        if (values.begin() + std::ptrdiff_t(p) < first) continue;  // already in place
        std::nth_element(first, values.begin() + std::ptrdiff_t(p), values.end());
        first = values.begin() + std::ptrdiff_t(p) + 1;
    }
}

}  // namespace

double quantileSorted(const std::vector<float>& sorted, double q) {
    requireProbability(q);
    if (sorted.empty()) return kNaN;
    const Interpolation at = interpolation(sorted.size(), q);
    const double a = sorted[at.below], b = sorted[at.above];
    if (at.t == 0) return a;  // on a data point (also keeps +-inf exact at q = 0 and 1)
    // numpy's _lerp: interpolate from the nearer end so that t = 1 gives b exactly.
    const double diff = b - a;
    return at.t >= 0.5 ? b - diff * (1.0 - at.t) : a + diff * at.t;
}

double quantile(std::vector<float> values, double q) {
    requireProbability(q);
    removeNaNs(values);
    if (values.empty()) return kNaN;
    const Interpolation at = interpolation(values.size(), q);
    selectPositions(values, {at.below, at.above});
    return quantileSorted(values, q);  // reads only below and above
}

Summary summarize(const std::vector<float>& values) {
    std::vector<float> v = values;
    removeNaNs(v);

    Summary s;
    s.count = int64_t(v.size());
    if (v.empty()) {
        s.mean = s.std = s.min = s.p10 = s.p25 = s.p50 = s.p75 = s.p90 = s.max = kNaN;
        return s;
    }
    // Two passes in double; the second sums the residuals again to cancel the
    // rounding error of the mean (the "corrected two-pass" algorithm).
    const double n = double(v.size());
    double sum = 0;
    for (float x : v) sum += x;
    s.mean = sum / n;
    double squares = 0, residuals = 0;
    for (float x : v) {
        const double d = double(x) - s.mean;
        squares += d * d;
        residuals += d;
    }
    const double variance = (squares - residuals * residuals / n) / n;  // population (ddof = 0)
    s.std = std::sqrt(std::max(variance, 0.0));

    const double qs[] = {0.10, 0.25, 0.50, 0.75, 0.90};
    std::vector<size_t> positions = {0, v.size() - 1};
    for (double q : qs) {
        const Interpolation at = interpolation(v.size(), q);
        positions.push_back(at.below);
        positions.push_back(at.above);
    }
    selectPositions(v, positions);
    s.min = v.front();
    s.max = v.back();
    s.p10 = quantileSorted(v, qs[0]);
    s.p25 = quantileSorted(v, qs[1]);
    s.p50 = quantileSorted(v, qs[2]);
    s.p75 = quantileSorted(v, qs[3]);
    s.p90 = quantileSorted(v, qs[4]);
    return s;
}

}  // namespace ls
