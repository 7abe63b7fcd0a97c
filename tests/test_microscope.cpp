// One prompt under the microscope (layerscope-cli prompt) and activation patching
// (layerscope-cli patch) against the independent float64 hook references
// tests/reference/prompt_reference.py and patching_reference.py, on random GPT-2 and
// grouped-query Llama models and the demo: every attention weight and summary, every direct
// logit attribution (adding up to the logit minus the final norm's bias), the promoted and
// suppressed tokens, every patching value; run files that reopen; text pairs on the demo, where
// the copying head stands out; bad pair files.
#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <map>

#include "cli_test_support.h"
#include "test_support.h"

using namespace reftest;

namespace {

QString cli() { return QStringLiteral(LAYERSCOPE_CLI); }
QString demoModel() { return sourceDir() + "/resources/demo/model"; }
QString copyPairs() { return sourceDir() + "/resources/demo/copy_pairs.jsonl"; }

using Rows = std::vector<std::map<QString, QString>>;

// Every column of the reference's table in ours, row for row: texts equal, numbers within
// abs + rel * |reference| (NaN matching NaN). Columns listed in `ids` are token ids that a
// float32 near-tie may reorder: at least 95% of them must agree, and their values still match.
void compareTables(const QString& ours, const QString& ref, const QString& table, double abs, double rel,
                   const QStringList& ids = {}) {
    const Rows a = readCsvRows(ours + "/" + table + ".csv"), b = readCsvRows(ref + "/" + table + ".csv");
    QVERIFY2(!b.empty(), qPrintable("the reference wrote no " + table));
    QCOMPARE(a.size(), b.size());
    std::map<QString, int> idsSame;
    for (size_t i = 0; i < b.size(); ++i)
        for (const auto& [column, expected] : b[i]) {
            const auto it = a[i].find(column);
            QVERIFY2(it != a[i].end(), qPrintable(table + " lacks column " + column));
            const QString& got = it->second;
            if (ids.contains(column)) {
                idsSame[column] += got == expected;
                continue;
            }
            bool numberGot = false, numberExpected = false;
            const double u = got.toDouble(&numberGot), v = expected.toDouble(&numberExpected);
            if (!numberGot || !numberExpected) {
                QVERIFY2(got == expected, qPrintable(QString("%1.%2 row %3: '%4', reference '%5'").arg(table, column).arg(i).arg(got, expected)));
                continue;
            }
            if (std::isnan(u) && std::isnan(v)) continue;
            QVERIFY2(withinTolerance(u, v, abs, rel),
                     qPrintable(QString("%1.%2 row %3: %4, reference %5").arg(table, column).arg(i).arg(got, expected)));
        }
    for (const auto& [column, same] : idsSame)
        QVERIFY2(same >= 0.95 * double(b.size()), qPrintable(QString("%1.%2: %3 of %4 agree").arg(table, column).arg(same).arg(b.size())));
}

// Every CSV of a run equals, byte for byte, the one `show` wrote from its run file.
void expectShowRereads(const QString& run, const QString& ours, const QString& reread) {
    const ProcResult s = runProcess(cli(), {"show", run, "--csv", reread});
    QVERIFY2(s.finished && s.exitCode == 0, qPrintable(s.describe("layerscope-cli show")));
    for (const QString& f : QDir(ours).entryList({"*.csv"}, QDir::Files))
        QVERIFY2(readFile(ours + "/" + f) == readFile(reread + "/" + f), qPrintable(f + " differs after reopening the run file"));
}

}  // namespace

class TestMicroscope : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void promptMatchesReference_data();
    void promptMatchesReference();
    void patchingMatchesReference_data();
    void patchingMatchesReference();
    void demoCopyingHeadStandsOut();
    void datasetWindowAndLimits();
    void badPairs_data();
    void badPairs();

private:
    QString model(const QString& name) const { return name == "demo" ? demoModel() : tmp_.path() + "/" + name; }
    QTemporaryDir tmp_;
};

void TestMicroscope::initTestCase() {
    QVERIFY(tmp_.isValid());
    const QStringList common{"--vocab", "60", "--ctx", "32", "--tokens", "24", "--eval-windows", "16", "8", "0"};
    QString error = makeModel(model("gpt2"), QStringList{"--arch", "gpt2", "--layers", "3", "--dim", "32", "--heads", "4", "--seed", "21"} + common);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    error = makeModel(model("llama"), QStringList{"--arch", "llama", "--layers", "3", "--dim", "48", "--heads", "6", "--kv-heads", "2",
                                                  "--tied", "0", "--seed", "22"} + common);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    // Llama with attention and MLP biases: the attention bias rows of the attribution.
    error = makeModel(model("llama-bias"), QStringList{"--arch", "llama", "--layers", "2", "--dim", "32", "--heads", "4", "--kv-heads",
                                                       "2", "--attn-bias", "1", "--mlp-bias", "1", "--seed", "23"} + common);
    QVERIFY2(error.isEmpty(), qPrintable(error));
}

void TestMicroscope::promptMatchesReference_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("ids");
    QTest::addColumn<QString>("position");  // "" = the default (the last)
    QTest::addColumn<QString>("token");     // "" = the default (the next token, or the top prediction)
    // Repeated tokens, so that the duplicate and induction scores have positions to average.
    QTest::newRow("gpt2, last position, top prediction") << "gpt2" << "5,9,13,5,9,13,5,9,40,2" << "" << "";
    QTest::newRow("gpt2, middle position, chosen token") << "gpt2" << "5,9,13,5,9,13,5,9,40,2" << "4" << "17";
    QTest::newRow("llama gqa, next token") << "llama" << "1,2,3,4,1,2,3,4,1,2,3,4,7" << "6" << "";
    QTest::newRow("llama with biases") << "llama-bias" << "8,3,8,3,8,3,11" << "" << "";
    QTest::newRow("demo, a copy") << "demo" << "10,15,21,22,20,9,15,21" << "" << "";
    QTest::newRow("one token") << "gpt2" << "7" << "" << "";
}

void TestMicroscope::promptMatchesReference() {
    QFETCH(QString, name);
    QFETCH(QString, ids);
    QFETCH(QString, position);
    QFETCH(QString, token);
    const QString dir = tmp_.path() + "/prompt-" + QString(QTest::currentDataTag()).replace(QRegularExpression("\\W+"), "-");
    const QString ours = dir + "/ours", ref = dir + "/ref", run = dir + "/run.h5";
    QStringList args{"prompt", "--model", model(name), "--ids", ids, "--top", "5", "--csv", ours, "--out", run, "--quiet", "--threads", "1"};
    if (!position.isEmpty()) args << "--position" << position;
    if (!token.isEmpty()) args << "--token-id" << token;
    const ProcResult r = runProcess(cli(), args);
    QVERIFY2(r.finished && r.exitCode == 0, qPrintable(r.describe("layerscope-cli prompt")));
    // The reference takes the position and token LayerScope chose (the defaults are ours to test here).
    const Rows summary = readCsvRows(ours + "/dla_summary.csv");
    QCOMPARE(summary.size(), size_t(1));
    const int tokens = int(ids.split(',').size());
    QCOMPARE(summary[0].at("position").toInt(), position.isEmpty() ? tokens - 1 : position.toInt());
    if (!token.isEmpty()) QCOMPARE(summary[0].at("token_id"), token);
    if (position == "6") QCOMPARE(summary[0].at("token_id"), ids.split(',')[7]);  // the prompt's next token
    QCOMPARE(summary[0].at("token_source"), token.isEmpty() ? (position.isEmpty() ? QString("prediction") : QString("target")) : QString("chosen"));
    const ProcResult p = runProcess(python(), {sourceDir() + "/tests/reference/prompt_reference.py", "--model", model(name), "--ids", ids,
                                               "--position", summary[0].at("position"), "--token-id", summary[0].at("token_id"), "--top", "5",
                                               "--out", ref});
    QVERIFY2(p.finished && p.exitCode == 0, qPrintable(p.describe("prompt_reference.py")));
    // float32 forward against float64: weights and logits to 1e-5 relative.
    compareTables(ours, ref, "attention", 2e-6, 1e-4);
    compareTables(ours, ref, "attention_summary", 2e-5, 1e-4);
    compareTables(ours, ref, "dla", 2e-5, 1e-4);
    compareTables(ours, ref, "dla_summary", 2e-5, 1e-5);
    compareTables(ours, ref, "dla_top", 2e-5, 1e-4, {"token_id"});
    if (QTest::currentTestFailed()) return;
    // The components add up to the logit minus the final norm's bias term.
    const double logit = summary[0].at("logit").toDouble();
    double sum = 0;
    for (const auto& row : readCsvRows(ours + "/dla.csv")) sum += row.at("value").toDouble();
    QCOMPARE_NEAR(sum, summary[0].at("components_sum").toDouble(), 1e-9, 1e-9);
    QCOMPARE_NEAR(sum + summary[0].at("final_norm_bias").toDouble(), logit, 1e-4, 1e-5);
    // Each query's weights add up to 1.
    std::map<QString, double> rowSums;
    for (const auto& row : readCsvRows(ours + "/attention.csv"))
        rowSums[row.at("layer") + "/" + row.at("head") + "/" + row.at("query")] += row.at("weight").toDouble();
    for (const auto& [query, s] : rowSums) QVERIFY2(std::abs(s - 1) < 1e-5, qPrintable(query));
    expectShowRereads(run, ours, dir + "/reread");
}

void TestMicroscope::patchingMatchesReference_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QByteArray>("pairs");
    QTest::addColumn<QString>("what");  // "" = every site
    const QByteArray random = "{\"clean\": [3, 14, 15, 9, 26, 5, 35, 8], \"corrupted\": [3, 14, 27, 9, 18, 5, 35, 8], \"answer\": 42, \"wrong\": 11}\n"
                              "\n"
                              "{\"clean\": [2, 7, 18, 28, 1, 8, 28, 4], \"corrupted\": [2, 7, 50, 28, 1, 33, 28, 4], \"answer\": 12, \"wrong\": 30}\n"
                              "{\"clean\": [31, 41, 59, 26, 53, 58, 9, 7], \"corrupted\": [31, 41, 59, 26, 6, 58, 9, 7], \"answer\": 3, \"wrong\": 44}\n";
    QTest::newRow("gpt2, every site") << "gpt2" << random << "";
    QTest::newRow("llama gqa, every site") << "llama" << random << "";
    QTest::newRow("gpt2, heads and mlp") << "gpt2" << random << "heads,mlp";
    QTest::newRow("demo, copy pairs as text") << "demo" << readFile(copyPairs()) << "resid";
}

void TestMicroscope::patchingMatchesReference() {
    QFETCH(QString, name);
    QFETCH(QByteArray, pairs);
    QFETCH(QString, what);
    const QString dir = tmp_.path() + "/patch-" + name + "-" + (what.isEmpty() ? QString("all") : QString(what).replace(',', '-'));
    QDir().mkpath(dir);
    const QString ours = dir + "/ours", ref = dir + "/ref", run = dir + "/run.h5", pairsFile = dir + "/pairs.jsonl";
    QVERIFY(writeFile(pairsFile, pairs));
    QStringList args{"patch", "--model", model(name), "--pairs", pairsFile, "--csv", ours, "--out", run, "--quiet", "--threads", "1"};
    if (!what.isEmpty()) args << "--what" << what;
    const ProcResult r = runProcess(cli(), args);
    QVERIFY2(r.finished && r.exitCode == 0, qPrintable(r.describe("layerscope-cli patch")));
    // The reference reads token ids: the pairs as LayerScope tokenized them (patch_tokens has the
    // first pair; text pairs are tokenized by the reference test of the tokenizer elsewhere).
    QString idPairs = pairsFile;
    if (name == "demo") {
        // Word-level vocabulary: one id per word, from tokenizer.json's vocab.
        const QJsonObject vocab = QJsonDocument::fromJson(readFile(demoModel() + "/tokenizer.json")).object()["model"].toObject()["vocab"].toObject();
        const auto idsOf = [&](const QString& text) {
            QJsonArray ids;
            for (const QString& w : text.split(' ', Qt::SkipEmptyParts)) ids.append(vocab[w].toInt());
            return ids;
        };
        QByteArray lines;
        for (const QByteArray& line : pairs.split('\n')) {
            if (line.trimmed().isEmpty()) continue;
            const QJsonObject o = QJsonDocument::fromJson(line).object();
            const QJsonObject p{{"clean", idsOf(o["clean"].toString())}, {"corrupted", idsOf(o["corrupted"].toString())},
                                {"answer", vocab[o["answer"].toString()].toInt()}, {"wrong", vocab[o["wrong"].toString()].toInt()}};
            lines += QJsonDocument(p).toJson(QJsonDocument::Compact) + "\n";
        }
        idPairs = dir + "/pairs_ids.jsonl";
        QVERIFY(writeFile(idPairs, lines));
    }
    QStringList refArgs{sourceDir() + "/tests/reference/patching_reference.py", "--model", model(name), "--pairs", idPairs, "--out", ref};
    if (!what.isEmpty()) refArgs << "--what" << what;
    const ProcResult p = runProcess(python(), refArgs);
    QVERIFY2(p.finished && p.exitCode == 0, qPrintable(p.describe("patching_reference.py")));
    // Normalised values: differences of float32 logits over a difference of order 1-50.
    compareTables(ours, ref, "patch_pairs", 1e-4, 1e-5);
    const QStringList tables = what.isEmpty() ? QStringList{"patch_resid", "patch_heads", "patch_heads_position", "patch_mlp"}
                               : what == "resid" ? QStringList{"patch_resid"}
                                                 : QStringList{"patch_heads", "patch_heads_position", "patch_mlp"};
    for (const QString& t : tables) compareTables(ours, ref, t, 1e-4, 1e-4);
    if (what == "heads,mlp") QVERIFY(!QFileInfo::exists(ours + "/patch_resid.csv"));
    if (QTest::currentTestFailed()) return;
    // Patching the whole final residual at the last position makes the target run the source's.
    if (tables.contains("patch_resid")) {
        const Rows resid = readCsvRows(ours + "/patch_resid.csv");
        const int T = readCsvRows(ours + "/patch_tokens.csv").size();
        const int L = int(resid.size() / 2 / T) - 1;
        const auto& denoiseLast = resid[size_t(L * T + T - 1)];
        QCOMPARE(denoiseLast.at("direction"), QString("denoise"));
        QCOMPARE_NEAR(denoiseLast.at("value").toDouble(), 1.0, 1e-5, 0);
        QCOMPARE_NEAR(resid[resid.size() - 1].at("value").toDouble(), 0.0, 1e-5, 0);
    }
    expectShowRereads(run, ours, dir + "/reread");
}

void TestMicroscope::demoCopyingHeadStandsOut() {
    // "copy A B C D again A B" -> C: the demo's copying is done by block 3's heads (their
    // induction scores are near 1), so restoring the clean output of one of them recovers most
    // of the answer and the other heads of blocks 1-2 almost nothing.
    const QString dir = tmp_.path() + "/copy";
    const ProcResult r = runProcess(cli(), {"patch", "--model", demoModel(), "--pairs", copyPairs(), "--what", "heads", "--csv", dir, "--quiet"});
    QVERIFY2(r.finished && r.exitCode == 0, qPrintable(r.describe("patch")));
    double best = 0, earlyMax = 0;
    QString bestHead;
    for (const auto& row : readCsvRows(dir + "/patch_heads.csv")) {
        if (row.at("direction") != "denoise") continue;
        const double v = row.at("value").toDouble();
        if (v > best) best = v, bestHead = row.at("layer") + "/" + row.at("head");
        if (row.at("layer").toInt() <= 2) earlyMax = std::max(earlyMax, std::abs(v));
    }
    QVERIFY2(best > 0.4 && bestHead.startsWith("3/"), qPrintable(QString("best %1 at %2").arg(best).arg(bestHead)));
    QVERIFY2(earlyMax < 0.05, qPrintable(QString::number(earlyMax)));
    const ProcResult s = runProcess(cli(), {"prompt", "--model", demoModel(), "--text", "copy sami sape tope runu again sami sape",
                                            "--csv", dir + "/prompt", "--quiet"});
    QVERIFY2(s.finished && s.exitCode == 0, qPrintable(s.describe("prompt")));
    const Rows summary = readCsvRows(dir + "/prompt/dla_summary.csv");
    QCOMPARE(summary[0].at("token"), QString("tope"));  // the model copies
    double induction = 0;
    for (const auto& row : readCsvRows(dir + "/prompt/attention_summary.csv"))
        if (row.at("layer") == "3") induction = std::max(induction, row.at("induction").toDouble());
    QVERIFY2(induction > 0.9, qPrintable(QString::number(induction)));
}

void TestMicroscope::datasetWindowAndLimits() {
    // --data --window K: window K of the dataset as `run` windows it; here the first 16 words of
    // eval.txt (a word-level tokenizer: one token per word), the same as typing them.
    const QString eval = sourceDir() + "/resources/demo/eval.txt";
    const QStringList words = QString::fromUtf8(readFile(eval)).split(QRegularExpression("\\s+"), Qt::SkipEmptyParts).mid(16, 16);
    const QString dir = tmp_.path() + "/window";
    ProcResult r = runProcess(cli(), {"prompt", "--model", demoModel(), "--data", eval, "--seq-len", "16", "--window", "1", "--csv",
                                      dir + "/window", "--quiet"});
    QVERIFY2(r.finished && r.exitCode == 0, qPrintable(r.describe("prompt --data --window")));
    r = runProcess(cli(), {"prompt", "--model", demoModel(), "--text", words.join(' '), "--csv", dir + "/text", "--quiet"});
    QVERIFY2(r.finished && r.exitCode == 0, qPrintable(r.describe("prompt --text")));
    QCOMPARE(readFile(dir + "/window/prompt_tokens.csv"), readFile(dir + "/text/prompt_tokens.csv"));
    QCOMPARE(readCsvRows(dir + "/window/prompt_tokens.csv").size(), size_t(16));
    // Past the last window, and longer than the microscope takes: one clear error each.
    r = runProcess(cli(), {"prompt", "--model", demoModel(), "--data", eval, "--seq-len", "16", "--window", "100000", "--quiet", "--csv", dir + "/x"});
    expectOneErrorLine(r, 2, {"--window", "windows"}, runLine(r));
    QStringList ids;
    for (int i = 0; i < 300; ++i) ids << QString::number(i % 70 + 1);
    const QString big = tmp_.path() + "/big";
    QVERIFY(makeModel(big, {"--arch", "gpt2", "--layers", "1", "--dim", "16", "--heads", "2", "--vocab", "80", "--ctx", "400",
                            "--tokens", "8", "--seed", "5"}).isEmpty());
    r = runProcess(cli(), {"prompt", "--model", big, "--ids", ids.join(','), "--quiet", "--csv", dir + "/z"});
    expectOneErrorLine(r, 2, {"300 tokens", "256"}, runLine(r));
}

void TestMicroscope::badPairs_data() {
    QTest::addColumn<QByteArray>("pairs");
    QTest::addColumn<QStringList>("mentions");
    QTest::newRow("lengths differ") << QByteArray("{\"clean\": [1, 2, 3], \"corrupted\": [1, 2], \"answer\": 4, \"wrong\": 5}\n")
                                    << QStringList{"line 1", "same length"};
    QTest::newRow("pairs of other lengths")
        << QByteArray("{\"clean\": [1, 2, 3], \"corrupted\": [1, 2, 4], \"answer\": 4, \"wrong\": 5}\n"
                      "{\"clean\": [1, 2], \"corrupted\": [1, 3], \"answer\": 4, \"wrong\": 5}\n")
        << QStringList{"line 2", "same length"};
    QTest::newRow("answer of two tokens") << QByteArray("{\"clean\": \"copy sami\", \"corrupted\": \"copy sape\", \"answer\": \"tope runu\", \"wrong\": \"sami\"}\n")
                                          << QStringList{"line 1", "\"answer\"", "2 tokens"};
    QTest::newRow("no wrong token") << QByteArray("{\"clean\": [1, 2], \"corrupted\": [1, 3], \"answer\": 4}\n") << QStringList{"line 1", "\"wrong\""};
    QTest::newRow("id outside the vocabulary") << QByteArray("{\"clean\": [1, 2], \"corrupted\": [1, 300], \"answer\": 4, \"wrong\": 5}\n")
                                               << QStringList{"line 1", "300", "vocabulary"};
    QTest::newRow("not JSON") << QByteArray("clean: copy\n") << QStringList{"line 1", "JSON"};
    QTest::newRow("clean and corrupted the same")
        << QByteArray("{\"clean\": [1, 2, 3], \"corrupted\": [1, 2, 3], \"answer\": 4, \"wrong\": 5}\n") << QStringList{"pairs.jsonl", "line 1", "same logit difference"};
    QTest::newRow("empty") << QByteArray("\n\n") << QStringList{"no prompt pair"};
}

void TestMicroscope::badPairs() {
    QFETCH(QByteArray, pairs);
    QFETCH(QStringList, mentions);
    const QString dir = tmp_.path() + "/bad-" + QString(QTest::currentDataTag()).replace(QRegularExpression("\\W+"), "-");
    QDir().mkpath(dir);
    QVERIFY(writeFile(dir + "/pairs.jsonl", pairs));
    const ProcResult r = runProcess(cli(), {"patch", "--model", demoModel(), "--pairs", dir + "/pairs.jsonl", "--out", dir + "/run.h5", "--quiet"});
    expectOneErrorLine(r, 2, mentions, runLine(r));
    QVERIFY(!QFileInfo::exists(dir + "/run.h5"));
}

QTEST_GUILESS_MAIN(TestMicroscope)
#include "test_microscope.moc"
