// Loss separation and the early-exit simulator on hand-made per-token scalars (no model):
//   - splits, the Oracle, Loss Diff, Oracle ratio, Cohen's d and ties at the median against
//     numbers computed by hand;
//   - the early-exit simulator's sorted/prefix-sum evaluation against a direct per-token loop,
//     for every signal direction, thresholds below and above every value, and per-layer
//     thresholds;
//   - bad input: one clear error each.
#include <QtTest>

#include <cmath>
#include <random>

#include "analysis/capture_pass.h"
#include "analysis/early_exit.h"
#include "analysis/losssep.h"
#include "test_support.h"

namespace {

// A capture of N tokens and L layers with random metrics, lens top-1 ids and cos-sims.
ls::CaptureResult randomCapture(int L, int N, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_real_distribution<float> unit(0.f, 1.f);
    ls::CaptureResult c;
    c.numLayers = L;
    c.metrics.assign(L, {});
    c.cossim.assign(L, {});
    c.lensTop1.assign(L + 1, {});
    for (int t = 0; t < N; ++t) c.loss.push_back(5 * unit(rng));
    for (int l = 0; l <= L; ++l)
        for (int t = 0; t < N; ++t) c.lensTop1[l].push_back(static_cast<int32_t>(rng() % 4));
    for (int l = 1; l <= L; ++l) {
        ls::LayerMetrics& m = c.metrics[l - 1];
        for (int t = 0; t < N; ++t) {
            // quantised so that ties occur
            m.confidence.push_back(std::round(20 * unit(rng)) / 20);
            m.maxLogit.push_back(10 * unit(rng));
            m.maxMinusMean.push_back(8 * unit(rng));
            m.margin.push_back(2 * unit(rng));
            m.entropy.push_back(3 * unit(rng));
            m.correctLogProb.push_back(l == L ? -c.loss[t] : -5 * unit(rng));
            c.cossim[l - 1].push_back(2 * unit(rng) - 1);
        }
    }
    c.targetIndex.resize(N);
    c.targetId.resize(N);
    return c;
}

// The policy as the spec states it, token by token.
ls::ExitOutcome directExit(const ls::CaptureResult& c, const std::string& signal, const std::vector<int>& layers,
                           const std::vector<double>& thresholds) {
    const int L = c.numLayers;
    ls::ExitOutcome o;
    o.exits.assign(L, 0);
    o.tokens = c.tokens();
    double layerSum = 0, lossSum = 0, agree = 0;
    for (int64_t t = 0; t < c.tokens(); ++t) {
        int exit = L;
        for (size_t j = 0; j < layers.size(); ++j) {
            const int l = layers[j];
            const float s = signal == "cossim" ? c.cossim[l - 1][t] : ls::metricValues(c.metrics[l - 1], signal)[t];
            const bool pass = signal == "entropy" ? s <= thresholds[j] : s >= thresholds[j];
            if (pass) {
                exit = l;
                break;
            }
        }
        ++o.exits[exit - 1];
        layerSum += exit;
        lossSum += -c.metrics[exit - 1].correctLogProb[t];
        agree += c.lensTop1[exit][t] == c.lensTop1[L][t];
    }
    const double n = double(c.tokens());
    o.meanLayers = layerSum / n;
    o.computeSaved = 1 - o.meanLayers / L;
    o.exitFraction = 1 - o.exits[L - 1] / n;
    o.top1Agreement = agree / n;
    o.ppl = std::exp(lossSum / n);
    return o;
}

void compareOutcomes(const ls::ExitOutcome& a, const ls::ExitOutcome& b) {
    QCOMPARE(a.exits, b.exits);
    // Two code paths (prefix sums vs a per-token loop) sum in different orders: float64 rounding.
    QCOMPARE_NEAR(a.meanLayers, b.meanLayers, 1e-12, 0);
    QCOMPARE_NEAR(a.exitFraction, b.exitFraction, 1e-12, 0);
    QCOMPARE_NEAR(a.top1Agreement, b.top1Agreement, 1e-12, 0);
    QCOMPARE_NEAR(a.ppl, b.ppl, 0, 1e-9);  // exp of a mean loss amplifies the sum's rounding
}

}  // namespace

class TestLossSep : public QObject {
    Q_OBJECT

private slots:
    void splitsByHand() {
        // losses 1..6; score = confidence. Median of the scores (0.1 .. 0.6) is 0.35.
        const std::vector<float> loss{1, 2, 3, 4, 5, 6};
        const std::vector<float> score{0.6f, 0.5f, 0.4f, 0.3f, 0.2f, 0.1f};  // perfectly anti-correlated
        // Oracle: easy iff loss <= median 3.5: {1,2,3} vs {4,5,6}: diff 3.
        const ls::SplitStats oracle = ls::splitAtMedian(loss, loss, /*higherIsEasier=*/false, 3.0);
        QCOMPARE(oracle.easy, int64_t(3));
        // Means and ratios of small whole numbers: float64 rounding at most.
        QCOMPARE_NEAR(oracle.easyLoss, 2.0, 0, 1e-12);
        QCOMPARE_NEAR(oracle.hardLoss, 5.0, 0, 1e-12);
        QCOMPARE_NEAR(oracle.lossDiff, 3.0, 0, 1e-12);
        QCOMPARE_NEAR(oracle.oracleRatio, 1.0, 0, 1e-12);
        QCOMPARE_NEAR(oracle.easyPct, 50.0, 0, 1e-12);
        const ls::SplitStats s = ls::splitAtMedian(score, loss, true, 3.0);
        QCOMPARE_NEAR(s.lossDiff, 3.0, 0, 1e-12);
        // Threshold 0.45: easy = {0.6, 0.5} -> losses {1, 2}; hard {3,4,5,6}: 4.5 - 1.5 = 3.
        const ls::SplitStats t = ls::splitByThreshold(score, loss, 0.45, true, 3.0);
        QCOMPARE(t.easy, int64_t(2));
        QCOMPARE_NEAR(t.lossDiff, 3.0, 0, 1e-12);
        QCOMPARE_NEAR(t.oracleRatio, 1.0, 0, 1e-12);
        QCOMPARE_NEAR(t.easyPct, 100.0 / 3, 1e-12, 0);
        // A useless score (constant) puts every token on the easy side: no hard side.
        const ls::SplitStats flat = ls::splitAtMedian(std::vector<float>(6, 0.5f), loss, true, 3.0);
        QCOMPARE(flat.easy, int64_t(6));
        QVERIFY(std::isnan(flat.hardLoss) && std::isnan(flat.oracleRatio));
    }

    void tiesAtTheMedianGoToEasy() {
        // Scores 1,2,2,2,3 (median 2): easy = score >= 2 -> 4 tokens, hard 1.
        const std::vector<float> loss{10, 4, 5, 6, 1};
        const std::vector<float> score{1, 2, 2, 2, 3};
        const ls::SplitStats s = ls::splitAtMedian(score, loss, true, 1.0);
        QCOMPARE(s.easy, int64_t(4));
        QCOMPARE(s.hard, int64_t(1));
        QCOMPARE_NEAR(s.easyLoss, 4.0, 0, 1e-12);   // (4 + 5 + 6 + 1) / 4
        QCOMPARE_NEAR(s.hardLoss, 10.0, 0, 1e-12);
        // Entropy-like (lower is easier): easy = score <= 2 -> 4 tokens.
        const ls::SplitStats e = ls::splitAtMedian(score, loss, false, 1.0);
        QCOMPARE(e.easy, int64_t(4));
        QCOMPARE_NEAR(e.easyLoss, 25.0 / 4, 0, 1e-12);
    }

    void analysisByHand() {
        // One layer, 4 tokens. Losses 0, 1, 3, 4: median 2; easy {0,1}, hard {3,4}: diff 3.
        // Sample variances 0.5 and 0.5 -> pooled std sqrt(0.5): Cohen's d = 3 / sqrt(0.5).
        ls::CaptureResult c;
        c.numLayers = 1;
        c.loss = {0, 1, 3, 4};
        ls::LayerMetrics m;
        m.correctLogProb = {0, -1, -3, -4};
        m.confidence = {0.9f, 0.1f, 0.8f, 0.2f};  // splits {0,3} / {1,4}: diff 4 - 3... see below
        m.maxLogit = {4, 3, 2, 1};
        m.maxMinusMean = {1, 1, 1, 1};
        m.margin = {2, 1, 1, 2};
        m.entropy = {0.1f, 0.2f, 0.3f, 0.4f};
        c.metrics = {m};
        const ls::LossSepResult r = ls::analyseLossSeparation(c, {});
        // Medians, means and ratios of small whole numbers: float64 rounding at most.
        QCOMPARE_NEAR(r.distribution.median, 2.0, 0, 1e-12);
        QCOMPARE_NEAR(r.distribution.oracle.lossDiff, 3.0, 0, 1e-12);
        QCOMPARE_NEAR(r.distribution.cohensD, 3 / std::sqrt(0.5), 1e-12, 0);
        auto row = [&](const std::string& method) {
            for (const auto& p : r.predictors)
                if (p.method == method) return p;
            return ls::PredictorRow{};
        };
        // confidence median 0.5: easy {0.9, 0.8} = losses {0, 3}, hard {1, 4}: diff 1, ratio 1/3.
        QCOMPARE_NEAR(row("confidence").split.lossDiff, 1.0, 0, 1e-12);
        QCOMPARE_NEAR(row("confidence").split.oracleRatio, 1.0 / 3, 1e-12, 0);
        // max_z orders the tokens like -loss: the Oracle's split.
        QCOMPARE_NEAR(row("max_z").split.oracleRatio, 1.0, 0, 1e-12);
        QCOMPARE_NEAR(row("max_z").pearson, -1.0, 0.05, 0);  // ranks like -loss, not linearly
        // entropy (lower is easier) too.
        QCOMPARE_NEAR(row("entropy").split.oracleRatio, 1.0, 0, 1e-12);
        // correct_prob = exp(-loss): the Oracle.
        QCOMPARE_NEAR(row("correct_prob").split.oracleRatio, 1.0, 0, 1e-12);
        // a constant metric: every token easy, no separation.
        QVERIFY(std::isnan(row("max_minus_mean").split.lossDiff));
        QVERIFY(std::isnan(row("max_minus_mean").pearson));
        QCOMPARE_NEAR(row("oracle").split.oracleRatio, 1.0, 0, 1e-12);
        // Threshold table: correct_prob >= 0.05 -> exp(0)=1, exp(-1)=0.37 easy; exp(-3)=0.0498 hard.
        for (const auto& t : r.thresholds)
            if (t.method == "correct_prob" && t.rule == "0.05") QCOMPARE(t.split.easy, int64_t(2));
        // Subsets: confidence >= 0.8 holds tokens 0 and 2.
        QCOMPARE_NEAR(r.subsets[2].minConfidence, 0.6, 0, 0);  // the default parameter, copied
        QCOMPARE(r.subsets[3].tokens, int64_t(2));
        QCOMPARE_NEAR(r.subsets[3].meanLoss, 1.5, 0, 1e-12);
    }

    void exitMatchesDirectLoop_data() {
        QTest::addColumn<QString>("signal");
        QTest::newRow("confidence") << "confidence";
        QTest::newRow("entropy (lower exits)") << "entropy";
        QTest::newRow("cossim") << "cossim";
        QTest::newRow("max_minus_mean") << "max_minus_mean";
    }

    void exitMatchesDirectLoop() {
        QFETCH(QString, signal);
        const ls::CaptureResult c = randomCapture(6, 3000, 7);
        for (const std::vector<int>& layers : {std::vector<int>{1, 2, 3, 4, 5}, std::vector<int>{2, 4}, std::vector<int>{5}}) {
            const ls::ExitSimulator sim(c, signal.toStdString(), layers);
            std::vector<double> thresholds = sim.defaultThresholds(9);
            thresholds.push_back(sim.minSignal() - 1);  // everyone (or no one, for entropy) passes
            thresholds.push_back(sim.maxSignal() + 1);
            for (double th : thresholds) {
                const ls::ExitOutcome fast = sim.evaluate(th);
                compareOutcomes(fast, directExit(c, signal.toStdString(), layers, std::vector<double>(layers.size(), th)));
                compareOutcomes(sim.evaluate(std::vector<double>(layers.size(), th)), fast);
            }
            // Per-layer thresholds: different at each layer.
            std::vector<double> perLayer;
            for (size_t j = 0; j < layers.size(); ++j) perLayer.push_back(thresholds[(2 * j + 1) % 9]);
            compareOutcomes(sim.evaluate(perLayer), directExit(c, signal.toStdString(), layers, perLayer));
        }
    }

    void exitExtremes() {
        const ls::CaptureResult c = randomCapture(4, 500, 3);
        const ls::ExitSimulator sim(c, "confidence", {1, 2, 3});
        // Nobody passes: everyone computes all 4 layers, the final prediction, the final loss.
        const ls::ExitOutcome none = sim.evaluate(2.0);
        QCOMPARE_NEAR(none.meanLayers, 4.0, 0, 1e-12);  // a mean of whole numbers
        QCOMPARE_NEAR(none.computeSaved, 0.0, 1e-12, 0);
        QCOMPARE_NEAR(none.top1Agreement, 1.0, 1e-12, 0);  // a fraction of counts
        double mean = 0;
        for (float l : c.loss) mean += l;
        QCOMPARE_NEAR(none.ppl, std::exp(mean / 500), 1e-9, 0);  // prefix sums vs this loop: float64 rounding
        // Everybody passes at the first allowed layer.
        const ls::ExitOutcome all = sim.evaluate(-1.0);
        QCOMPARE(all.exits[0], int64_t(500));
        QCOMPARE_NEAR(all.computeSaved, 0.75, 1e-12, 0);
        // The sweep's Pareto front: no point on it is dominated.
        const auto points = sim.sweep(sim.defaultThresholds());
        for (const auto& p : points)
            for (const auto& q : points)
                if (p.pareto)
                    QVERIFY(!(q.outcome.computeSaved > p.outcome.computeSaved &&
                              q.outcome.top1Agreement > p.outcome.top1Agreement));
    }

    void badInput_data() {
        QTest::addColumn<QString>("signal");
        QTest::addColumn<QList<int>>("layers");
        QTest::addColumn<QString>("message");
        QTest::newRow("no allowed layer") << "confidence" << QList<int>{} << "needs at least one allowed layer";
        QTest::newRow("layer L") << "confidence" << QList<int>{1, 4} << "layer 4 is outside 1..3";
        QTest::newRow("layer 0") << "confidence" << QList<int>{0} << "layer 0 is outside 1..3";
        QTest::newRow("unknown signal") << "loudness" << QList<int>{1} << "unknown signal 'loudness'";
        QTest::newRow("the answer") << "correct_prob" << QList<int>{1} << "needs the answer";
    }

    void badInput() {
        QFETCH(QString, signal);
        QFETCH(QList<int>, layers);
        QFETCH(QString, message);
        const ls::CaptureResult c = randomCapture(4, 50, 1);
        const QString error = errorOf([&] { ls::ExitSimulator(c, signal.toStdString(), std::vector<int>(layers.begin(), layers.end())); });
        QVERIFY2(error.contains(message), qPrintable(error));
        const ls::ExitSimulator sim(c, "confidence", {1, 2});
        QVERIFY(errorOf([&] { sim.evaluate(std::vector<double>{0.5}); }).contains("one threshold per allowed layer (2)"));
        ls::CaptureResult empty;
        QVERIFY(errorOf([&] { ls::analyseLossSeparation(empty, {}); }).contains("no logit-lens metrics"));
    }
};

QTEST_APPLESS_MAIN(TestLossSep)
#include "test_losssep.moc"
