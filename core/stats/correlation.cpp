#include "stats/correlation.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "common/error.h"

namespace ls {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The pairs (x[i], y[i]) with no NaN, in double.
template <typename T>
void validPairs(const std::vector<T>& x, const std::vector<T>& y, std::vector<double>& outX,
                std::vector<double>& outY) {
    if (x.size() != y.size())
        throw Error("correlation: x has " + std::to_string(x.size()) + " values but y has " +
                    std::to_string(y.size()));
    outX.clear();
    outY.clear();
    outX.reserve(x.size());
    outY.reserve(y.size());
    for (size_t i = 0; i < x.size(); ++i) {
        if (std::isnan(x[i]) || std::isnan(y[i])) continue;
        outX.push_back(double(x[i]));
        outY.push_back(double(y[i]));
    }
}

// Pearson correlation of NaN-free, equal-length data (two passes).
double pearsonClean(const std::vector<double>& x, const std::vector<double>& y) {
    const size_t n = x.size();
    if (n < 2) return kNaN;
    const double meanX = std::accumulate(x.begin(), x.end(), 0.0) / double(n);
    const double meanY = std::accumulate(y.begin(), y.end(), 0.0) / double(n);
    double sxy = 0, sxx = 0, syy = 0;
    for (size_t i = 0; i < n; ++i) {
        const double dx = x[i] - meanX, dy = y[i] - meanY;
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if (sxx == 0 || syy == 0) return kNaN;  // a constant variable has no correlation
    const double r = sxy / std::sqrt(sxx * syy);
    return std::clamp(r, -1.0, 1.0);  // rounding can step just past +-1
}

template <typename T>
double pearsonImpl(const std::vector<T>& x, const std::vector<T>& y) {
    std::vector<double> cx, cy;
    validPairs(x, y, cx, cy);
    return pearsonClean(cx, cy);
}

template <typename T>
double spearmanImpl(const std::vector<T>& x, const std::vector<T>& y) {
    std::vector<double> cx, cy;
    validPairs(x, y, cx, cy);
    return pearsonClean(averageRanks(cx), averageRanks(cy));
}

}  // namespace

std::vector<double> averageRanks(const std::vector<double>& values) {
    const size_t n = values.size();
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), size_t(0));
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] < values[b]; });
    std::vector<double> ranks(n);
    for (size_t begin = 0; begin < n;) {
        size_t end = begin + 1;
        while (end < n && values[order[end]] == values[order[begin]]) ++end;
        // sorted positions [begin, end) tie: ranks begin+1 .. end, averaged
        const double rank = 0.5 * double(begin + 1 + end);
        for (size_t k = begin; k < end; ++k) ranks[order[k]] = rank;
        begin = end;
    }
    return ranks;
}

double pearson(const std::vector<float>& x, const std::vector<float>& y) { return pearsonImpl(x, y); }
double pearson(const std::vector<double>& x, const std::vector<double>& y) { return pearsonImpl(x, y); }
double spearman(const std::vector<float>& x, const std::vector<float>& y) { return spearmanImpl(x, y); }
double spearman(const std::vector<double>& x, const std::vector<double>& y) { return spearmanImpl(x, y); }

double kendall(const std::vector<double>& x, const std::vector<double>& y) {
    if (x.size() != y.size()) throw Error("kendall: x and y have different lengths");
    const size_t n = x.size();
    double concordant = 0, discordant = 0, tiesX = 0, tiesY = 0;
    for (size_t i = 0; i < n; ++i) {
        for (size_t j = i + 1; j < n; ++j) {
            const double dx = x[i] - x[j], dy = y[i] - y[j];
            if (dx == 0 && dy == 0) continue;  // tied in both: counts in neither denominator term
            if (dx == 0) ++tiesX;
            else if (dy == 0) ++tiesY;
            else if ((dx > 0) == (dy > 0)) ++concordant;
            else ++discordant;
        }
    }
    const double denominator = std::sqrt((concordant + discordant + tiesX) * (concordant + discordant + tiesY));
    return denominator > 0 ? (concordant - discordant) / denominator : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace ls
