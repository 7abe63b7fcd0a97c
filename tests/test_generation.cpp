// Generation under interventions (layerscope-cli generate) against the independent float64
// reference tests/reference/generate_reference.py: greedy continuations token for token for
// GPT-2 and grouped-query Llama, cached and uncached, baseline, zero- and mean-ablated and
// ReLU-linearised heads (count and rowsum); their PPLs; seeded sampling; best-of-N and
// refinement tables; run files; the demo model copying a sentence; bad input.
#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <map>

#include "analysis/generation.h"
#include "cli_test_support.h"
#include "model/model_folder.h"
#include "test_support.h"

using namespace reftest;

namespace {

QString cli() { return QStringLiteral(LAYERSCOPE_CLI); }
QString referenceScript() { return sourceDir() + "/tests/reference/generate_reference.py"; }

// JSONL records, one object per line.
std::vector<QJsonObject> readJsonl(const QString& path) {
    std::vector<QJsonObject> out;
    for (const QByteArray& line : readFile(path).split('\n'))
        if (!line.trimmed().isEmpty()) out.push_back(QJsonDocument::fromJson(line).object());
    return out;
}

std::vector<int> idsOf(const QJsonArray& a) {
    std::vector<int> ids;
    for (const auto& v : a) ids.push_back(v.toInt());
    return ids;
}

const QStringList kConditions = {"baseline", "ablate:L0H1", "ablate:L1,L0H3", "mean-ablate:L0H2,L1H0", "relu:L0H1",
                                 "relu:L1H3,L0"};

}  // namespace

class TestGeneration : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void repetitionStatistics();
    void flopModel();
    void greedyMatchesReference_data();
    void greedyMatchesReference();
    void samplingIsReproducible();
    void bestOfAndRefinement();
    void runFileReopens();
    void orderAndMeansFromRunFiles();
    void demoModelCopies();
    void badInput_data();
    void badInput();

private:
    QTemporaryDir tmp_;
    QString gpt2_, llama_, prompts_, promptsJson_;
};

void TestGeneration::initTestCase() {
    QVERIFY(tmp_.isValid());
    gpt2_ = tmp_.path() + "/gpt2";
    llama_ = tmp_.path() + "/llama";
    const QStringList common{"--dtype", "f32", "--layers", "2", "--dim", "32", "--heads", "4", "--vocab", "50",
                             "--ctx", "48", "--tokens", "40", "--eval-windows", "16", "8", "0"};
    QString error = makeModel(gpt2_, QStringList{"--arch", "gpt2"} + common);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    error = makeModel(llama_, QStringList{"--arch", "llama", "--kv-heads", "2", "--rope-scaling", "llama3"} + common);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    // Three prompts of token ids: JSON for the reference, JSONL for the CLI.
    const QByteArray ids[] = {"[1,2,3,4,5]", "[7]", "[10,20,30,40,41,42,43,44,45,46,47,48]"};
    promptsJson_ = tmp_.path() + "/prompts.json";
    prompts_ = tmp_.path() + "/prompts.jsonl";
    QVERIFY(writeFile(promptsJson_, "[" + ids[0] + "," + ids[1] + "," + ids[2] + "]"));
    QVERIFY(writeFile(prompts_, "{\"ids\": " + ids[0] + "}\n{\"ids\": " + ids[1] + "}\n\n{\"ids\": " + ids[2] + "}\n"));
}

void TestGeneration::repetitionStatistics() {
    const std::vector<int32_t> ids{5, 6, 7, 5, 6, 7, 5, 9};
    QCOMPARE_NEAR(ls::distinctNgrams(ids, 1), 4.0 / 8.0, 1e-12, 0);  // {5, 6, 7, 9}
    QCOMPARE_NEAR(ls::distinctNgrams(ids, 2), 4.0 / 7.0, 1e-12, 0);  // 56 67 75 59
    QCOMPARE_NEAR(ls::distinctNgrams(ids, 3), 4.0 / 6.0, 1e-12, 0);  // 567 675 756 567 675 759
    QCOMPARE(ls::longestRepeat(ids), 4);                              // 5 6 7 5 at 0 and 3 (overlapping)
    QCOMPARE(ls::longestRepeat({1, 2, 3}), 0);
    QCOMPARE(ls::longestRepeat({4, 4, 4, 4}), 3);
    QVERIFY(std::isnan(ls::distinctNgrams({1, 2}, 3)));
}

void TestGeneration::flopModel() {
    // GPT-2 small at context 1024, by hand: per block q/k/v 2*768*2304, output 2*768*768, MLP
    // 2*2*768*3072; head 2*768*50257; attention per head 4*1024*64 + 5*1024.
    ls::ModelConfig c;
    c.modelType = "gpt2";
    c.numLayers = 12;
    c.numHeads = c.numKvHeads = 12;
    c.hiddenSize = 768;
    c.headDim = 64;
    c.intermediateSize = 3072;
    c.vocabSize = 50257;
    const ls::FlopModel f = ls::flopModel(c, 1024, 30);
    const double weights = 12.0 * (2 * 768 * 2304 + 2 * 768 * 768 + 4.0 * 768 * 3072) + 2.0 * 768 * 50257;
    const double attention = 144.0 * (4 * 1024 * 64 + 5 * 1024);
    QCOMPARE_NEAR(f.weights, weights, 0, 1e-12);
    QCOMPARE_NEAR(f.attention, attention, 0, 1e-12);
    QCOMPARE_NEAR(f.total, weights + attention, 0, 1e-12);
    QCOMPARE_NEAR(f.kernelSaving, 30.0 * 3 * 1024, 0, 1e-12);
    QCOMPARE_NEAR(f.boundSaving, 30.0 * (4 * 1024 * 64 + 5 * 1024), 0, 1e-12);
    // 64 tokens: saving * 64 / (total - saving) tokens more at equal FLOPs.
    QCOMPARE(ls::extraTokensAtEqualFlops(f.boundSaving, f.total, 64),
             static_cast<int>(std::floor(f.boundSaving * 64 / (f.total - f.boundSaving))));
    QCOMPARE(ls::extraTokensAtEqualFlops(0, f.total, 64), 0);
}

void TestGeneration::greedyMatchesReference_data() {
    QTest::addColumn<QString>("arch");
    QTest::addColumn<QString>("normalize");
    QTest::newRow("gpt2 count") << "gpt2" << "count";
    QTest::newRow("gpt2 rowsum") << "gpt2" << "rowsum";
    QTest::newRow("llama-gqa count") << "llama" << "count";
    QTest::newRow("llama-gqa rowsum") << "llama" << "rowsum";
}

void TestGeneration::greedyMatchesReference() {
    QFETCH(QString, arch);
    QFETCH(QString, normalize);
    const QString model = arch == "gpt2" ? gpt2_ : llama_;
    const QString dir = tmp_.path() + "/greedy_" + arch + "_" + normalize;
    QDir().mkpath(dir);
    QStringList conditionArgs;
    for (const QString& c : kConditions) conditionArgs << "--condition" << c;
    const QStringList meansArgs{"--data", model + "/eval_ids.npy", "--seq-len", "16", "--stride", "8"};
    // The reference: its own greedy loop, with and without its own KV cache (they must agree).
    ProcResult ref = runProcess(python(), QStringList{referenceScript(), "--model", model, "--prompts", promptsJson_,
                                                      "--max-new-tokens", "12", "--normalize", normalize, "--cache",
                                                      "both", "--out", dir + "/ref.json"} +
                                              conditionArgs + meansArgs);
    QVERIFY2(ref.finished && ref.exitCode == 0, qPrintable(ref.describe("generate_reference.py")));
    const QJsonObject reference = readJsonObject(dir + "/ref.json");

    // LayerScope, cached and re-running the sequence for every token.
    for (const QString& cache : {QString("cached"), QString("uncached")}) {
        QStringList args{"generate", "--model", model, "--prompts", prompts_, "--max-new-tokens", "12", "--normalize",
                         normalize, "--jsonl", dir + "/" + cache + ".jsonl", "--csv", dir + "/" + cache, "--quiet"};
        if (cache == "uncached") args << "--no-cache";
        ProcResult r = runProcess(cli(), args + conditionArgs + meansArgs);
        QVERIFY2(r.finished && r.exitCode == 0, qPrintable(r.describe("generate " + cache)));
        const std::vector<QJsonObject> records = readJsonl(dir + "/" + cache + ".jsonl");
        const auto rows = readCsvRows(dir + "/" + cache + "/generation.csv");
        QCOMPARE(records.size(), size_t(kConditions.size() * 3));
        QCOMPARE(rows.size(), records.size());
        int compared = 0;
        for (const auto& conditionValue : reference["conditions"].toArray()) {
            const QJsonObject condition = conditionValue.toObject();
            const QJsonArray prompts = condition["prompts"].toArray();
            for (int p = 0; p < prompts.size(); ++p) {
                const QJsonObject expected = prompts[p].toObject();
                size_t at = records.size();
                for (size_t i = 0; i < records.size(); ++i)
                    if (records[i]["condition"].toString() == condition["condition"].toString() && records[i]["prompt"].toInt() == p)
                        at = i;
                QVERIFY2(at < records.size(), qPrintable("no record for " + condition["condition"].toString()));
                const QString what = QString("%1 %2 prompt %3").arg(cache, condition["condition"].toString()).arg(p);
                // float32 against float64: the same token whenever the reference's top two logits are
                // clearly apart (1e-3 is ~100x the float32 forward's error on these models).
                if (expected["min_gap"].toDouble() < 1e-3) {
                    qInfo("%s: top-2 gap %g, not compared token for token", qPrintable(what), expected["min_gap"].toDouble());
                    continue;
                }
                QCOMPARE(idsOf(records[at]["ids"].toArray()), idsOf(expected["ids"].toArray()));
                QCOMPARE_NEAR(rows[at].at("ppl_self").toDouble(), expected["ppl_self"].toDouble(), 1e-9, 1e-4);
                QCOMPARE_NEAR(rows[at].at("ppl_base").toDouble(), expected["ppl_base"].toDouble(), 1e-9, 1e-4);
                QCOMPARE(rows[at].at("new_tokens").toInt(), 12);
                ++compared;
            }
        }
        QVERIFY2(compared >= 15, qPrintable(QString("only %1 of 18 continuations compared").arg(compared)));
    }
    // Cached and uncached: the same tokens and the same log-probabilities to float32 rounding.
    const auto cached = readCsvRows(dir + "/cached/generation.csv"), uncached = readCsvRows(dir + "/uncached/generation.csv");
    const auto cachedIds = readJsonl(dir + "/cached.jsonl"), uncachedIds = readJsonl(dir + "/uncached.jsonl");
    for (size_t i = 0; i < cached.size(); ++i) {
        QCOMPARE(idsOf(cachedIds[i]["ids"].toArray()), idsOf(uncachedIds[i]["ids"].toArray()));
        QCOMPARE_NEAR(cached[i].at("ppl_self").toDouble(), uncached[i].at("ppl_self").toDouble(), 1e-9, 2e-5);
    }
}

void TestGeneration::samplingIsReproducible() {
    const QString dir = tmp_.path() + "/sampling";
    QDir().mkpath(dir);
    auto sample = [&](const QString& seed, const QString& name, const QStringList& more = {}) {
        return runProcess(cli(), QStringList{"generate", "--model", gpt2_, "--prompts", prompts_, "--max-new-tokens", "10",
                                             "--temperature", "1.3", "--top-k", "20", "--top-p", "0.9", "--seed", seed,
                                             "--condition", "baseline", "--condition", "relu:L0H1", "--best-of", "3",
                                             "--jsonl", dir + "/" + name + ".jsonl", "--quiet"} +
                                     more);
    };
    for (const auto& [seed, name] : {std::pair<QString, QString>{"7", "a"}, {"7", "b"}, {"8", "c"}}) {
        const ProcResult r = sample(seed, name);
        QVERIFY2(r.finished && r.exitCode == 0, qPrintable(r.describe("sampling " + name)));
    }
    QCOMPARE(readFile(dir + "/a.jsonl"), readFile(dir + "/b.jsonl"));  // same seed: the same draws
    QVERIFY(readFile(dir + "/a.jsonl") != readFile(dir + "/c.jsonl"));
    // A prompt's three samples decode as one batch over one shared prefill; re-running the whole
    // sequences instead draws the same tokens (the draws fall far from the float32 differences).
    const ProcResult plain = sample("7", "plain", {"--no-cache"});
    QVERIFY2(plain.finished && plain.exitCode == 0, qPrintable(plain.describe("sampling --no-cache")));
    QCOMPARE(readFile(dir + "/plain.jsonl"), readFile(dir + "/a.jsonl"));
    // Three samples per prompt, and (top-k 20) no two samples of a prompt all the same.
    const auto records = readJsonl(dir + "/a.jsonl");
    QCOMPARE(records.size(), size_t(2 * 3 * 3));
    int distinctSamples = 0;
    for (size_t i = 0; i + 2 < records.size(); i += 3)
        distinctSamples += idsOf(records[i]["ids"].toArray()) != idsOf(records[i + 1]["ids"].toArray());
    QVERIFY(distinctSamples >= 4);
}

void TestGeneration::bestOfAndRefinement() {
    const QString dir = tmp_.path() + "/bestof";
    const ProcResult r = runProcess(cli(), {"generate", "--model", gpt2_, "--prompts", prompts_, "--max-new-tokens", "8",
                                            "--temperature", "1.0", "--seed", "3", "--best-of", "1,2,3", "--refine", "2",
                                            "--condition", "baseline", "--condition", "ablate:L1H2", "--csv", dir, "--quiet"});
    QVERIFY2(r.finished && r.exitCode == 0, qPrintable(r.describe("best-of")));
    const auto rows = readCsvRows(dir + "/generation.csv");
    const auto texts = readCsvRows(dir + "/generation_texts.csv");
    QCOMPARE(rows.size(), size_t(2 * 3 * 3 * 2));  // conditions x prompts x samples x iterations
    // Best of the first N by hand from the rows: the lowest ppl_base per prompt, averaged.
    const auto best = readCsvRows(dir + "/best_of.csv");
    QCOMPARE(best.size(), size_t(2 * 2 * 3));  // conditions x iterations x N
    for (const auto& b : best) {
        const int n = b.at("n").toInt(), iteration = b.at("iteration").toInt();
        double sum = 0;
        for (int p = 0; p < 3; ++p) {
            double lowest = INFINITY;
            for (const auto& row : rows)
                if (row.at("condition") == b.at("condition") && row.at("iteration").toInt() == iteration &&
                    row.at("prompt").toInt() == p && row.at("sample").toInt() < n)
                    lowest = std::min(lowest, row.at("ppl_base").toDouble());
            sum += lowest;
        }
        QCOMPARE_NEAR(b.at("ppl_base").toDouble(), sum / 3, 1e-12, 1e-12);
        QCOMPARE(b.at("prompts").toInt(), 3);
    }
    // Refinement on token-id prompts (no separator): iteration 2 continues prompt + iteration 1.
    const int promptLength[] = {5, 1, 12};
    for (size_t i = 0; i < texts.size(); ++i) {
        const int p = texts[i].at("prompt").toInt(), iteration = texts[i].at("iteration").toInt();
        QCOMPARE(texts[i].at("context_tokens").toInt(), promptLength[p] + (iteration == 2 ? 8 : 0));
    }
    const auto refinement = readCsvRows(dir + "/refinement.csv");
    QCOMPARE(refinement.size(), size_t(4));
}

void TestGeneration::runFileReopens() {
    const QString dir = tmp_.path() + "/reopen";
    ProcResult r = runProcess(cli(), {"generate", "--model", llama_, "--prompts", prompts_, "--max-new-tokens", "6",
                                      "--condition", "baseline", "--condition", "relu:L1H0", "--out", dir + "/g.h5", "--csv",
                                      dir + "/direct", "--quiet"});
    QVERIFY2(r.finished && r.exitCode == 0, qPrintable(r.describe("generate --out")));
    r = runProcess(cli(), {"show", dir + "/g.h5", "--csv", dir + "/shown"});
    QVERIFY2(r.finished && r.exitCode == 0, qPrintable(r.describe("show")));
    for (const char* table : {"generation", "generation_summary", "best_of", "refinement", "generation_texts", "generation_prompts"})
        QCOMPARE(readFile(dir + "/shown/" + table + ".csv"), readFile(dir + "/direct/" + table + ".csv"));
    r = runProcess(cli(), {"show", dir + "/g.h5"});
    QVERIFY(r.exitCode == 0 && r.out.contains("Generation per condition") && r.out.contains("relu:L1H0"));
}

void TestGeneration::orderAndMeansFromRunFiles() {
    const QString dir = tmp_.path() + "/runs";
    const QString data = gpt2_ + "/eval_ids.npy";
    ProcResult r = runProcess(cli(), {"run", "linearize,ablation", "--model", gpt2_, "--data", data, "--seq-len", "16",
                                      "--stride", "8", "--out", dir + "/scan.h5", "--csv", dir + "/scan", "--quiet"});
    QVERIFY2(r.finished && r.exitCode == 0, qPrintable(r.describe("run linearize,ablation")));
    // relu:2 with --order = the two least damaging heads named explicitly.
    QStringList firstTwo;
    for (const auto& row : readCsvRows(dir + "/scan/linearize_heads.csv"))
        if (row.at("order").toInt() <= 2) firstTwo << row.at("name");
    QCOMPARE(firstTwo.size(), 2);
    r = runProcess(cli(), {"generate", "--model", gpt2_, "--prompts", prompts_, "--max-new-tokens", "8", "--order",
                           dir + "/scan.h5", "--condition", "relu:2", "--condition", "relu:" + firstTwo.join(','),
                           "--condition", "mean-ablate:L0H2,L1", "--means", dir + "/scan.h5", "--jsonl", dir + "/g.jsonl",
                           "--quiet"});
    QVERIFY2(r.finished && r.exitCode == 0, qPrintable(r.describe("generate --order --means")));
    // The same mean ablation with the means computed on --data (the same windows).
    r = runProcess(cli(), {"generate", "--model", gpt2_, "--prompts", prompts_, "--max-new-tokens", "8", "--condition",
                           "mean-ablate:L0H2,L1", "--data", data, "--seq-len", "16", "--stride", "8", "--jsonl",
                           dir + "/data.jsonl", "--quiet"});
    QVERIFY2(r.finished && r.exitCode == 0, qPrintable(r.describe("generate --data")));
    const auto g = readJsonl(dir + "/g.jsonl"), fromData = readJsonl(dir + "/data.jsonl");
    QCOMPARE(g.size(), size_t(9));
    for (int p = 0; p < 3; ++p) {
        QCOMPARE(idsOf(g[p]["ids"].toArray()), idsOf(g[3 + p]["ids"].toArray()));
        QCOMPARE(idsOf(g[6 + p]["ids"].toArray()), idsOf(fromData[p]["ids"].toArray()));
    }
}

void TestGeneration::demoModelCopies() {
    // The demo language: "copy w1 w2 w3 w4 again" is followed by the same four words. The trained
    // demo model does it; text prompts go through its tokenizer and come back as text.
    const QString dir = tmp_.path() + "/demo";
    QVERIFY(writeFile(dir + ".txt", "copy lonu sasa loka mito again\ncount one two\n"));
    const ProcResult r = runProcess(cli(), {"generate", "--model", sourceDir() + "/resources/demo/model", "--prompts",
                                            dir + ".txt", "--max-new-tokens", "5", "--jsonl", dir + ".jsonl", "--quiet"});
    QVERIFY2(r.finished && r.exitCode == 0, qPrintable(r.describe("generate on the demo")));
    const auto records = readJsonl(dir + ".jsonl");
    QCOMPARE(records.size(), size_t(2));
    QVERIFY2(records[0]["text"].toString().startsWith("lonu sasa loka mito ."), qPrintable(records[0]["text"].toString()));
    QVERIFY2(records[1]["text"].toString().startsWith("three four five"), qPrintable(records[1]["text"].toString()));
}

void TestGeneration::badInput_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QStringList>("mentions");
    QTest::newRow("best-of greedy") << QStringList{"--best-of", "1,3"} << QStringList{"--best-of", "--temperature"};
    QTest::newRow("relu:N without order") << QStringList{"--condition", "relu:3"} << QStringList{"--condition", "--order"};
    QTest::newRow("unknown condition") << QStringList{"--condition", "prune:L0H1"} << QStringList{"prune:L0H1"};
    QTest::newRow("head outside") << QStringList{"--condition", "ablate:L7H0"} << QStringList{"L7H0", "out of range"};
    QTest::newRow("mean without means") << QStringList{"--condition", "mean-ablate:L0H1"} << QStringList{"--data", "--means"};
    QTest::newRow("too long") << QStringList{"--max-new-tokens", "40"} << QStringList{"prompt 3", "context of 48"};
    QTest::newRow("top-p without temperature") << QStringList{"--top-p", "0.5"} << QStringList{"--top-p", "--temperature"};
    QTest::newRow("bad top-p") << QStringList{"--temperature", "1", "--top-p", "1.5"} << QStringList{"--top-p"};
    QTest::newRow("text without tokenizer") << QStringList{"--prompts", "{TEXT}"} << QStringList{"{TEXT}", "tokenizer"};
    QTest::newRow("bad jsonl") << QStringList{"--prompts", "{BADJSON}"} << QStringList{"{BADJSON}", "line 2"};
    QTest::newRow("id outside vocabulary") << QStringList{"--prompts", "{BIGID}"} << QStringList{"{BIGID}", "99"};
    QTest::newRow("means from a run without ablation")
        << QStringList{"--condition", "mean-ablate:L0H1", "--means", "{TEXT}"} << QStringList{"{TEXT}"};
}

void TestGeneration::badInput() {
    QFETCH(QStringList, args);
    QFETCH(QStringList, mentions);
    const QString text = tmp_.path() + "/text_prompts.txt", badJson = tmp_.path() + "/bad.jsonl",
                  bigId = tmp_.path() + "/big.jsonl";
    QVERIFY(writeFile(text, "hello there\n"));
    QVERIFY(writeFile(badJson, "{\"ids\": [1, 2]}\n{\"ids\": [1, \n"));
    QVERIFY(writeFile(bigId, "{\"ids\": [1, 99]}\n"));
    const std::initializer_list<std::pair<const char*, QString>> values{{"{TEXT}", text}, {"{BADJSON}", badJson}, {"{BIGID}", bigId}};
    QStringList full{"generate", "--model", gpt2_, "--prompts", prompts_, "--max-new-tokens", "4"};
    full += withPlaceholders(args, values);
    const ProcResult r = runProcess(cli(), full);
    expectOneErrorLine(r, 2, withPlaceholders(mentions, values), runLine(r));
}

QTEST_GUILESS_MAIN(TestGeneration)
#include "test_generation.moc"
