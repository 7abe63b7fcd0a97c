// layerscope-cli compare, end to end: three runs (the demo model on two window settings, and
// a random 2-layer GPT-2 on its own token ids), compared; tests/reference/compare_reference.py
// rebuilds every per-layer and per-head row from the runs' own CSVs (the same numbers) and
// recomputes the ranking statistics from their definitions. Also what compare says about
// differences, a run compared with itself, --json, and bad input.
#include <QDir>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include "cli_test_support.h"
#include "model_reference_support.h"
#include "test_support.h"

using namespace reftest;

namespace {

QString cli() { return QStringLiteral(LAYERSCOPE_CLI); }
ProcResult runCli(const QStringList& args) { return runProcess(cli(), args, 600000); }
QString demo(const QString& file) { return sourceDir() + "/resources/demo/" + file; }

// The CSV rows of a file (header first), split at commas (compare's tables quote nothing here).
QList<QStringList> csvRows(const QString& path) {
    QList<QStringList> rows;
    for (const QString& line : QString::fromUtf8(readFile(path)).split('\n', Qt::SkipEmptyParts)) rows << line.split(',');
    return rows;
}

}  // namespace

class TestCompare : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();
    void matchesTheRunsOwnCsvs();
    void saysWhatDiffers();
    void runAgainstItself();
    void json();
    void badInput_data();
    void badInput();

private:
    QString path(const QString& name) const { return dir_.path() + "/" + name; }
    // run ANALYSES ... --out <name>.h5 --csv <name>
    void makeRun(const QString& name, const QStringList& args);

    QTemporaryDir dir_;
};

void TestCompare::makeRun(const QString& name, const QStringList& args) {
    const ProcResult r = runCli(args + QStringList{"--out", path(name + ".h5"), "--csv", path(name), "--quiet"});
    QVERIFY2(r.finished && r.exitCode == 0, qPrintable(r.describe("run " + name)));
}

void TestCompare::initTestCase() {
    QVERIFY(dir_.isValid());
    const QString error = makeModel(path("tiny"), {"--arch", "gpt2", "--layers", "2", "--dim", "32", "--heads", "4",
                                                  "--vocab", "300", "--seed", "21", "--eval-windows", "64", "64", "0",
                                                  "--eval-tokens", "1200"});
    QVERIFY2(error.isEmpty(), qPrintable(error));
    const QStringList demoRun{"run", "cossim,saturation,lensdiv,losssep,ablation", "--model", demo("model"), "--data",
                              demo("eval.txt"), "--no-probes"};
    makeRun("a", demoRun + QStringList{"--max-windows", "6", "--post-attention"});
    makeRun("b", demoRun + QStringList{"--max-windows", "12", "--seq-len", "64"});
    makeRun("c", {"run", "cossim,saturation,ablation", "--model", path("tiny"), "--data", path("tiny/eval_ids.npy"),
                  "--seq-len", "64"});
}

void TestCompare::matchesTheRunsOwnCsvs() {
    const ProcResult r = runCli({"compare", path("a.h5"), path("b.h5"), path("c.h5"), "--csv", path("abc")});
    QVERIFY2(r.finished && r.exitCode == 0, qPrintable(r.describe("compare")));
    const ProcResult check = runProcess(python(), {sourceDir() + "/tests/reference/compare_reference.py", "--compare",
                                                   path("abc"), path("a"), path("b"), path("c")});
    QVERIFY2(check.finished && check.exitCode == 0, qPrintable(check.describe("compare_reference.py")));
    qInfo("%s", check.out.trimmed().constData());

    // What each run is: as `show --json` reports it.
    const QList<QStringList> runs = csvRows(path("abc/compare_runs.csv"));
    QCOMPARE(runs.size(), 4);
    QCOMPARE(runs[0].join(','), QString("run,file,model,model_hash,data,data_hash,tokens,windows,analyses,status"));
    const QStringList names{"a", "b", "c"};
    for (int i = 0; i < 3; ++i) {
        const ProcResult shown = runCli({"show", path(names[i] + ".h5"), "--json"});
        QVERIFY2(shown.finished && shown.exitCode == 0, qPrintable(shown.describe("show")));
        const QJsonObject own = QJsonDocument::fromJson(shown.out).object();
        const QStringList& row = runs[i + 1];
        QCOMPARE(row[0], QString::number(i));
        QCOMPARE(row[1], path(names[i] + ".h5"));
        QCOMPARE(row[2], own["model"].toString());
        QCOMPARE(row[4], own["data"].toString());
        QCOMPARE(row[6].toLongLong(), qint64(own["tokens"].toDouble()));
        QCOMPARE(row[7].toLongLong(), qint64(own["windows"].toDouble()));
        QCOMPARE(row[9], own["status"].toString());
    }
    QCOMPARE(runs[3][8], QString("cossim saturation ablation"));

    // A 4-layer model against a 2-layer one: layers 3 and 4 are run 0's and run 1's alone.
    int onlyDeep = 0;
    for (const QStringList& row : csvRows(path("abc/compare_layers.csv")).mid(1))
        if (row[0] == "cossim_mean" && row[1].toInt() >= 3) {
            QVERIFY2(row[3] != "2", qPrintable(row.join(',')));
            ++onlyDeep;
        }
    QCOMPARE(onlyDeep, 4);  // layers 3, 4 of runs 0 and 1
    // The rankings: three pairs, zero and mean each.
    QCOMPARE(csvRows(path("abc/compare_rankings.csv")).size(), 1 + 6);
}

void TestCompare::saysWhatDiffers() {
    const ProcResult r = runCli({"compare", path("a.h5"), path("c.h5")});
    QVERIFY2(r.finished && r.exitCode == 0, qPrintable(r.describe("compare")));
    const QString out = QString::fromUtf8(r.out);
    QVERIFY2(out.contains("The runs differ in:"), qPrintable(out));
    QVERIFY2(out.contains("\n  model: GPT-2, 4 layers"), qPrintable(out));  // the demo model, then the tiny one
    QVERIFY2(out.contains("\n  data: " + demo("eval.txt")), qPrintable(out));
    QVERIFY2(out.contains("\n  seq_len: 128 in run 0; 64 in run 1"), qPrintable(out));
    QVERIFY2(out.contains("Head rankings between runs"), qPrintable(out));
}

void TestCompare::runAgainstItself() {
    const ProcResult r = runCli({"compare", path("b.h5"), path("b.h5"), "--csv", path("bb")});
    QVERIFY2(r.finished && r.exitCode == 0, qPrintable(r.describe("compare")));
    QVERIFY2(QString::fromUtf8(r.out).contains("The runs have the same model, data and parameters."), r.out.constData());
    // Every difference to run 0 is 0 (the same numbers read twice from one file).
    const QList<QStringList> layers = csvRows(path("bb/compare_layers.csv"));
    QVERIFY(layers.size() > 20);
    for (const QStringList& row : layers.mid(1)) QCOMPARE_NEAR(row[5].toDouble(), 0.0, 0, 0);
    // Rankings agree perfectly.
    for (const QStringList& row : csvRows(path("bb/compare_rankings.csv")).mid(1)) {
        QCOMPARE_NEAR(row[3].toDouble(), 1.0, 1e-12, 0);  // the same dPPL twice: rho 1 up to rounding
        QCOMPARE_NEAR(row[4].toDouble(), 1.0, 1e-12, 0);
        QCOMPARE(row[5], QString("1"));
    }
}

void TestCompare::json() {
    const ProcResult r = runCli({"compare", path("a.h5"), path("b.h5"), "--json"});
    QVERIFY2(r.finished && r.exitCode == 0, qPrintable(r.describe("compare --json")));
    QJsonParseError error;
    const QJsonObject j = QJsonDocument::fromJson(r.out, &error).object();
    QVERIFY2(error.error == QJsonParseError::NoError, qPrintable(error.errorString()));
    const QJsonArray differences = j["differences"].toArray();
    QVERIFY(!differences.isEmpty());
    const QJsonObject tables = j["tables"].toObject();
    for (const char* name : {"compare_runs", "compare_layers", "compare_heads", "compare_rankings", "compare_fronts"})
        QVERIFY2(tables.contains(name), name);
    QCOMPARE(tables["compare_runs"].toObject()["run"].toArray().size(), 2);
}

void TestCompare::badInput_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QStringList>("mentions");
    QTest::newRow("one run") << QStringList{"compare", "{A}"} << QStringList{"two or more run files"};
    QTest::newRow("a missing file") << QStringList{"compare", "{A}", "{DIR}/nothing.h5"} << QStringList{"nothing.h5"};
    QTest::newRow("not a run file") << QStringList{"compare", "{A}", "{TEXT}"} << QStringList{"eval.txt"};
}

void TestCompare::badInput() {
    QFETCH(QStringList, args);
    QFETCH(QStringList, mentions);
    const QStringList full = withPlaceholders(args, {{"{A}", path("a.h5")}, {"{DIR}", dir_.path()}, {"{TEXT}", demo("eval.txt")}});
    const ProcResult r = runCli(full + QStringList{"--csv", path("bad")});
    expectOneErrorLine(r, 2, mentions, runLine(r));
    QVERIFY2(!QDir(path("bad")).exists(), "nothing is written for bad input");
}

QTEST_GUILESS_MAIN(TestCompare)
#include "test_compare.moc"
