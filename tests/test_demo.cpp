// The built-in demo (resources/demo): the shipped corpus is what the generator makes, and
// the shipped model really separates the corpus's easy words from its hard ones, which is
// what every later analysis on the demo relies on.
#include <QRegularExpression>
#include <QtTest>

#include <cmath>
#include <map>

#include "analysis/layer_run.h"
#include "analysis/perplexity.h"
#include "analysis/saturation.h"
#include "data/dataset.h"
#include "stats/summary.h"
#include "data/demo_corpus.h"
#include "model/model.h"
#include "test_support.h"
#include "tokenizer/tokenizer.h"

namespace {

const std::filesystem::path kDemo = std::filesystem::path(LAYERSCOPE_SOURCE_DIR) / "resources" / "demo";

}  // namespace

class TestDemo : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() { ls::setComputeThreads(1); }

    // eval.txt and eval_labels.npy are exactly the generator's output for seed 2.
    void shippedCorpusMatchesGenerator() {
        ls::DemoCorpusParams params;
        params.words = 20000;
        params.seed = 2;
        const ls::DemoCorpus corpus = ls::generateDemoCorpus(params);
        QCOMPARE(ls::readFileBytes(kDemo / "eval.txt"), corpus.text);
        const std::vector<int32_t> labels = ls::readNpyTokenIds(kDemo / "eval_labels.npy");
        QCOMPARE(labels.size(), corpus.labels.size());
        for (size_t i = 0; i < labels.size(); ++i) QCOMPARE(labels[i], static_cast<int32_t>(corpus.labels[i]));
    }

    // The generator's promises: labels per word, fixed sentence shapes, seeds differ.
    void generatorStructure() {
        ls::DemoCorpusParams params;
        params.words = 5000;
        const ls::DemoCorpus a = ls::generateDemoCorpus(params);
        const QStringList words = QString::fromStdString(a.text).split(QRegularExpression("\\s+"), Qt::SkipEmptyParts);
        QCOMPARE(static_cast<size_t>(words.size()), a.labels.size());
        std::map<ls::DemoLabel, int> counts;
        for (size_t i = 0; i < a.labels.size(); ++i) {
            ++counts[a.labels[i]];
            const QString w = words[static_cast<int>(i)];
            if (a.labels[i] == ls::DemoLabel::Choice)
                QVERIFY2(w == "copy" || w == "count" || w == "say" || w == "pair", qPrintable(w));
            if (w == "again") {  // the next four words repeat the four before "again"
                for (int k = 1; k <= 4; ++k) QCOMPARE(words[static_cast<int>(i) + k], words[static_cast<int>(i) - 5 + k]);
            }
        }
        // Expected shares (sentences of 11, 8, 5 and 4 words): random 8/28, choice 4/28.
        // Sampled sentences: the shares scatter around these by a few percent.
        QCOMPARE_NEAR(counts[ls::DemoLabel::Random] / double(a.labels.size()), 8.0 / 28, 0.03, 0);
        QCOMPARE_NEAR(counts[ls::DemoLabel::Choice] / double(a.labels.size()), 4.0 / 28, 0.03, 0);
        params.seed = 7;
        QVERIFY(ls::generateDemoCorpus(params).text != a.text);
    }

    // Loss by label on the held-out corpus: determined words are nearly free, random
    // words cost at least ln 64 (no model can beat uniform), sentence starts about ln 4.
    void modelSeparatesEasyFromHard() {
        const ls::Model model = ls::Model::load(kDemo / "model");
        const ls::Tokenizer tokenizer = ls::Tokenizer::fromModelDir(kDemo / "model");
        const ls::Dataset data = ls::loadDataset(kDemo / "eval.txt", &tokenizer, model.config().vocabSize);
        const std::vector<int32_t> labels = ls::readNpyTokenIds(kDemo / "eval_labels.npy");
        QCOMPARE(data.tokens.size(), labels.size());  // word-level: one token per word

        ls::PerplexityParams params;
        params.windows.seqLen = model.config().maxPositions;
        ls::Progress progress;
        std::map<int32_t, std::pair<double, int64_t>> byLabel;  // label -> (loss sum, count)
        int64_t unknown = 0;
        const ls::PerplexityResult r = ls::runPerplexity(model, data, params, progress, [&](const ls::TokenLoss& t) {
            auto& [sum, n] = byLabel[labels[static_cast<size_t>(t.targetIndex)]];
            sum += t.loss;
            ++n;
            if (t.targetId == 0) ++unknown;  // [UNK]: the eval corpus uses only the training vocabulary
        });
        QCOMPARE(unknown, int64_t(0));
        auto mean = [&](ls::DemoLabel l) {
            const auto& [sum, n] = byLabel[static_cast<int32_t>(l)];
            return sum / n;
        };
        const double random = mean(ls::DemoLabel::Random), determined = mean(ls::DemoLabel::Determined),
                     choice = mean(ls::DemoLabel::Choice);
        qInfo("demo eval: ppl %.3f; mean loss random %.3f, determined %.3f, choice %.3f nats", r.ppl, random,
              determined, choice);
        QVERIFY2(random > std::log(64.0) - 0.05, "random words cannot cost less than ln 64");
        QVERIFY2(random < std::log(64.0) + 0.5, "random words should cost about ln 64");
        QVERIFY2(determined < 0.2, "determined words should be nearly free");
        QVERIFY2(std::abs(choice - std::log(4.0)) < 0.15, "sentence starts should cost about ln 4");
        QVERIFY(random - determined > 3.5);
    }

    // Where predictions settle (logit lens): a determined word's final prediction is in
    // place after the first blocks, a random word's only at the last block (its lens top-1
    // keeps changing as the model has nothing to settle on).
    void determinedWordsSaturateEarlier() {
        const ls::Model model = ls::Model::load(kDemo / "model");
        QVERIFY(model.config().numLayers >= 4);
        QVERIFY(model.config().numHeads >= 4);
        const ls::Tokenizer tokenizer = ls::Tokenizer::fromModelDir(kDemo / "model");
        const ls::Dataset data = ls::loadDataset(kDemo / "eval.txt", &tokenizer, model.config().vocabSize);
        const std::vector<int32_t> labels = ls::readNpyTokenIds(kDemo / "eval_labels.npy");
        ls::LayerRunParams params;
        params.analyses = {"saturation"};
        params.windows.seqLen = model.config().maxPositions;
        ls::Progress progress;
        const ls::LayerRun run = ls::runLayerAnalyses(model, data, &tokenizer, params, progress);
        const auto saturation = run.result<ls::SaturationResult>("saturation");
        QVERIFY(saturation);
        const std::vector<int32_t>& layer = saturation->saturationLayer;
        std::map<int32_t, std::pair<double, int64_t>> byLabel;  // label -> (sum of saturation layers, count)
        std::map<int32_t, int64_t> atLayer1;
        for (size_t t = 0; t < layer.size(); ++t) {
            const int32_t label = labels[static_cast<size_t>(run.capture.targetIndex[t])];
            byLabel[label].first += layer[t];
            ++byLabel[label].second;
            atLayer1[label] += layer[t] == 1;
        }
        auto mean = [&](ls::DemoLabel l) { return byLabel[int32_t(l)].first / double(byLabel[int32_t(l)].second); };
        auto share1 = [&](ls::DemoLabel l) { return atLayer1[int32_t(l)] / double(byLabel[int32_t(l)].second); };
        const double random = mean(ls::DemoLabel::Random), determined = mean(ls::DemoLabel::Determined);
        qInfo("demo saturation layer: random %.2f (%.1f%% at layer 1), determined %.2f (%.1f%% at layer 1)", random,
              100 * share1(ls::DemoLabel::Random), determined, 100 * share1(ls::DemoLabel::Determined));
        QVERIFY2(determined < random - 1.0, "determined words should settle at least a block earlier");
        QVERIFY(share1(ls::DemoLabel::Determined) > 0.3);
        QVERIFY(share1(ls::DemoLabel::Random) < 0.05);
    }

    // Easy and hard tokens are known here: the Oracle split (loss at the median) and the
    // confidence predictors put determined words on the easy side and random words on the
    // hard side at the final layer; through the lens at the last-but-one layer they already do
    // clearly better than chance (57% of the scored tokens are determined words).
    void lossSeparationFindsTheKnownEasyTokens() {
        const ls::Model model = ls::Model::load(kDemo / "model");
        const ls::Tokenizer tokenizer = ls::Tokenizer::fromModelDir(kDemo / "model");
        const ls::Dataset data = ls::loadDataset(kDemo / "eval.txt", &tokenizer, model.config().vocabSize);
        const std::vector<int32_t> labels = ls::readNpyTokenIds(kDemo / "eval_labels.npy");
        ls::LayerRunParams params;
        params.analyses = {"losssep"};
        params.lossSep.probes = false;
        params.windows.seqLen = model.config().maxPositions;
        ls::Progress progress;
        const ls::LayerRun run = ls::runLayerAnalyses(model, data, &tokenizer, params, progress);
        const auto lossSep = run.result<ls::LossSepResult>("losssep");
        QVERIFY(lossSep);
        const int L = lossSep->numLayers;
        auto check = [&](const std::string& method, int layer, const std::vector<float>& score, bool higherIsEasier,
                         double minEasyDetermined, double minRandomHard) {
            const double median = ls::quantile(score, 0.5);
            int64_t easy = 0, easyDetermined = 0, random = 0, randomHard = 0;
            for (size_t t = 0; t < score.size(); ++t) {
                const bool isEasy = higherIsEasier ? score[t] >= median : score[t] <= median;
                const auto label = static_cast<ls::DemoLabel>(labels[static_cast<size_t>(run.capture.targetIndex[t])]);
                easy += isEasy;
                easyDetermined += isEasy && label == ls::DemoLabel::Determined;
                random += label == ls::DemoLabel::Random;
                randomHard += !isEasy && label == ls::DemoLabel::Random;
            }
            qInfo("%s at layer %d: %.1f%% of easy tokens are determined words, %.1f%% of random words are hard",
                  method.c_str(), layer, 100.0 * easyDetermined / easy, 100.0 * randomHard / random);
            QVERIFY2(easyDetermined > minEasyDetermined * easy, method.c_str());
            QVERIFY2(randomHard > minRandomHard * random, method.c_str());
        };
        check("oracle", L, run.capture.loss, false, 0.95, 0.99);
        for (const char* metric : {"confidence", "max_minus_mean", "entropy"}) {
            const bool higher = ls::metricHigherIsEasier(metric);
            check(metric, L, ls::metricValues(run.capture.metrics[L - 1], metric), higher, 0.95, 0.99);
            check(metric, L - 1, ls::metricValues(run.capture.metrics[L - 2], metric), higher, 0.65, 0.7);
        }
        // The table's Oracle ratio of confidence at the final layer is that of a near-perfect split.
        for (const auto& p : lossSep->predictors)
            if (p.method == "confidence" && p.layer == L) QVERIFY(p.split.oracleRatio > 0.95);
    }
};

QTEST_GUILESS_MAIN(TestDemo)
#include "test_demo.moc"
