// core/stats against numpy: every data row is generated and evaluated by numpy
// (LAYERSCOPE_PYTHON), then recomputed here from the same float32 values.
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QtTest>

#include <cmath>
#include <limits>

#include "common/error.h"
#include "common/progress.h"
#include "test_support.h"
#include "stats/correlation.h"
#include "stats/histogram.h"
#include "stats/summary.h"

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Builds x and y (float32) from the row's expressions and prints numpy's answers as JSON.
// References use float64 copies of the float32 values, as the C++ side does.
const char* kReferenceScript = R"PY(
import json, sys
import numpy as np
rng = np.random.default_rng(int(sys.argv[1]))
nan = np.nan
x = np.asarray(eval(sys.argv[2]), dtype=np.float32).astype(np.float64)
y = np.asarray(eval(sys.argv[3]), dtype=np.float32).astype(np.float64)
bins, lo, hi = int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6])
qs = [float(q) for q in sys.argv[7].split(',')]

def num(v):  # JSON has no NaN nor infinity
    v = float(v)
    return None if np.isnan(v) else (str(v) if np.isinf(v) else v)

def avg_ranks(v):  # plain average ranks (ties share the mean of their positions), 1-based
    order = sorted(range(len(v)), key=lambda i: v[i])
    ranks = [0.0] * len(v)
    i = 0
    while i < len(v):
        j = i
        while j + 1 < len(v) and v[order[j + 1]] == v[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return ranks

def corr(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if len(a) < 2 or a.std() == 0 or b.std() == 0:
        return None
    return num(np.corrcoef(a, b)[0, 1])

f = x[~np.isnan(x)]
out = {'x': [num(v) for v in x], 'y': [num(v) for v in y], 'count': len(f)}
if len(f):
    with np.errstate(invalid='ignore'):
        out.update(mean=num(f.mean()), std=num(f.std()), min=num(f.min()), max=num(f.max()),
                   pcts=[num(v) for v in np.percentile(f, [10, 25, 50, 75, 90])],
                   quantiles=[num(np.quantile(f, q)) for q in qs])
counts, edges = np.histogram(f, bins=bins, range=(lo, hi))
out['hist'] = {'counts': counts.tolist(), 'lo': float(edges[0]), 'hi': float(edges[-1]),
               'edges': edges.tolist()}
counts, edges = np.histogram(f[np.isfinite(f)], bins=bins)
out['histAuto'] = {'counts': counts.tolist(), 'lo': float(edges[0]), 'hi': float(edges[-1])}
if len(x) == len(y):
    m = ~np.isnan(x) & ~np.isnan(y)
    out['pearson'] = corr(x[m], y[m])
    out['spearman'] = corr(avg_ranks(list(x[m])), avg_ranks(list(y[m])))
print(json.dumps(out))
)PY";

QJsonObject runReference(int seed, const QString& x, const QString& y, int bins, double lo, double hi,
                         const QList<double>& qs, QString* error) {
    QStringList qText;
    for (double q : qs) qText << QString::number(q, 'g', 17);
    QProcess python;
    python.start(LAYERSCOPE_PYTHON, {"-c", kReferenceScript, QString::number(seed), x, y, QString::number(bins),
                                     QString::number(lo, 'g', 17), QString::number(hi, 'g', 17), qText.join(',')});
    if (!python.waitForFinished(120000) || python.exitCode() != 0) {
        *error = "python failed: " + QString::fromUtf8(python.readAllStandardError());
        return {};
    }
    const QJsonDocument doc = QJsonDocument::fromJson(python.readAllStandardOutput());
    if (!doc.isObject()) *error = "python printed no JSON object";
    return doc.object();
}

// null is NaN, "inf" / "-inf" are infinities (JSON has neither)
double jsonNumber(const QJsonValue& v) {
    if (v.isNull()) return kNaN;
    if (v.isString()) return v.toString().startsWith('-') ? -INFINITY : INFINITY;
    return v.toDouble();
}

std::vector<float> floats(const QJsonArray& array) {
    std::vector<float> values;
    for (const QJsonValue& v : array) values.push_back(float(jsonNumber(v)));
    return values;
}

// |actual - expected| <= tolerance * max(1, scale); NaN matches NaN only, infinity itself only.
bool close(double actual, double expected, double tolerance, double scale = 1.0) {
    if (std::isnan(expected)) return std::isnan(actual);
    if (std::isinf(expected)) return actual == expected;
    return std::abs(actual - expected) <= tolerance * std::max({1.0, std::abs(expected), scale});
}

#define COMPARE_CLOSE(actual, expected, tolerance, scale)                                                    \
    QVERIFY2(close((actual), (expected), (tolerance), (scale)),                                                 \
             qPrintable(QStringLiteral("%1 = %2, numpy says %3").arg(#actual).arg((actual), 0, 'g', 17).arg((expected), 0, 'g', 17)))


}  // namespace

class TestStats : public QObject {
    Q_OBJECT

private slots:
    void againstNumpy_data();
    void againstNumpy();
    void emptyInput();
    void badArguments_data();
    void badArguments();
    void averageRanksByHand();
    void histogramEdgesByHand();
    void quantileWithInfinities();
    void progressPartsNest();
};

void TestStats::againstNumpy_data() {
    QTest::addColumn<int>("seed");
    QTest::addColumn<QString>("x");  // numpy expressions (rng is seeded), cast to float32
    QTest::addColumn<QString>("y");
    QTest::addColumn<int>("bins");
    QTest::addColumn<double>("lo");  // explicit histogram range
    QTest::addColumn<double>("hi");

    QTest::newRow("normal 1000") << 1 << "rng.normal(size=1000)" << "0.5 * x + rng.normal(size=1000)" << 10 << -2.0 << 2.0;
    QTest::newRow("normal 1001, wide range") << 2 << "rng.normal(size=1001)" << "rng.normal(size=1001)" << 7 << -10.0 << 10.0;
    QTest::newRow("uniform 10000") << 3 << "rng.uniform(-1, 1, size=10000)" << "x ** 3 + 0.1 * rng.uniform(size=10000)" << 50 << -1.0 << 1.0;
    QTest::newRow("small integer ties") << 4 << "rng.integers(0, 5, size=200)" << "rng.integers(0, 5, size=200)" << 5 << 0.0 << 4.0;
    QTest::newRow("ties on bin edges") << 5 << "rng.integers(0, 11, size=300)" << "-x + rng.integers(0, 3, size=300)" << 5 << 0.0 << 10.0;
    QTest::newRow("ties, one bin") << 6 << "rng.integers(-3, 3, size=50)" << "rng.integers(-3, 3, size=50) * x" << 1 << -3.0 << 2.0;
    QTest::newRow("one element") << 7 << "[3.5]" << "[1.0]" << 4 << 0.0 << 4.0;
    QTest::newRow("two elements") << 8 << "[1.0, 2.0]" << "[4.0, 2.0]" << 3 << 1.0 << 2.0;
    QTest::newRow("two equal elements") << 9 << "[2.0, 2.0]" << "[1.0, 3.0]" << 3 << 2.0 << 2.0;
    QTest::newRow("constant") << 10 << "[7.0] * 10" << "range(10)" << 4 << 6.0 << 8.0;
    QTest::newRow("large offset") << 11 << "1e4 + 1e-2 * rng.normal(size=2000)" << "x + 1e-2 * rng.normal(size=2000)" << 20 << 9999.95 << 10000.05;
    QTest::newRow("heavy tails") << 12 << "rng.standard_cauchy(size=500)" << "rng.standard_cauchy(size=500) + x" << 9 << -5.0 << 5.0;
    QTest::newRow("perfect monotone, not linear") << 13 << "rng.uniform(0, 3, size=100)" << "np.exp(x)" << 6 << 0.0 << 3.0;
    QTest::newRow("with NaNs") << 14 << "np.where(rng.uniform(size=300) < 0.1, nan, rng.normal(size=300))"
                               << "np.where(rng.uniform(size=300) < 0.1, nan, rng.normal(size=300))" << 8 << -3.0 << 3.0;
    QTest::newRow("with infinities") << 15 << "np.concatenate([rng.normal(size=50), [np.inf, -np.inf]])"
                                     << "rng.normal(size=52)" << 8 << -3.0 << 3.0;
    QTest::newRow("float32 rounding near edges") << 16 << "np.linspace(0, 1, 101)" << "1 - x" << 10 << 0.0 << 1.0;
}

void TestStats::againstNumpy() {
    QFETCH(int, seed);
    QFETCH(QString, x);
    QFETCH(QString, y);
    QFETCH(int, bins);
    QFETCH(double, lo);
    QFETCH(double, hi);
    const QList<double> qs = {0.0, 0.01, 1.0 / 3.0, 0.5, 0.9, 0.99, 1.0};

    QString error;
    const QJsonObject ref = runReference(seed, x, y, bins, lo, hi, qs, &error);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    const std::vector<float> xs = floats(ref["x"].toArray());
    const std::vector<float> ys = floats(ref["y"].toArray());
    const bool hasInfinity = std::any_of(xs.begin(), xs.end(), [](float v) { return std::isinf(v); });

    // summarize / quantile. Tolerances are relative to the data's magnitude.
    const ls::Summary s = ls::summarize(xs);
    QCOMPARE(s.count, ref["count"].toInteger());
    if (s.count > 0) {
        const double scale = hasInfinity ? 0.0 : std::max(std::abs(jsonNumber(ref["min"])), std::abs(jsonNumber(ref["max"])));
        COMPARE_CLOSE(s.mean, jsonNumber(ref["mean"]), 1e-12, scale);
        COMPARE_CLOSE(s.std, jsonNumber(ref["std"]), 1e-9, 0.0);
        QCOMPARE_NEAR(s.min, jsonNumber(ref["min"]), 0, 0);  // picks a value, no arithmetic: exact
        QCOMPARE_NEAR(s.max, jsonNumber(ref["max"]), 0, 0);
        const QJsonArray p = ref["pcts"].toArray();
        const double got[] = {s.p10, s.p25, s.p50, s.p75, s.p90};
        for (int i = 0; i < 5; ++i) COMPARE_CLOSE(got[i], jsonNumber(p[i]), 1e-12, scale);
        const QJsonArray q = ref["quantiles"].toArray();
        for (int i = 0; i < qs.size(); ++i) {
            // numpy's interpolation next to an infinity gives NaN for some q (even q = 0 or 1,
            // depending on n); ours gives the infinity: see quantileWithInfinities.
            if (hasInfinity && std::isnan(jsonNumber(q[i]))) continue;
            COMPARE_CLOSE(ls::quantile(xs, qs[i]), jsonNumber(q[i]), 1e-12, scale);
        }
    }

    // histograms: counts must be exact, including values on edges
    for (const bool automatic : {false, true}) {
        const QJsonObject h = ref[automatic ? "histAuto" : "hist"].toObject();
        const ls::Histogram mine = automatic ? ls::histogram(xs, bins) : ls::histogram(xs, bins, lo, hi);
        // The range's ends are given, or data values (numpy's +-0.5 widening is exact too).
        QCOMPARE_NEAR(mine.lo, h["lo"].toDouble(), 0, 0);
        QCOMPARE_NEAR(mine.hi, h["hi"].toDouble(), 0, 0);
        QList<qint64> expected, got(mine.counts.begin(), mine.counts.end());
        for (const QJsonValue& c : h["counts"].toArray()) expected << c.toInteger();
        QCOMPARE(got, expected);
        if (!automatic) {
            const QJsonArray edges = h["edges"].toArray();
            // np.linspace's formula, but a compiler may fuse it into one FMA: a few ulp of the range.
            const double ulps = 1e-15 * std::max(std::abs(mine.lo), std::abs(mine.hi));
            for (int i = 0; i <= bins; ++i) QCOMPARE_NEAR(mine.edge(i), edges[i].toDouble(), ulps, 0);
            COMPARE_CLOSE(mine.binWidth(), (mine.hi - mine.lo) / bins, 1e-15, 0.0);
        }
    }

    // correlations
    COMPARE_CLOSE(ls::pearson(xs, ys), jsonNumber(ref["pearson"]), 1e-10, 0.0);
    COMPARE_CLOSE(ls::spearman(xs, ys), jsonNumber(ref["spearman"]), 1e-10, 0.0);
    const std::vector<double> xd(xs.begin(), xs.end()), yd(ys.begin(), ys.end());
    COMPARE_CLOSE(ls::pearson(xd, yd), jsonNumber(ref["pearson"]), 1e-10, 0.0);
    COMPARE_CLOSE(ls::spearman(xd, yd), jsonNumber(ref["spearman"]), 1e-10, 0.0);
}

void TestStats::emptyInput() {
    const std::vector<float> none;
    const ls::Summary s = ls::summarize(none);
    QCOMPARE(s.count, int64_t(0));
    for (double v : {s.mean, s.std, s.min, s.p10, s.p25, s.p50, s.p75, s.p90, s.max}) QVERIFY(std::isnan(v));
    QVERIFY(std::isnan(ls::quantile(none, 0.5)));
    QVERIFY(std::isnan(ls::quantile({NAN, NAN}, 0.5)));
    QVERIFY(std::isnan(ls::pearson(none, none)));
    QVERIFY(std::isnan(ls::spearman(none, none)));

    const ls::Histogram h = ls::histogram(none, 4);  // numpy: range (0, 1)
    QCOMPARE_NEAR(h.lo, 0.0, 0, 0);  // constants
    QCOMPARE_NEAR(h.hi, 1.0, 0, 0);
    QCOMPARE(h.counts, std::vector<int64_t>(4, 0));
    QCOMPARE(h.total(), int64_t(0));
}

void TestStats::badArguments_data() {
    QTest::addColumn<int>("which");
    QTest::addColumn<QString>("fragment");
    QTest::newRow("quantile q < 0") << 0 << "q must be in [0, 1]";
    QTest::newRow("quantile q > 1") << 1 << "q must be in [0, 1]";
    QTest::newRow("quantile q NaN") << 2 << "q must be in [0, 1]";
    QTest::newRow("histogram 0 bins") << 3 << "bins must be at least 1";
    QTest::newRow("histogram lo > hi") << 4 << "lo <= hi";
    QTest::newRow("histogram infinite range") << 5 << "must be finite";
    QTest::newRow("pearson lengths differ") << 6 << "x has 3 values but y has 2";
    QTest::newRow("spearman lengths differ") << 7 << "x has 3 values but y has 2";
}

void TestStats::badArguments() {
    QFETCH(int, which);
    QFETCH(QString, fragment);
    const std::vector<float> three = {1, 2, 3}, two = {1, 2};
    const QString message = errorOf([&] {
        switch (which) {
            case 0: ls::quantile(three, -0.01); break;
            case 1: ls::quantile(three, 1.01); break;
            case 2: ls::quantile(three, kNaN); break;
            case 3: ls::histogram(three, 0, 0.0, 1.0); break;
            case 4: ls::histogram(three, 3, 2.0, 1.0); break;
            case 5: ls::histogram(three, 3, 0.0, INFINITY); break;
            case 6: ls::pearson(three, two); break;
            case 7: ls::spearman(three, two); break;
        }
    });
    QVERIFY2(message.contains(fragment), qPrintable(message));
}

void TestStats::averageRanksByHand() {
    // Ranks are whole numbers and halves: exact.
    QCOMPARE(mismatchOf(ls::averageRanks({10, 20, 10, 30}), {1.5, 3, 1.5, 4}, 0, 0), QString());
    QCOMPARE(mismatchOf(ls::averageRanks({5, 5, 5}), {2, 2, 2}, 0, 0), QString());
    QCOMPARE(mismatchOf(ls::averageRanks({3, 1, 2}), {3, 1, 2}, 0, 0), QString());
    QCOMPARE(ls::averageRanks({}).size(), size_t(0));
    // Spearman is +-1 for any monotone relation, ties excepted (up to float64 rounding).
    QCOMPARE_NEAR(ls::spearman(std::vector<float>{1, 2, 3, 4}, std::vector<float>{1, 8, 27, 64}), 1.0, 1e-12, 0);
    QCOMPARE_NEAR(ls::spearman(std::vector<float>{1, 2, 3, 4}, std::vector<float>{4, 3, 2, 1}), -1.0, 1e-12, 0);
}

void TestStats::histogramEdgesByHand() {
    // [0, 1), [1, 2), [2, 3]: the last bin is closed, values outside are dropped.
    const ls::Histogram h = ls::histogram({-0.5f, 0, 0.999f, 1, 2, 2.5f, 3, 3.5f, NAN}, 3, 0.0, 3.0);
    QCOMPARE(h.counts, std::vector<int64_t>({2, 1, 3}));
    QCOMPARE_NEAR(h.binWidth(), 1.0, 0, 1e-15);
    QCOMPARE_NEAR(h.edge(3), 3.0, 0, 0);  // the last edge is hi itself
    // lo == hi widens by 0.5 each side, as numpy does
    const ls::Histogram w = ls::histogram({1, 1, 1}, 3, 1.0, 1.0);
    QCOMPARE_NEAR(w.lo, 0.5, 0, 0);  // 1 -+ 0.5: exact
    QCOMPARE_NEAR(w.hi, 1.5, 0, 0);
    QCOMPARE(w.counts, std::vector<int64_t>({0, 3, 0}));
}

void TestStats::quantileWithInfinities() {
    const std::vector<float> v = {INFINITY, 2, -INFINITY, 1};
    QCOMPARE_NEAR(ls::quantile(v, 0.0), -double(INFINITY), 0, 0);  // an infinity matches itself only
    QCOMPARE_NEAR(ls::quantile(v, 1.0), double(INFINITY), 0, 0);
    QCOMPARE_NEAR(ls::quantile(v, 0.5), 1.5, 0, 1e-15);  // interpolated
    const ls::Summary s = ls::summarize(v);
    QCOMPARE_NEAR(s.min, -double(INFINITY), 0, 0);
    QCOMPARE_NEAR(s.max, double(INFINITY), 0, 0);
    QVERIFY(std::isnan(s.mean));  // inf - inf, as numpy
}

// Nested stages report inside the share their parent gave them; the task's fraction runs
// once from 0 to 1 (common/progress.h). Shares of 1/2 and 1/4 are exact in binary.
void TestStats::progressPartsNest() {
    ls::Progress progress;
    {
        const ls::ProgressPart first(progress, 0.0, 0.5);
        progress.setFraction(0.5);
        QCOMPARE_NEAR(progress.fraction(), 0.25, 0, 0);
        {
            const ls::ProgressPart inner(progress, 0.5, 1.0);  // the second half of `first`
            progress.setFraction(0.5);
            QCOMPARE_NEAR(progress.fraction(), 0.375, 0, 0);
            progress.setFraction(2.0);  // clamped to the part's end
            QCOMPARE_NEAR(progress.fraction(), 0.5, 0, 0);
        }
        QCOMPARE_NEAR(progress.fraction(), 0.5, 0, 0);  // `first` is done when `inner` ends
    }
    QCOMPARE_NEAR(progress.fraction(), 0.5, 0, 0);
    {
        const ls::ProgressPart second(progress, 0.5, 1.0);
        QCOMPARE_NEAR(progress.fraction(), 0.5, 0, 0);
        progress.setFraction(0.5);
        QCOMPARE_NEAR(progress.fraction(), 0.75, 0, 0);
    }
    QCOMPARE_NEAR(progress.fraction(), 1.0, 0, 0);
    progress.setFraction(0.25);  // outside any part: the whole task's fraction
    QCOMPARE_NEAR(progress.fraction(), 0.25, 0, 0);
}

QTEST_GUILESS_MAIN(TestStats)
#include "test_stats.moc"
