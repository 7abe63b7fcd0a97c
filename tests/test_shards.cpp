// Runs in shards (run --shard K/N, then merge): the documented window assignment; a run merged
// from its shards has every table of the single-machine run (same text, or the same double to
// 1e-9 relative where the shards' sums are added in another order; timings excepted); shards
// given in any order; bad shard sets named, nothing written; the analyses that cannot be
// sharded refused before any work.
#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <set>

#include "cli_test_support.h"
#include "data/dataset.h"
#include "data/windows.h"
#include "tokenizer/tokenizer.h"
#include "io/run_file.h"
#include "test_support.h"

using namespace reftest;

namespace {

QString cli() { return QStringLiteral(LAYERSCOPE_CLI); }
QString demoModel() { return sourceDir() + "/resources/demo/model"; }
QString demoData() { return sourceDir() + "/resources/demo/eval.txt"; }

// Every shardable analysis, with the switches that give each its full set of tables (the
// low-rank metrics, the attention-stage lens, the inspector on a window of the second shard,
// the probes on a sample drawn from every shard, the ablation subset across a shard boundary).
const char* kAnalyses = "cossim,saturation,lowrank,inspect,losssep,exit,ablation,lensdiv";
QStringList runOptions() {
    return {"--model", demoModel(), "--data", demoData(), "--seq-len", "64", "--probe-sample", "400",
            "--probe-epochs", "5", "--metric-ranks", "8", "--post-attention", "--inspect-window", "150",
            "--subset-windows", "120", "--quiet"};
}

// Columns that are wall times (or made from them): they differ between any two runs.
bool isTiming(const QString& column) {
    static const std::set<QString> names{"full_ms", "factored_ms", "speedup", "us_per_token", "seconds"};
    return names.count(column) || column.endsWith("_seconds");
}

QStringList csvLines(const QString& path) { return QString::fromUtf8(readFile(path)).split('\n', Qt::SkipEmptyParts); }

// Cell by cell: text equal, or both numbers within 1e-9 relative (1e-12 absolute).
QString tableDifference(const QString& name, const QString& expectedPath, const QString& actualPath) {
    const QStringList expected = csvLines(expectedPath), actual = csvLines(actualPath);
    if (expected.size() != actual.size())
        return QString("%1: %2 lines, the single run's %3").arg(name).arg(actual.size()).arg(expected.size());
    if (expected.isEmpty()) return {};
    const QStringList header = expected[0].split(',');
    if (actual[0] != expected[0]) return name + ": other columns: " + actual[0];
    for (int row = 1; row < expected.size(); ++row) {
        if (expected[row] == actual[row]) continue;
        const QStringList e = expected[row].split(','), a = actual[row].split(',');
        if (e.size() != a.size()) return QString("%1 row %2: %3 vs %4").arg(name).arg(row).arg(actual[row], expected[row]);
        for (int c = 0; c < e.size(); ++c) {
            if (e[c] == a[c] || (c < header.size() && isTiming(header[c]))) continue;
            bool eNumber = false, aNumber = false;
            const double ev = e[c].toDouble(&eNumber), av = a[c].toDouble(&aNumber);
            if (eNumber && aNumber && withinTolerance(av, ev, 1e-12, 1e-9)) continue;
            return QString("%1 row %2 column %3: merged %4, single run %5")
                .arg(name).arg(row).arg(c < header.size() ? header[c] : QString::number(c), a[c], e[c]);
        }
    }
    return {};
}

ProcResult runCli(const QStringList& args) { return runProcess(cli(), args, 600000); }

}  // namespace

class TestShards : public QObject {
    Q_OBJECT

private slots:
    // The assignment docs/sharding.md states: G window batches (of ~1024 tokens) cut into N
    // contiguous ranges, shard K taking batches [floor((K-1)G/N), floor(KG/N)).
    void assignmentCutsBatchesIntoContiguousRanges() {
        ls::WindowParams p;
        p.seqLen = 256;  // 4 windows per batch
        const std::vector<ls::Window> windows = ls::makeWindows(256 * 40, p);  // 40 windows, 10 batches
        QCOMPARE(ls::windowBatchRanges(windows).size(), size_t(10));
        std::vector<std::pair<size_t, size_t>> got;
        for (int k = 1; k <= 3; ++k) got.push_back(ls::shardWindowRange(windows, ls::WindowShard{k, 3}));
        // batches [0, 3), [3, 6), [6, 10) -> windows [0, 12), [12, 24), [24, 40)
        QCOMPARE(got[0], std::make_pair(size_t(0), size_t(12)));
        QCOMPARE(got[1], std::make_pair(size_t(12), size_t(24)));
        QCOMPARE(got[2], std::make_pair(size_t(24), size_t(40)));
        QCOMPARE(ls::shardWindowRange(windows, ls::WindowShard{}), std::make_pair(size_t(0), size_t(40)));
        QVERIFY_THROWS_EXCEPTION(ls::ParamError, ls::shardWindowRange(windows, ls::WindowShard{1, 11}));  // 10 batches: one shard gets none
        QCOMPARE(ls::parseShard("2/8").index, 2);
        QCOMPARE(ls::parseShard("2/8").count, 8);
        for (const char* bad : {"0/4", "5/4", "3", "a/4", "3/4x", "-1/4", "1/0"})
            QVERIFY_THROWS_EXCEPTION(ls::ParamError, ls::parseShard(bad));
    }

    // The demo model over its evaluation text, in one run and in 3 shards merged (given out of
    // order): every table of the one equals the other's.
    void mergedRunEqualsTheSingleRun() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString whole = dir.filePath("whole.h5");
        ProcResult r = runCli(QStringList{"run", kAnalyses} + runOptions() + QStringList{"--out", whole, "--csv", dir.filePath("whole")});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe("single run")));
        QStringList shards;
        for (int k = 1; k <= 3; ++k) {
            shards << dir.filePath(QString("shard-%1.h5").arg(k));
            r = runCli(QStringList{"run", kAnalyses} + runOptions() + QStringList{"--shard", QString("%1/3").arg(k), "--out", shards.back()});
            QVERIFY2(r.exitCode == 0, qPrintable(r.describe("shard")));
        }
        // Each shard is a normal run of its windows, marked as a shard.
        int64_t shardWindows = 0;
        for (const QString& s : shards) {
            const ls::LayerRun shard = ls::readRunFile(s.toStdString());
            QCOMPARE(shard.params.windows.shard.count, 3);
            shardWindows += shard.windowCount();
        }
        const ls::LayerRun single = ls::readRunFile(whole.toStdString());
        QCOMPARE(shardWindows, single.windowCount());

        const QString merged = dir.filePath("merged.h5");
        r = runCli({"merge", shards[2], shards[0], shards[1], "--out", merged, "--csv", dir.filePath("merged"), "--quiet"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe("merge")));
        const QStringList tables = QDir(dir.filePath("whole")).entryList({"*.csv"}, QDir::Files, QDir::Name);
        QVERIFY2(tables.size() >= 25, qPrintable(tables.join(", ")));
        QCOMPARE(QDir(dir.filePath("merged")).entryList({"*.csv"}, QDir::Files, QDir::Name), tables);
        int identical = 0;
        for (const QString& t : tables) {
            const QString a = dir.filePath("whole/" + t), b = dir.filePath("merged/" + t);
            const QString difference = tableDifference(t, a, b);
            QVERIFY2(difference.isEmpty(), qPrintable(difference));
            identical += readFile(a) == readFile(b);
        }
        // Per-token data concatenated: most tables are the same bytes, not just close.
        QVERIFY2(identical >= int(tables.size()) - 7, qPrintable(QString("%1 of %2 identical").arg(identical).arg(tables.size())));

        // The merged file is a whole run (no shard mark), reopened like any other.
        const ls::LayerRun reopened = ls::readRunFile(merged.toStdString());
        QVERIFY(!reopened.params.windows.shard.sharded());
        QCOMPARE(reopened.scoredTokens(), single.scoredTokens());
        QCOMPARE(reopened.capture.targetIndex, single.capture.targetIndex);
        QCOMPARE(reopened.capture.lensTop1, single.capture.lensTop1);
        QCOMPARE(reopened.capture.inspect.window, 150);
        r = runCli({"show", merged, "--json"});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe("show merged")));
    }

    // Shard sets that are not one run's: each problem named, the --out file never written.
    void badShardSetsAreNamedAndNothingIsWritten() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QStringList base{"run", "cossim,saturation", "--model", demoModel(), "--data", demoData(), "--seq-len", "64", "--quiet"};
        auto shard = [&](const QString& name, const QString& k, QStringList extra = {}) {
            const QString path = dir.filePath(name);
            const ProcResult r = runCli(base + QStringList{"--shard", k, "--out", path} + extra);
            if (r.exitCode != 0) qWarning("%s", qPrintable(r.describe(name)));
            return path;
        };
        const QString s1 = shard("s1.h5", "1/3"), s2 = shard("s2.h5", "2/3"), s3 = shard("s3.h5", "3/3");
        const QString other = shard("other.h5", "3/3", {"--bins", "30"});
        const QString ofFour = shard("four.h5", "3/4");
        const QString whole = dir.filePath("whole.h5");
        QCOMPARE(runCli(base + QStringList{"--out", whole}).exitCode, 0);
        // A partial shard: as an interrupted shard writes it.
        ls::LayerRun partial = ls::readRunFile(s3.toStdString());
        partial.info.complete = false;
        const QString partialPath = dir.filePath("partial.h5");
        ls::writeRunFile(partialPath.toStdString(), partial);

        const QString copy = dir.filePath("copy.h5");
        QVERIFY(QFile::copy(s2, copy));
        const QString out = dir.filePath("merged.h5");
        struct Case {
            const char* tag;
            QStringList files;
            QStringList mention;
        };
        const std::vector<Case> cases = {
            {"missing", {s1, s3}, {"2/3", "missing"}},
            {"twice", {s1, s2, s2, s3}, {"s2.h5", "twice"}},
            {"a copy", {s1, s2, copy, s3}, {"copy.h5", "2/3", "s2.h5"}},
            {"other parameters", {s1, s2, other}, {"other.h5", "bins"}},
            {"other count", {s1, s2, ofFour}, {"four.h5", "3/4"}},
            {"partial", {s1, s2, partialPath}, {"partial.h5", "partial"}},
            {"not a shard", {s1, s2, whole}, {"whole.h5", "not a shard"}},
            {"not a run", {s1, s2, demoData()}, {"eval.txt"}},
        };
        for (const Case& c : cases) {
            const ProcResult r = runCli(QStringList{"merge"} + c.files + QStringList{"--out", out});
            expectOneErrorLine(r, 2, c.mention, c.tag + QString(": ") + QString::fromUtf8(r.err));
            QVERIFY2(!QFileInfo::exists(out), c.tag);
        }
        QCOMPARE(runCli({"merge", s1, s2, s3, "--out", out, "--quiet"}).exitCode, 0);
        QVERIFY(QFileInfo::exists(out));
    }

    // run --plan: the run's windows and tokens, its shards' largest share as the assignment
    // gives it, estimates that are there (how close they come is measured, not asserted:
    // docs/sharding.md); nothing written.
    void planCountsTheRunAndItsShards() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString out = dir.filePath("never.h5");
        const ProcResult r = runCli({"run", "cossim,ablation,losssep", "--model", demoModel(), "--data", demoData(),
                                     "--seq-len", "64", "--probe-epochs", "3", "--plan", "--json", "--shard", "1/3",
                                     "--out", out});
        QVERIFY2(r.exitCode == 0, qPrintable(r.describe("plan")));
        QVERIFY(!QFileInfo::exists(out));
        const QJsonObject plan = QJsonDocument::fromJson(r.out).object();
        QVERIFY2(!plan.isEmpty(), r.out.constData());

        const ls::Tokenizer tokenizer = ls::Tokenizer::fromModelDir(demoModel().toStdString());
        const ls::Dataset data = ls::loadDataset(demoData().toStdString(), &tokenizer, tokenizer.vocabSize(), {});
        ls::WindowParams p;
        p.seqLen = 64;
        const std::vector<ls::Window> windows = ls::makeWindows(int64_t(data.tokens.size()), data.documentStarts, p);
        const ls::WindowSummary summary = ls::summarizeWindows(windows, data.documentStarts);
        QCOMPARE(plan["windows"].toInteger(), summary.windows);
        QCOMPARE(plan["tokens"].toInteger(), summary.scoredTokens);
        QCOMPARE(plan["batches"].toInteger(), int64_t(ls::windowBatchRanges(windows).size()));
        QVERIFY(plan["calibration_tokens"].toInteger() > 0 && plan["calibration_tokens"].toInteger() < summary.scoredTokens);
        QVERIFY(plan["seconds"].toDouble() > 0);
        QVERIFY(plan["probe_seconds"].toDouble() > 0);
        QVERIFY(plan["mean_pass_seconds_per_token"].toDouble() > 0);  // every shard's means pass
        QVERIFY(plan["peak_bytes"].toInteger() > plan["resident_before_bytes"].toInteger());
        QVERIFY(plan["file_bytes"].toInteger() > 0);
        bool sawThree = false;
        for (const QJsonValue& v : plan["sharded"].toArray()) {
            const QJsonObject s = v.toObject();
            const int n = s["shards"].toInt();
            int64_t largest = 0;
            for (int k = 1; k <= n; ++k) {
                const auto [first, end] = ls::shardWindowRange(windows, ls::WindowShard{k, n});
                int64_t tokens = 0;
                for (size_t i = first; i < end; ++i) tokens += windows[i].scoredCount();
                largest = std::max(largest, tokens);
            }
            QCOMPARE(s["tokens"].toInteger(), largest);
            QVERIFY(s["seconds"].toDouble() < plan["seconds"].toDouble());  // a shard does less than the run
            sawThree = sawThree || n == 3;
        }
        QVERIFY(sawThree);  // the N asked for
        QVERIFY(plan["shard_refusal"].toString().isEmpty());

        // An analysis that cannot be sharded: no shard rows, and why.
        const ProcResult lin = runCli({"run", "linearize", "--model", demoModel(), "--data", demoData(), "--seq-len", "64",
                                       "--max-windows", "32", "--steps", "8", "--plan", "--json"});
        QVERIFY2(lin.exitCode == 0, qPrintable(lin.describe("plan of linearize")));
        const QJsonObject linPlan = QJsonDocument::fromJson(lin.out).object();
        QVERIFY(linPlan["sharded"].toArray().isEmpty());
        QVERIFY2(linPlan["shard_refusal"].toString().contains("linearize"), lin.out.constData());
    }

    // linearize (and context, which runs inside it) order heads over all windows: refused as
    // shards before the model runs; so is a shard that would have no windows.
    void unshardableRunsAreRefused() {
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QStringList base{"--model", demoModel(), "--data", demoData(), "--seq-len", "64", "--quiet", "--out", dir.filePath("x.h5")};
        ProcResult r = runCli(QStringList{"run", "linearize", "--shard", "1/2"} + base);
        expectOneErrorLine(r, 2, {"--shard", "linearize"}, QString::fromUtf8(r.err));
        r = runCli(QStringList{"run", "cossim", "--shard", "1/5000"} + base);
        expectOneErrorLine(r, 2, {"--shard", "no windows"}, QString::fromUtf8(r.err));
        r = runCli(QStringList{"run", "cossim", "--shard", "4/3"} + base);
        expectOneErrorLine(r, 2, {"--shard", "4/3"}, QString::fromUtf8(r.err));
        QVERIFY(!QFileInfo::exists(dir.filePath("x.h5")));
    }
};

QTEST_GUILESS_MAIN(TestShards)
#include "test_shards.moc"
