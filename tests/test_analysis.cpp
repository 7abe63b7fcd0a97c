// The layer analyses (cos-sim, saturation, low-rank head, token inspector) end to end through
// layerscope-cli, against the independent float64 reference
// tests/reference/layer_analyses_reference.py on random GPT-2 and grouped-query Llama models
// written by tests/reference/make_model.py:
//   - every CSV the reference writes, column by column, with the tolerances below;
//   - `show RUN.h5` rebuilds exactly the same CSVs from the run file, without the model;
//   - h5py reads the run file without LayerScope;
//   - known answers by construction (identity blocks: cos-sim 1 and saturation 1; full rank:
//     coverage and agreement 1);
//   - bad input: one clear error each, no output file; Ctrl-C leaves nothing behind.
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <csignal>
#include <map>
#include <random>

#include "analysis/layer_run.h"
#include "analysis/lensdiv.h"
#include "analysis/registry.h"
#include "io/run_file.h"
#include "model/model.h"
#include "cli_test_support.h"
#include "model_reference_support.h"
#include "test_support.h"

using namespace reftest;

namespace {

QString cli() { return QStringLiteral(LAYERSCOPE_CLI); }
QString referenceScript() { return sourceDir() + "/tests/reference/layer_analyses_reference.py"; }

// A CSV file as columns of strings (RFC 4180 quoting).
struct Csv {
    QStringList header;
    std::map<QString, QStringList> columns;
    int rows = 0;
    // The column's cells; empty when the file has no such column.
    QStringList col(const QString& name) const {
        auto it = columns.find(name);
        return it == columns.end() ? QStringList() : it->second;
    }
};

Csv readCsv(const QString& path) {
    Csv csv;
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return csv;
    const QString text = QString::fromUtf8(f.readAll());
    QList<QStringList> records;
    QStringList record;
    QString field;
    bool quoted = false;
    for (int i = 0; i < text.size(); ++i) {
        const QChar ch = text[i];
        if (quoted) {
            if (ch == '"' && i + 1 < text.size() && text[i + 1] == '"') field += '"', ++i;
            else if (ch == '"') quoted = false;
            else field += ch;
        } else if (ch == '"') {
            quoted = true;
        } else if (ch == ',') {
            record << field;
            field.clear();
        } else if (ch == '\n') {
            record << field;
            records << record;
            record.clear();
            field.clear();
        } else {
            field += ch;
        }
    }
    if (records.isEmpty()) return csv;
    csv.header = records.takeFirst();
    for (const QStringList& r : records)
        for (int c = 0; c < csv.header.size() && c < r.size(); ++c) csv.columns[csv.header[c]] << r[c];
    csv.rows = int(records.size());
    return csv;
}

// Allowed absolute difference per column. LayerScope computes in float32, the reference in
// float64: statistics of cosines agree to ~1e-6; counts near a bin edge or a threshold may
// move by a token or two; an argmax may flip on a near-tie, so rates get a small slack.
// A negative tolerance is relative to the reference value (plus 1e-6 for values near 0).
double tolerance(const QString& file, const QString& column, int tokens) {
    // Loss separation and early exit: a token whose score sits at a median or a threshold may
    // fall on the other side in float32, moving a share by 1/N and a side's mean loss by about
    // loss/(N/2); the tolerances allow three such tokens.
    if (column == "easy_pct" || column == "hard_pct" || column == "pct" || column == "low_pct") return 300.0 / tokens;
    if (column == "easy_loss" || column == "hard_loss" || column == "loss_diff" || column == "mean_loss" ||
        column == "low_mean_loss")
        return 0.05;
    if (column == "low_tokens") return 3;
    if (column == "oracle_ratio") return 0.03;
    if (column == "pearson_r" || column == "corr_with_exact") return 2e-3;
    // The rank-r head: float32 logits and SVD against float64.
    if (column == "logit_corr") return 1e-4;
    if (column == "logit_mse") return -1e-3;
    if (column == "head_rel_error") return 1e-4;
    if (column.startsWith("r_")) return 0.01;
    if (file.startsWith("exit")) {
        if (column == "ppl") return -0.01;
        if (column == "mean_layers") return 12.0 / tokens;
        if (column == "exit_fraction" || column == "compute_saved" || column == "top1_agreement" || column == "fraction")
            return 3.0 / tokens;
        if (column == "threshold") return -1e-4;
    }
    if (file.startsWith("linearize") || file == "context") {
        if (column == "order") return 1;  // a near-tie may swap neighbours
        if (column == "ppl") return -1e-4;
        if (column == "ratio") return 1e-4;
    }
    if (file.startsWith("ablation") || file == "ranking_stability" || file.startsWith("attribution")) {
        if (column.endsWith("_rank")) return 1;  // a near-tie may swap neighbours
        if (column.endsWith("_abs") || column == "base_ppl" || column == "subset_base_ppl") return 2e-5 * 1000;  // PPL units
        if (column == "spearman" || column == "kendall" || column.startsWith("spearman_")) return 0.05;
        // The Zipf fit takes logs of every positive dPPL: the smallest (~1e-5, float32 sums
        // against float64) move it most; a dPPL at 0 may change sides.
        if (column == "zipf_heads") return 1;
        if (column == "zipf_alpha") return -0.01;
        if (column == "zipf_r2") return 0.01;
        if (column.endsWith("ratio")) return -0.02;  // zero/mean dPPL: a ratio of small differences
        if (column.endsWith("_ppl")) return -1e-4;
        if (column != "tokens" && column != "subset_tokens" && column != "subset_windows") return 1e-5;
    }
    if (file == "lensdiv_layers") {
        if (column == "top1_accuracy") return 3.0 / tokens;  // an argmax may flip on a near-tie
        if (column != "layer" && column != "stage") return -1e-5;  // float32 log-softmax sums vs float64
    }
    if (file == "loss_summary" || file == "loss_histogram" || file == "thresholds")
        if (column != "count" && column != "bin") return 1e-4;
    static const QStringList exactColumns = {"layer", "bin", "k", "rank", "index", "position", "input_id",
                                             "target_id", "target_index"};
    if (exactColumns.contains(column)) return 0;
    if (column == "count" || column == "tokens") return 3;
    if (column == "exit_fraction") return 3.0 / tokens;
    if (column == "rate" || column.startsWith("top1_agreement") || column == "precision" || column == "recall" ||
        column == "f1")
        return 0.01;
    if (column == "sat_loss" || column == "unsat_loss") return 0.02;  // a flipped token moves a mean
    if (column == "saturation_layer") return 3;   // compared in aggregate below
    if (column == "top1_id" || column == "token_id") return 1e9;  // ids compared by agreement rate below
    if (column == "singular_value") return 1e-4;
    if (file.startsWith("inspect")) return 1e-4;  // probabilities
    return 2e-5;
}

// Compares every reference CSV with ours (files: reference name -> our name), column by
// column, with tolerance(file, column, tokens); argmax-like columns by agreement rate.
void compareWithReference(const QString& ours, const QString& ref, const std::map<QString, QString>& files,
                          int tokens) {
    for (const auto& [refName, ourName] : files) {
        const Csv a = readCsv(ours + "/" + ourName + ".csv"), b = readCsv(ref + "/" + refName + ".csv");
        QVERIFY2(!b.header.isEmpty(), qPrintable("reference wrote no " + refName));
        QVERIFY2(!a.header.isEmpty(), qPrintable("layerscope wrote no " + ourName));
        QCOMPARE(a.rows, b.rows);
        for (const QString& column : b.header) {
            QVERIFY2(a.columns.count(column), qPrintable(ourName + " lacks column " + column));
            const QStringList& x = a.columns.at(column);
            const QStringList& y = b.columns.at(column);
            const double tol = tolerance(refName, column, tokens);
            int mismatches = 0;
            for (int i = 0; i < b.rows; ++i) {
                bool numberU = false, numberV = false;
                const double u = x[i].toDouble(&numberU), v = y[i].toDouble(&numberV);
                if (!numberU || !numberV) {  // a text column: exactly equal
                    if (x[i] != y[i] && ++mismatches == 1)
                        qWarning("%s.%s row %d: layerscope '%s', reference '%s'", qPrintable(refName), qPrintable(column),
                                 i, qPrintable(x[i]), qPrintable(y[i]));
                    continue;
                }
                if (std::isnan(u) && std::isnan(v)) continue;
                if (std::abs(u - v) > (tol < 0 ? 1e-6 - tol * std::abs(v) : tol)) {
                    if (++mismatches == 1)
                        qWarning("%s.%s row %d: layerscope %s, reference %s (tolerance %g)", qPrintable(refName),
                                 qPrintable(column), i, qPrintable(x[i]), qPrintable(y[i]), tol);
                }
            }
            QVERIFY2(mismatches == 0, qPrintable(QString("%1.%2: %3 rows differ").arg(refName, column).arg(mismatches)));
            // Argmax ids (and the saturation layer built from them) may flip on a float32
            // near-tie: at least 99% must agree exactly.
            if (column == "top1_id" || column == "token_id" || column == "saturation_layer") {
                int same = 0;
                for (int i = 0; i < b.rows; ++i) same += x[i] == y[i];
                QVERIFY2(same >= 0.99 * b.rows, qPrintable(QString("%1.%2: only %3 of %4 agree")
                                                               .arg(refName, column).arg(same).arg(b.rows)));
            }
        }
    }

}

// Every CSV of a run equals, byte for byte, the one `show` wrote from its run file.
void expectSameCsvs(const QString& ours, const QString& reread) {
    for (const QString& f : QDir(ours).entryList({"*.csv"}, QDir::Files)) {
        QFile a(ours + "/" + f), b(reread + "/" + f);
        QVERIFY(a.open(QIODevice::ReadOnly) && b.open(QIODevice::ReadOnly));
        QVERIFY2(a.readAll() == b.readAll(), qPrintable(f + " differs after reopening the run file"));
    }
}

}  // namespace

class TestAnalysis : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void matchesReference_data();
    void matchesReference();
    void lensMethodsMatchReference_data();
    void lensMethodsMatchReference();
    void lossSepAndExitMatchReference_data();
    void lossSepAndExitMatchReference();
    void ablationMatchesReference_data();
    void ablationMatchesReference();
    void linearizeMatchesReference_data();
    void linearizeMatchesReference();
    void linearizeWithoutContextSweep();
    void knownAnswers();
    void paramValuesRoundTrip();
    void runFileReadsInH5py();
    void badInput_data();
    void badInput();
    void badRunFiles();
    void interruptLeavesNothing();
    void interruptedScanIsKeptAsPartial();
    void formatOneRunFileReopens();
    void lensDivMatchesReference_data();
    void lensDivMatchesReference();
    void tunedLensDivMatchesReference_data();
    void tunedLensDivMatchesReference();
    void untrainedTunedLensIsTheLogitLens();
    void tunedLensOfIdentityBlocksStaysIdentity();

private:
    ProcResult runCli(const QStringList& args, int timeoutMs = 300000) { return runProcess(cli(), args, timeoutMs); }
    QString model(const QString& name) const { return dir_.path() + "/" + name; }
    // Where the current row writes: our CSVs, the reference's, the CSVs `show` rereads from the
    // run file, and the run file, all in dir_/<prefix><data tag>.
    struct RowOutputs {
        QString ours, ref, reread, run;
    };
    RowOutputs rowOutputs(const QString& prefix) const {
        const QString tag = QString(QTest::currentDataTag()).replace(QRegularExpression("\\W+"), "-");
        const QString out = dir_.path() + "/" + prefix + tag;
        return {out + "/ours", out + "/ref", out + "/reread", out + "/run.h5"};
    }
    // `layerscope-cli show` of the run file writes into reread the same CSVs as the run wrote.
    void expectShowRereadsTheRun(const QString& run, const QString& ours, const QString& reread) {
        const ProcResult s = runCli({"show", run, "--csv", reread});
        QVERIFY2(s.finished && s.exitCode == 0, qPrintable(s.describe("layerscope-cli show")));
        expectSameCsvs(ours, reread);
    }
    QTemporaryDir dir_;
    QString runFile_;  // a complete run file of the gpt2 model, for the h5py and bad-input tests
};

void TestAnalysis::initTestCase() {
    QVERIFY(dir_.isValid());
    QVERIFY(QFileInfo::exists(referenceScript()));
    const QStringList stream{"--eval-windows", "64", "64", "0", "--eval-tokens", "1500"};
    QString error = makeModel(model("gpt2"), QStringList{"--arch", "gpt2", "--layers", "3", "--dim", "32", "--heads", "4",
                                                         "--vocab", "300", "--seed", "11"} + stream);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    error = makeModel(model("llama"), QStringList{"--arch", "llama", "--layers", "4", "--dim", "48", "--heads", "6",
                                                  "--kv-heads", "2", "--vocab", "300", "--tied", "0", "--seed", "12"} +
                                          stream);
    QVERIFY2(error.isEmpty(), qPrintable(error));
    error = makeModel(model("identity"), QStringList{"--arch", "llama", "--layers", "3", "--dim", "32", "--heads", "4",
                                                     "--vocab", "200", "--identity-blocks", "--seed", "13"} + stream);
    QVERIFY2(error.isEmpty(), qPrintable(error));
}

void TestAnalysis::matchesReference_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("seqLen");
    QTest::addColumn<QString>("stride");
    QTest::addColumn<QString>("layer");  // "" = default (L - 1)
    QTest::addColumn<QString>("ranks");  // "" = default
    QTest::addColumn<QStringList>("switches");  // given to both
    QTest::newRow("gpt2, chunks, defaults") << "gpt2" << "64" << "64" << "" << "" << QStringList();
    QTest::newRow("gpt2, sliding window, layer 1") << "gpt2" << "64" << "24" << "1" << "1,4,16,32" << QStringList();
    QTest::newRow("llama gqa, untied, layer 2") << "llama" << "48" << "48" << "2" << "8,24,48" << QStringList();
    // Layer L as Hugging Face's hidden_states[-1] (LayerNorm and RMSNorm; the lens is unchanged).
    QTest::newRow("gpt2, final norm at layer L") << "gpt2" << "64" << "64" << "" << "" << QStringList{"--final-norm-last"};
    QTest::newRow("llama, final norm at layer L") << "llama" << "48" << "48" << "" << "" << QStringList{"--final-norm-last"};
}

void TestAnalysis::matchesReference() {
    QFETCH(QString, name);
    QFETCH(QString, seqLen);
    QFETCH(QString, stride);
    QFETCH(QString, layer);
    QFETCH(QString, ranks);
    QFETCH(QStringList, switches);
    const auto [ours, ref, reread, run] = rowOutputs("out-");
    QStringList common = QStringList{"--seq-len", seqLen, "--stride", stride, "--hard-ratios", "0.3,0.5,0.7",
                                     "--inspect-window", "1"} + switches;
    if (!layer.isEmpty()) common << "--layer" << layer;
    if (!ranks.isEmpty()) common << "--ranks" << ranks;

    // The lens top-1 by the float32 projection: "auto" would pick a method by timing
    // (lensMethodsMatchReference tests every method explicitly).
    const ProcResult r = runCli(QStringList{"run", "cossim,saturation,lowrank,inspect", "--model", model(name), "--data",
                                            model(name) + "/eval_ids.npy", "--post-attention", "--per-token-saturation",
                                            "--lens-method", "full", "--threads", "1", "--csv", ours, "--out", run,
                                            "--quiet"} + common);
    QVERIFY2(r.finished && r.exitCode == 0, qPrintable(r.describe("layerscope-cli run")));
    const ProcResult p = runProcess(python(), QStringList{referenceScript(), "--model", model(name), "--ids",
                                                          model(name) + "/eval_ids.npy", "--out", ref} + common);
    QVERIFY2(p.finished && p.exitCode == 0, qPrintable(p.describe("layer_analyses_reference.py")));
    if (name == "gpt2" && runFile_.isEmpty()) runFile_ = run;

    const int tokens = readCsv(ref + "/tokens.csv").rows;
    QVERIFY(tokens > 500);
    // Every file of the reference, under our name for it.
    const std::map<QString, QString> files = {
        {"cossim_layers", "cossim_layers"},       {"cossim_thresholds", "cossim_thresholds"},
        {"cossim_histograms", "cossim_histograms"}, {"cossim_special", "cossim_special"},
        {"saturation_layers", "saturation_layers"}, {"saturation_post_attention", "saturation_post_attention"},
        {"saturation_histogram", "saturation_histogram"}, {"lowrank", "lowrank"},
        {"lowrank_singular_values", "lowrank_singular_values"}, {"inspect", "inspect"},
        {"inspect_topk", "inspect_topk"},          {"tokens", "saturation_tokens"}};
    compareWithReference(ours, ref, files, tokens);
    if (QTest::currentTestFailed()) return;

    // The run file reopens into the same tables, without the model.
    const ProcResult s = runCli({"show", run, "--csv", reread, "--per-token-saturation"});
    QVERIFY2(s.finished && s.exitCode == 0, qPrintable(s.describe("layerscope-cli show")));
    QCOMPARE(QDir(reread).entryList({"*.csv"}, QDir::Files), QDir(ours).entryList({"*.csv"}, QDir::Files));
    expectSameCsvs(ours, reread);
}

// Each way of computing the lens top-1 (the float32 projection; the certified exact top-1 by
// int8 or by a low rank), forced, against the float64 reference. "auto" picks one of them by
// timing, so each is tested here whatever the machine's load.
void TestAnalysis::lensMethodsMatchReference_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("method");
    QTest::newRow("gpt2, full projection") << "gpt2" << "full";
    QTest::newRow("gpt2, int8") << "gpt2" << "int8";
    QTest::newRow("gpt2, rank 4") << "gpt2" << "lowrank:4";
    QTest::newRow("llama gqa, rank 48 (full rank)") << "llama" << "lowrank:48";
    QTest::newRow("llama gqa, int8") << "llama" << "int8";
}

void TestAnalysis::lensMethodsMatchReference() {
    QFETCH(QString, name);
    QFETCH(QString, method);
    const QString out = dir_.path() + "/lens-" + QString(QTest::currentDataTag()).replace(QRegularExpression("\\W+"), "-");
    const QString ours = out + "/ours", ref = out + "/ref";
    const QStringList common{"--seq-len", "64", "--stride", "64"};
    const ProcResult r = runCli(QStringList{"run", "saturation", "--model", model(name), "--data",
                                            model(name) + "/eval_ids.npy", "--per-token-saturation", "--lens-method",
                                            method, "--threads", "1", "--csv", ours} + common);
    if (method == "int8" && r.exitCode == 2 && r.err.contains("needs a CPU with VNNI"))
        QSKIP("no VNNI on this CPU: the int8 lens is never used here");
    QVERIFY2(r.finished && r.exitCode == 0, qPrintable(r.describe("layerscope-cli run saturation")));
    // The CLI says which method computed the top-1s.
    const QString expected = method == "full" ? QString() : method == "int8" ? "int8 (asked for)"
                                                                              : "rank " + method.mid(8) + " (asked for)";
    if (!expected.isEmpty())
        QVERIFY2(r.out.contains(expected.toUtf8()), qPrintable(r.describe("no line naming " + expected)));
    const ProcResult p = runProcess(python(), QStringList{referenceScript(), "--model", model(name), "--ids",
                                                          model(name) + "/eval_ids.npy", "--out", ref} + common);
    QVERIFY2(p.finished && p.exitCode == 0, qPrintable(p.describe("layer_analyses_reference.py")));
    const int tokens = readCsv(ref + "/tokens.csv").rows;
    compareWithReference(ours, ref,
                         {{"saturation_layers", "saturation_layers"},
                          {"saturation_histogram", "saturation_histogram"},
                          {"tokens", "saturation_tokens"}},
                         tokens);
}

void TestAnalysis::lossSepAndExitMatchReference_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("stride");
    QTest::addColumn<QString>("signal");
    QTest::addColumn<QString>("layers");  // "" = all of 1..L-1
    QTest::newRow("gpt2, confidence") << "gpt2" << "64" << "confidence" << "";
    QTest::newRow("gpt2, entropy at layer 2") << "gpt2" << "64" << "entropy" << "2";
    QTest::newRow("llama gqa, cossim, sliding window") << "llama" << "32" << "cossim" << "1,3";
    QTest::newRow("llama gqa, margin") << "llama" << "64" << "margin" << "";
    QTest::newRow("gpt2, max_z, 9 sweep points") << "gpt2" << "64" << "max_z" << "";
}

void TestAnalysis::lossSepAndExitMatchReference() {
    QFETCH(QString, name);
    QFETCH(QString, stride);
    QFETCH(QString, signal);
    QFETCH(QString, layers);
    const auto [ours, ref, reread, run] = rowOutputs("ls-");
    QStringList ourArgs{"--seq-len", "64", "--stride", stride, "--signal", signal, "--metric-ranks", "8,32"};
    QStringList refArgs{"--seq-len", "64", "--stride", stride, "--signal", signal, "--metric-ranks", "8,32"};
    if (!layers.isEmpty()) {
        ourArgs << "--layers" << layers;
        refArgs << "--exit-layers" << layers;
    }
    if (QString(QTest::currentDataTag()).contains("9 sweep points")) {
        ourArgs << "--sweep-points" << "9";
        refArgs << "--sweep-points" << "9";
    }
    const ProcResult r = runCli(QStringList{"run", "losssep,exit", "--model", model(name), "--data",
                                            model(name) + "/eval_ids.npy", "--no-probes", "--threads", "1", "--csv",
                                            ours, "--out", run, "--quiet"} + ourArgs);
    QVERIFY2(r.finished && r.exitCode == 0, qPrintable(r.describe("layerscope-cli run losssep,exit")));
    const ProcResult p = runProcess(python(), QStringList{sourceDir() + "/tests/reference/losssep_exit_reference.py",
                                                          "--model", model(name), "--ids", model(name) + "/eval_ids.npy",
                                                          "--out", ref} + refArgs);
    QVERIFY2(p.finished && p.exitCode == 0, qPrintable(p.describe("losssep_exit_reference.py")));
    const int tokens = readCsv(ref + "/tokens.csv").rows;
    QVERIFY(tokens > 500);
    const std::map<QString, QString> files = {
        {"loss_summary", "loss_summary"}, {"loss_histogram", "loss_histogram"}, {"predictors", "predictors"},
        {"thresholds", "thresholds"},     {"confidence_subsets", "confidence_subsets"},
        {"lowrank_metrics", "lowrank_metrics"}, {"exit_sweep", "exit_sweep"}, {"exit_policy", "exit_policy"}};
    compareWithReference(ours, ref, files, tokens);
    if (QTest::currentTestFailed()) return;
    // The Pareto front is derived from the sweep (tested on hand-made data in test_losssep);
    // here only its size, which one token at a threshold may change by a row or two.
    QVERIFY(std::abs(readCsv(ours + "/exit_pareto.csv").rows - readCsv(ref + "/exit_pareto.csv").rows) <= 3);
    expectShowRereadsTheRun(run, ours, reread);
}

void TestAnalysis::ablationMatchesReference_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QStringList>("options");
    QTest::newRow("gpt2") << "gpt2" << QStringList{"--stride", "64"};
    QTest::newRow("llama gqa, sliding window") << "llama" << QStringList{"--stride", "48"};
    QTest::newRow("gpt2, chosen heads") << "gpt2" << QStringList{"--heads", "L2,L0H1,L0H3"};
    // The research notes' "2K tokens": the first 2 windows, not the windows holding 200 tokens.
    QTest::newRow("llama gqa, subset of 2 windows") << "llama" << QStringList{"--subset-windows", "2"};
}

void TestAnalysis::ablationMatchesReference() {
    QFETCH(QString, name);
    QFETCH(QStringList, options);
    const auto [ours, ref, reread, run] = rowOutputs("abl-");
    const QStringList common = QStringList{"--seq-len", "64", "--max-tokens", "700", "--subset-tokens", "200"} + options;
    const ProcResult r = runCli(QStringList{"run", "ablation", "--model", model(name), "--data", model(name) + "/eval_ids.npy",
                                            "--threads", "1", "--csv", ours, "--out", run, "--quiet"} + common);
    QVERIFY2(r.finished && r.exitCode == 0, qPrintable(r.describe("layerscope-cli run ablation")));
    // Without a terminal, progress ends with its own 100% line (nested stages: one fraction).
    QVERIFY2(r.err.contains("done: 100% in "), qPrintable(r.describe("no 100% line")));
    const ProcResult p = runProcess(python(), QStringList{sourceDir() + "/tests/reference/ablation_reference.py", "--model",
                                                          model(name), "--ids", model(name) + "/eval_ids.npy", "--out", ref} +
                                                  common);
    QVERIFY2(p.finished && p.exitCode == 0, qPrintable(p.describe("ablation_reference.py")));
    const int tokens = readCsv(ref + "/ablation_summary.csv").col("tokens").value(0).toInt();
    QVERIFY(tokens > 300);
    if (options.contains("--heads")) QCOMPARE(readCsv(ours + "/ablation_heads.csv").rows, 6);  // L2's 4 + 2
    compareWithReference(ours, ref, {{"ablation_heads", "ablation_heads"}, {"ablation_summary", "ablation_summary"},
                                     {"ranking_stability", "ranking_stability"}, {"attribution", "attribution"}},
                         tokens);
    if (QTest::currentTestFailed()) return;
    expectShowRereadsTheRun(run, ours, reread);
}

void TestAnalysis::linearizeMatchesReference_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QStringList>("options");
    QTest::newRow("gpt2, count") << "gpt2" << QStringList{"--normalize", "count"};
    QTest::newRow("gpt2, row sum, layer 1 protected") << "gpt2" << QStringList{"--normalize", "rowsum", "--protect-layers", "1"};
    QTest::newRow("llama gqa, count") << "llama" << QStringList{"--normalize", "count"};
    QTest::newRow("gpt2, chosen heads, layer 3 protected")
        << "gpt2" << QStringList{"--heads", "L0H1,L1,L2H0", "--protect-layers", "3"};
    QTest::newRow("gpt2, context windows aligned") << "gpt2" << QStringList{"--context-align"};
}

void TestAnalysis::linearizeMatchesReference() {
    QFETCH(QString, name);
    QFETCH(QStringList, options);
    const QString out = dir_.path() + "/lin-" + QString(QTest::currentDataTag()).replace(QRegularExpression("\\W+"), "-");
    const QString ours = out + "/ours", ref = out + "/ref";
    const QStringList common = QStringList{"--seq-len", "64", "--max-tokens", "700", "--steps", "3", "--context-lengths",
                                           "32,64", "--context-heads", "2,4"} + options;
    const ProcResult r = runCli(QStringList{"run", "linearize,context", "--model", model(name), "--data",
                                            model(name) + "/eval_ids.npy", "--threads", "1", "--csv", ours, "--quiet"} + common);
    QVERIFY2(r.finished && r.exitCode == 0, qPrintable(r.describe("layerscope-cli run linearize,context")));
    const ProcResult p = runProcess(python(), QStringList{sourceDir() + "/tests/reference/linearize_reference.py", "--model",
                                                          model(name), "--ids", model(name) + "/eval_ids.npy", "--out", ref} +
                                                  common);
    QVERIFY2(p.finished && p.exitCode == 0, qPrintable(p.describe("linearize_reference.py")));
    compareWithReference(ours, ref, {{"linearize_heads", "linearize_heads"}, {"linearize_curve", "linearize_curve"},
                                     {"linearize_thresholds", "linearize_thresholds"}, {"context", "context"}},
                         700);
    if (options.contains("--heads")) QCOMPARE(readCsv(ours + "/linearize_heads.csv").rows, 5);  // L0H1 and L1's 4
}

void TestAnalysis::linearizeWithoutContextSweep() {
    // "linearize" alone skips the context sweep; "context" alone brings linearize with it.
    const QString out = dir_.path() + "/lin-no-context";
    const QStringList common{"--model", model("gpt2"), "--data", model("gpt2") + "/eval_ids.npy", "--seq-len", "64",
                             "--max-tokens", "300", "--steps", "4", "--threads", "1", "--quiet"};
    const ProcResult r = runCli(QStringList{"run", "linearize", "--csv", out + "/a"} + common);
    QVERIFY2(r.finished && r.exitCode == 0, qPrintable(r.describe("run linearize")));
    QVERIFY(QFileInfo::exists(out + "/a/linearize_curve.csv"));
    QVERIFY(!QFileInfo::exists(out + "/a/context.csv"));
    const ProcResult c = runCli(QStringList{"run", "context", "--csv", out + "/b", "--out", out + "/b.h5",
                                            "--context-lengths", "32,64"} + common);
    QVERIFY2(c.finished && c.exitCode == 0, qPrintable(c.describe("run context")));
    QVERIFY(QFileInfo::exists(out + "/b/linearize_curve.csv"));
    // 2 lengths x (the baseline, then N = the 1.1x and the 1.5x thresholds, distinct and > 0;
    // the curve's first step when both are 0)
    const Csv th = readCsv(out + "/b/linearize_thresholds.csv");
    QSet<QString> ns{"0"};
    for (int i = 0; i < 2; ++i)
        if (th.col("n_heads")[i] != "0") ns << th.col("n_heads")[i];
    if (ns.size() == 1) ns << readCsv(out + "/b/linearize_curve.csv").col("n_heads")[1];
    const Csv ctx = readCsv(out + "/b/context.csv");
    QCOMPARE(ctx.rows, 2 * int(ns.size()));
    for (int i = 0; i < ctx.rows; ++i) QVERIFY(ns.contains(ctx.col("n_heads")[i]));
    const ProcResult s = runCli({"show", out + "/b.h5", "--csv", out + "/reread"});
    QVERIFY2(s.finished && s.exitCode == 0, qPrintable(s.describe("show")));
    expectSameCsvs(out + "/b", out + "/reread");
}

// The entries' `values` are the inverse of their `apply`: the text of every value, read back as
// the command line and the GUI read it, gives the same parameters; the defaults show as such.
void TestAnalysis::paramValuesRoundTrip() {
    ls::ModelConfig config;
    config.numLayers = 4;
    config.numHeads = 4;
    ls::LayerRunParams want;
    want.layer = 2;
    want.lowRank.ranks = {8, 16};
    want.cossim.hardRatios = {0.25, 0.75};
    want.lens.postAttention = true;
    want.lossSep.probes = false;
    want.lossSep.probeLayer = 3;
    want.lossSep.metricRanks = {4};
    want.exit.signal = "margin";
    want.exit.threshold = 0.5;
    want.heads = {{1, 3}, {3, 0}};
    want.ablation.attribution = false;
    want.linearize.normalize = ls::ReluNormalize::RowSum;
    want.linearize.contextLengths = {32, 64};
    const ls::ParamValues values = ls::paramValues(want);
    ls::ParamValues read;
    for (const std::string key : {"layer", "ranks", "hard-ratios", "post-attention", "no-probes", "probe-layer",
                                  "metric-ranks", "signal", "threshold", "heads", "no-attribution", "normalize",
                                  "context-lengths", "bins", "top-k"}) {
        const ls::ParamSpec* spec = ls::findParam(key);
        QVERIFY2(spec && values.has(key), key.c_str());
        read.set(key, ls::parseParam(*spec, ls::paramText(*spec, values.at(key))));
    }
    ls::LayerRunParams got;
    ls::applyParams(read, config, got);
    QCOMPARE(got.layer, 2);
    QCOMPARE(got.lowRank.ranks, want.lowRank.ranks);
    QCOMPARE(got.cossim.hardRatios, want.cossim.hardRatios);
    QVERIFY(got.lens.postAttention && !got.lossSep.probes && !got.ablation.attribution);
    QCOMPARE(got.lossSep.probeLayer, 3);
    QCOMPARE(got.lossSep.metricRanks, want.lossSep.metricRanks);
    QCOMPARE(got.exit.signal, want.exit.signal);
    QCOMPARE(got.exit.threshold, 0.5);
    QVERIFY(got.heads == want.heads);
    QVERIFY(got.linearize.normalize == ls::ReluNormalize::RowSum);
    QCOMPARE(got.linearize.contextLengths, want.linearize.contextLengths);
    QCOMPARE(ls::paramText(*ls::findParam("hard-ratios"), values.at("hard-ratios")), std::string("0.25, 0.75"));
    QCOMPARE(ls::paramText(*ls::findParam("heads"), values.at("heads")), std::string("L0H3,L2H0"));
    // The defaults: plain values shown, the ones chosen from the model left out.
    const ls::ParamValues defaults = ls::paramValues(ls::LayerRunParams{});
    for (const char* key : {"layer", "ranks", "probe-layer", "heads", "layers", "threshold", "context-lengths"})
        QVERIFY2(!defaults.has(key), key);
    QVERIFY(!defaults.flag("no-probes") && !defaults.flag("post-attention"));
    QCOMPARE(ls::paramText(*ls::findParam("top-k"), defaults.at("top-k")), std::string("5"));
    QCOMPARE(ls::paramText(*ls::findParam("special-drop"), defaults.at("special-drop")), std::string("0.1"));
    QCOMPARE(ls::paramText(*ls::findParam("signal"), defaults.at("signal")), std::string("confidence"));
}

void TestAnalysis::knownAnswers() {
    // Identity blocks: every block's output equals its input, so c_l = 1 and the lens top-1
    // never changes (rate 1 at every layer, every token saturated at layer 1). Full rank
    // reproduces the head: coverage 1, agreement 1, perfect detection.
    const QString out = dir_.path() + "/identity-out";
    const ProcResult r = runCli({"run", "cossim,saturation,lowrank", "--model", model("identity"), "--data",
                                 model("identity") + "/eval_ids.npy", "--seq-len", "64", "--ranks", "32", "--csv", out,
                                 "--quiet", "--threads", "1"});
    QVERIFY2(r.finished && r.exitCode == 0, qPrintable(r.describe("run on identity blocks")));
    const Csv cos = readCsv(out + "/cossim_layers.csv");
    QCOMPARE(cos.rows, 3);
    for (int i = 0; i < 3; ++i) {
        QCOMPARE_NEAR(cos.col("mean")[i].toDouble(), 1.0, 1e-6, 0);  // float32 cosines of equal vectors
        QCOMPARE_NEAR(cos.col("min")[i].toDouble(), 1.0, 1e-5, 0);
        QCOMPARE_NEAR(cos.col("frac_neg")[i].toDouble(), 0.0, 1e-12, 0);  // a fraction of counts
    }
    const Csv sat = readCsv(out + "/saturation_layers.csv");
    QCOMPARE(sat.rows, 4);
    for (int i = 0; i < 4; ++i) QCOMPARE_NEAR(sat.col("rate")[i].toDouble(), 1.0, 1e-12, 0);  // a fraction of counts
    const Csv hist = readCsv(out + "/saturation_histogram.csv");
    QVERIFY(hist.col("tokens")[0].toInt() > 0);
    QCOMPARE(hist.col("tokens")[1].toInt(), 0);
    QCOMPARE(hist.col("tokens")[2].toInt(), 0);
    const Csv low = readCsv(out + "/lowrank.csv");
    QCOMPARE(low.rows, 1);
    QCOMPARE_NEAR(low.col("coverage")[0].toDouble(), 1.0, 1e-12, 0);  // full rank: a float64 ratio of equal sums
    QCOMPARE_NEAR(low.col("energy_coverage")[0].toDouble(), 1.0, 1e-12, 0);
    QCOMPARE_NEAR(low.col("top1_agreement_final")[0].toDouble(), 1.0, 1e-12, 0);  // a fraction of counts
    QCOMPARE_NEAR(low.col("top1_agreement_layer")[0].toDouble(), 1.0, 1e-12, 0);
    QCOMPARE_NEAR(low.col("f1")[0].toDouble(), 1.0, 1e-12, 0);

    // Every head's output projection is zero: ablating any head changes nothing.
    const QString abl = dir_.path() + "/identity-ablation";
    const ProcResult a = runCli({"run", "ablation", "--model", model("identity"), "--data",
                                 model("identity") + "/eval_ids.npy", "--seq-len", "64", "--max-tokens", "300", "--csv",
                                 abl, "--quiet", "--threads", "1"});
    QVERIFY2(a.finished && a.exitCode == 0, qPrintable(a.describe("ablation on identity blocks")));
    const Csv heads = readCsv(abl + "/ablation_heads.csv");
    QCOMPARE(heads.rows, 3 * 4);
    for (int i = 0; i < heads.rows; ++i) {
        // PPL / base PPL - 1 (relative): the ablated and base float32 forwards sum in different
        // orders (BLAS kernels: AVX2 vs AVX-512), so it is ~1e-6 x mean loss, not exactly 0.
        QCOMPARE_NEAR(heads.col("zero_dppl")[i].toDouble(), 0.0, 1e-4, 0);
        QCOMPARE_NEAR(heads.col("mean_dppl")[i].toDouble(), 0.0, 1e-4, 0);
    }
}

void TestAnalysis::runFileReadsInH5py() {
    if (runFile_.isEmpty()) QSKIP("matchesReference did not run");
    const QString script = R"PY(
import json, sys
import h5py
f = h5py.File(sys.argv[1], "r")
out = {
    "format": f.attrs["format"], "status": f.attrs["status"], "version": int(f.attrs["format_version"]),
    "loss_len": int(f["tokens/loss"].shape[0]), "loss_units": f["tokens/loss"].attrs["units"],
    "cossim_shape": list(f["cossim/values"].shape), "top1_shape": list(f["lens/top1"].shape),
    "params": json.loads(f["meta"].attrs["params_json"]), "model_hash": f["meta"].attrs["model_hash"],
    "table_columns": f["tables/cossim_layers"].attrs["columns"],
    "means": [float(v) for v in f["tables/cossim_layers/mean"][()]],
    "mean_loss": float(f["tokens/loss"][()].astype("float64").mean()),
}
print(json.dumps(out))
)PY";
    const ProcResult p = runProcess(python(), {"-c", script, runFile_});
    QVERIFY2(p.finished && p.exitCode == 0, qPrintable(p.describe("h5py")));
    const QJsonObject j = QJsonDocument::fromJson(p.out).object();
    QCOMPARE(j["format"].toString(), QString("layerscope-run"));
    QCOMPARE(j["status"].toString(), QString("complete"));
    QCOMPARE(j["version"].toInt(), 2);
    QCOMPARE(j["loss_units"].toString(), QString("nats"));
    const int n = j["loss_len"].toInt();
    QVERIFY(n > 500);
    QCOMPARE(j["cossim_shape"].toArray(), (QJsonArray{3, n}));
    QCOMPARE(j["top1_shape"].toArray(), (QJsonArray{4, n}));
    QCOMPARE(j["params"].toObject()["layer"].toInt(), 2);
    QCOMPARE(j["model_hash"].toString().size(), 16);
    QCOMPARE(j["table_columns"].toString(), QString("layer,mean,std,min,p10,p50,p90,max,frac_neg,frac_lt_0_5"));
    QCOMPARE(j["means"].toArray().size(), 3);
    // The same losses as the reference's float64 forward.
    const Csv tokens = readCsv(dir_.path() + "/out-gpt2-chunks-defaults/ref/tokens.csv");
    double sum = 0;
    for (const QString& v : tokens.col("loss")) sum += v.toDouble();
    QCOMPARE_NEAR(j["mean_loss"].toDouble(), sum / tokens.rows, 1e-5, 0);  // float32 losses vs float64 ones
}

void TestAnalysis::badInput_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("message");  // a part of the one error line
    const QString m = model("gpt2"), data = model("gpt2") + "/eval_ids.npy";
    const QStringList base{"--model", m, "--data", data, "--seq-len", "64"};
    // `run analyses` on the gpt2 model's data at seq-len 64, with these options.
    const auto run = [&](const QString& analyses, const QStringList& options = {}) {
        return QStringList{"run", analyses} + base + options;
    };
    QTest::newRow("layer beyond the model") << run("cossim", {"--layer", "4"})
        << "--layer: 4 is out of range: the model has layers 1..3";
    QTest::newRow("layer 0") << run("cossim", {"--layer", "0"}) << "--layer: must be at least 1";
    QTest::newRow("rank beyond the hidden size") << run("lowrank", {"--ranks", "8,33"})
        << "--ranks: rank 33 is outside 1..32";
    QTest::newRow("hard ratio 1.5") << run("cossim", {"--hard-ratios", "0.3,1.5"}) << "--hard-ratios: 1.5";
    QTest::newRow("lens method with rank 0") << run("saturation", {"--lens-method", "lowrank:0"})
        << "--lens-method: 'lowrank:0': the rank must be a whole number in 1..32";
    QTest::newRow("unknown lens method") << run("saturation", {"--lens-method", "fast"})
        << "--lens-method: 'fast' is not one of auto, full, int8, lowrank:R";
    QTest::newRow("hard ratio 0") << run("cossim", {"--hard-ratios", "0"}) << "is outside (0, 1)";
    QTest::newRow("hard ratio not a number") << run("cossim", {"--hard-ratios", "a,b"})
        << "--hard-ratios: needs comma-separated numbers";
    QTest::newRow("unknown analysis") << run("cossim,entropy") << "unknown analysis 'entropy'";
    QTest::newRow("no analysis") << base << "run needs the analyses";
    QTest::newRow("inspect window beyond the windows") << run("inspect", {"--inspect-window", "99"})
        << "--inspect-window: 99 is out of range: there are 24 windows (0..23)";
    QTest::newRow("exit layer L") << run("exit", {"--layers", "1,3"}) << "--layers: layer 3 is outside 1..2";
    QTest::newRow("exit with no layer") << run("exit", {"--layers", ""}) << "--layers: needs comma-separated numbers";
    QTest::newRow("unknown exit signal") << run("exit", {"--signal", "loudness"}) << "unknown signal 'loudness' (available: confidence, max_z, max_minus_mean, margin, entropy, cossim)";
    QTest::newRow("exit on the answer") << run("exit", {"--signal", "correct_prob"}) << "needs the answer";
    QTest::newRow("per-layer thresholds of the wrong count") << run("exit", {"--layer-thresholds", "0.1"})
        << "give one threshold per allowed layer (2), got 1";
    QTest::newRow("threshold not finite") << run("exit", {"--thresholds", "0.1,inf"})
        << "every threshold must be a finite number";
    QTest::newRow("probe layer beyond the model") << run("losssep", {"--probe-layer", "4"})
        << "--probe-layer: 4 is out of range: the model has layers 0..3";
    QTest::newRow("probes on too few tokens") << (QStringList{"run", "losssep", "--model", m, "--data", data, "--seq-len",
                                                              "16", "--max-tokens", "40"})
                                              << "probes:";
    QTest::newRow("context longer than the model's") << run("linearize", {"--context-lengths", "64,256"})
        << "--context-lengths: 256 is longer than the model's context of 128 tokens";
    QTest::newRow("protecting every layer") << run("linearize", {"--protect-layers", "1,2,3"})
        << "protects every layer: no head is left to linearise";
    QTest::newRow("protecting a layer beyond the model") << run("linearize", {"--protect-layers", "4"})
        << "--protect-layers: layer 4 is outside 1..3";
    QTest::newRow("head beyond the model") << run("ablation", {"--heads", "L0H1,L3H0"})
        << "--heads: L3H0 is out of range (the model has layers L0..L2 and heads H0..H3)";
    QTest::newRow("malformed head name") << run("ablation", {"--heads", "1.2"})
        << "--heads: '1.2' is not a head name like L0H3";
    QTest::newRow("chosen heads all protected") << run("linearize", {"--heads", "L0", "--protect-layers", "1"})
        << "--heads: chooses only heads of protected layers";
    QTest::newRow("context sweep longer than the model's") << run("context", {"--context-lengths", "512"})
        << "--context-lengths: 512 is longer than the model's context of 128 tokens";
    QTest::newRow("unknown ReLU normalisation") << run("linearize", {"--normalize", "softmax"})
        << "--normalize: must be 'count'";
    QTest::newRow("show a missing file") << QStringList{"show", dir_.path() + "/nothing.h5"} << "nothing.h5";
}

void TestAnalysis::badInput() {
    QFETCH(QStringList, args);
    QFETCH(QString, message);
    if (args.first() != "run" && args.first() != "show") args.prepend("run");
    const QString out = dir_.path() + "/bad.h5";
    args << "--out" << out;
    if (args.first() == "show") args = args.mid(0, 2);
    const ProcResult r = runCli(args);
    QVERIFY2(r.finished && !r.crashed, qPrintable(r.describe("cli")));
    QCOMPARE(r.exitCode, 2);
    const QString err = QString::fromUtf8(r.err).trimmed();
    QVERIFY2(err.startsWith("error: ") && !err.contains('\n'), qPrintable(err));
    QVERIFY2(err.contains(message), qPrintable(err));
    QVERIFY(!QFileInfo::exists(out));
    QVERIFY(!QFileInfo::exists(out + ".partial"));
}

void TestAnalysis::badRunFiles() {
    const QString good = dir_.path() + "/good.h5";
    const ProcResult made = runCli({"run", "cossim,saturation", "--model", model("gpt2"), "--data",
                                    model("gpt2") + "/eval_ids.npy", "--seq-len", "64", "--out", good, "--quiet"});
    QVERIFY2(made.finished && made.exitCode == 0, qPrintable(made.describe("run")));
    QFile original(good);
    QVERIFY(original.open(QIODevice::ReadOnly));
    const QByteArray bytes = original.readAll();
    auto write = [&](const QString& name, const QByteArray& content) {
        QFile f(dir_.path() + "/" + name);
        if (!f.open(QIODevice::WriteOnly)) return QString();
        f.write(content);
        return f.fileName();
    };
    // Made by h5py: a newer format version (edited, then sealed again the way the seal is
    // documented in core/io/hdf5_file.h), and an HDF5 file of another program.
    const QString newer = dir_.path() + "/newer.h5", other = dir_.path() + "/other.h5";
    QVERIFY(QFile::copy(good, newer));
    const ProcResult p = runProcess(python(), {"-c",
                                               "import sys, zlib, h5py\n"
                                               "with h5py.File(sys.argv[1], 'r+') as f: f.attrs['format_version'] = 7\n"
                                               "data = open(sys.argv[1], 'rb').read()\n"
                                               "head = 'LayerScope HDF5\\nformat 1\\nbytes %d\\ncrc32 %08x\\n' % "
                                               "(len(data), zlib.crc32(data[512:]))\n"
                                               "open(sys.argv[1], 'wb').write(head.encode().ljust(512, b'\\0') + data[512:])\n"
                                               "with h5py.File(sys.argv[2], 'w') as f: f['x'] = [1, 2, 3]\n",
                                               newer, other});
    QVERIFY2(p.finished && p.exitCode == 0, qPrintable(p.describe("h5py")));
    const QList<QPair<QString, QString>> cases = {
        {write("notes.h5", "just some text\n"), "is not an HDF5 file"},
        {write("empty.h5", ""), "empty"},
        {write("half.h5", bytes.left(bytes.size() / 2)), "truncated"},
        {write("head.h5", bytes.left(600)), "truncated"},
        {write("flipped.h5", QByteArray(bytes).replace(bytes.size() / 2, 1, QByteArray(1, char(bytes[bytes.size() / 2] ^ 1)))),
         "is damaged: its checksum is"},
        {newer, "was written by a newer LayerScope (run-file format 7"},
        {other, "is an HDF5 file but not a LayerScope run file"},
    };
    for (const auto& [file, message] : cases) {
        const ProcResult r = runCli({"show", file});
        QVERIFY2(r.finished && !r.crashed, qPrintable(r.describe("show " + file)));
        QCOMPARE(r.exitCode, 2);
        const QString err = QString::fromUtf8(r.err).trimmed();
        QVERIFY2(err.startsWith("error: " + file) && err.contains(message), qPrintable(err + " / expected: " + message));
    }
}

void TestAnalysis::interruptLeavesNothing() {
    // A long run (every analysis, one thread, 1,500 overlapping windows), interrupted once
    // its first progress line (10%) shows that it is capturing.
    const QString out = dir_.path() + "/interrupted.h5";
    QProcess p;
    p.start(cli(), {"run", "cossim,saturation,lowrank", "--model", model("llama"), "--data", model("llama") + "/eval_ids.npy",
                    "--seq-len", "64", "--stride", "1", "--threads", "1", "--out", out, "--csv", dir_.path() + "/interrupted"});
    QVERIFY(p.waitForStarted());
    QElapsedTimer t;
    t.start();
    QByteArray err;
    while (t.elapsed() < 60000 && p.state() == QProcess::Running && !err.contains("Capturing")) {
        QTest::qWait(50);
        err += p.readAllStandardError();
    }
    if (p.state() != QProcess::Running) QSKIP("the run finished before it could be interrupted");
    ::kill(static_cast<pid_t>(p.processId()), SIGINT);
    QVERIFY(p.waitForFinished(60000));
    QCOMPARE(p.exitCode(), 130);
    QVERIFY(!QFileInfo::exists(out));
    QVERIFY(!QFileInfo::exists(out + ".partial"));
    QVERIFY(!QFileInfo::exists(dir_.path() + "/interrupted"));
}

void TestAnalysis::interruptedScanIsKeptAsPartial() {
    // A head-ablation scan interrupted after some windows keeps them, marked partial.
    const QString out = dir_.path() + "/partial.h5";
    QProcess p;
    p.start(cli(), {"run", "ablation", "--model", model("llama"), "--data", model("llama") + "/eval_ids.npy", "--seq-len",
                    "16", "--stride", "1", "--threads", "1", "--no-attribution", "--out", out, "--quiet"});
    QVERIFY(p.waitForStarted());
    QElapsedTimer t;
    t.start();
    QByteArray err;
    // Progress lines come every 10% of a stage: wait for the scan's own at 20% or more.
    const QRegularExpression scanProgress("Ablating[^\\n]*:\\s+(\\d+)%");
    auto scanPast20 = [&] {
        for (auto it = scanProgress.globalMatch(QString::fromUtf8(err)); it.hasNext();)
            if (it.next().captured(1).toInt() >= 20) return true;
        return false;
    };
    while (t.elapsed() < 120000 && p.state() == QProcess::Running && !scanPast20()) {
        QTest::qWait(50);
        err += p.readAllStandardError();
    }
    if (p.state() != QProcess::Running) QSKIP(qPrintable("the scan finished before it could be interrupted: " + err));
    ::kill(static_cast<pid_t>(p.processId()), SIGINT);
    QVERIFY(p.waitForFinished(60000));
    QVERIFY2(p.exitCode() == 130, qPrintable(err + p.readAllStandardError()));
    QVERIFY(!QFileInfo::exists(out + ".partial"));
    const ProcResult h = runProcess(python(), {"-c",
                                               "import sys, h5py\n"
                                               "f = h5py.File(sys.argv[1], 'r')\n"
                                               "s = f['tables/ablation_summary']\n"
                                               "print(f.attrs['status'], int(s['complete'][0]), int(s['windows'][0]))\n",
                                               out});
    QVERIFY2(h.finished && h.exitCode == 0, qPrintable(h.describe("h5py")));
    const QStringList fields = QString::fromUtf8(h.out).trimmed().split(' ');
    QCOMPARE(fields.value(0), QString("partial"));
    QCOMPARE(fields.value(1), QString("0"));
    QVERIFY(fields.value(2).toInt() > 0 && fields.value(2).toInt() < 1485);
    // show reports it as partial
    const ProcResult s = runCli({"show", out});
    QVERIFY2(s.finished && s.exitCode == 0 && s.out.contains("PARTIAL"), qPrintable(s.describe("show")));
}

// A run file written by an earlier version (format 1, tests/data/run-format1) still opens and
// gives the tables that version printed: every file, column and row. Numbers are recomputed
// from the stored per-token scalars by the same float64 summaries: 1e-9 relative (plus 1e-12
// absolute) allows a different summation order, nothing more.
void TestAnalysis::formatOneRunFileReopens() {
    const QString fixture = sourceDir() + "/tests/data/run-format1";
    const QString out = dir_.path() + "/format1";
    const ProcResult s = runCli({"show", fixture + "/run.h5", "--csv", out});
    QVERIFY2(s.finished && s.exitCode == 0, qPrintable(s.describe("show of a format-1 run file")));
    const QStringList expected = QDir(fixture + "/csv").entryList({"*.csv"}, QDir::Files);
    QCOMPARE(QDir(out).entryList({"*.csv"}, QDir::Files), expected);
    // Columns added since format 1 come after the old ones (recomputed on reading); the old
    // ones are unchanged.
    const QStringList addedSince = {"zipf_alpha", "zipf_r2", "zipf_heads", "low_tokens", "low_pct", "low_mean_loss",
                                    "logit_corr", "logit_mse", "head_rel_error", "us_per_token"};
    for (const QString& f : expected) {
        const Csv a = readCsv(out + "/" + f), b = readCsv(fixture + "/csv/" + f);
        QVERIFY2(a.header.size() >= b.header.size(), qPrintable(f));
        QCOMPARE(a.header.mid(0, b.header.size()), b.header);
        for (const QString& column : a.header.mid(b.header.size()))
            QVERIFY2(addedSince.contains(column), qPrintable(f + ": new column " + column));
        QCOMPARE(a.rows, b.rows);
        for (const QString& column : b.header)
            for (int i = 0; i < b.rows; ++i) {
                const QString& x = a.columns.at(column)[i];
                const QString& y = b.columns.at(column)[i];
                bool numberX = false, numberY = false;
                const double u = x.toDouble(&numberX), v = y.toDouble(&numberY);
                const QString where = QString("%1 %2 row %3: '%4', was '%5'").arg(f, column).arg(i).arg(x, y);
                if (numberX && numberY)
                    QVERIFY2(withinTolerance(u, v, 1e-12, 1e-9), qPrintable(where));
                else
                    QVERIFY2(x == y, qPrintable(where));
            }
    }
}

QTEST_GUILESS_MAIN(TestAnalysis)
// Lens divergence (KL to the final output, cross-entropy, entropy, top-1 accuracy per layer and
// stage) against tests/reference/lensdiv_reference.py, also every token's KL from the run file.
void TestAnalysis::lensDivMatchesReference_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("stride");
    QTest::addColumn<bool>("postAttention");
    QTest::newRow("gpt2, sliding window, after attention too") << "gpt2" << "24" << true;
    QTest::newRow("gpt2, chunks, blocks only") << "gpt2" << "64" << false;
    QTest::newRow("llama gqa, chunks, after attention too") << "llama" << "64" << true;
}

void TestAnalysis::lensDivMatchesReference() {
    QFETCH(QString, name);
    QFETCH(QString, stride);
    QFETCH(bool, postAttention);
    const QString out = dir_.path() + "/lensdiv-" + QString(QTest::currentDataTag()).replace(QRegularExpression("\\W+"), "-");
    const QString ours = out + "/ours", ref = out + "/ref", reread = out + "/reread", run = out + "/run.h5";
    QStringList common{"--seq-len", "64", "--stride", stride};
    if (postAttention) common << "--post-attention";
    const ProcResult r = runCli(QStringList{"run", "lensdiv", "--model", model(name), "--data", model(name) + "/eval_ids.npy",
                                            "--threads", "1", "--csv", ours, "--out", run, "--quiet"} + common);
    QVERIFY2(r.finished && r.exitCode == 0, qPrintable(r.describe("layerscope-cli run lensdiv")));
    const ProcResult p = runProcess(python(), QStringList{sourceDir() + "/tests/reference/lensdiv_reference.py", "--model",
                                                          model(name), "--ids", model(name) + "/eval_ids.npy", "--out", ref} +
                                                  common);
    QVERIFY2(p.finished && p.exitCode == 0, qPrintable(p.describe("lensdiv_reference.py")));
    const int tokens = readCsv(ref + "/tokens.csv").rows;
    QVERIFY(tokens > 1000);
    compareWithReference(ours, ref, {{"lensdiv_layers", "lensdiv_layers"}}, tokens);
    if (QTest::currentTestFailed()) return;

    // The run file keeps every token's KL at every layer (float32), as the reference computes it.
    const ls::LayerRun reopened = ls::readRunFile(run.toStdString());
    const auto result = reopened.result<ls::LensDivResult>("lensdiv");
    QVERIFY(result);
    const int L = name == "gpt2" ? 3 : 4;
    QCOMPARE(result->rows.size(), size_t(postAttention ? 2 * L + 1 : L + 1));
    const Csv tokenKl = readCsv(ref + "/lensdiv_token_kl.csv");  // token-major: layers 0..L of each token
    QCOMPARE(tokenKl.rows, tokens * (L + 1));
    const QStringList klText = tokenKl.col("kl_to_final");
    for (int l = 0; l <= L; ++l) {
        const ls::LensDivRow& row = result->rows[static_cast<size_t>(l)];
        QCOMPARE(row.stage, std::string("block"));
        QCOMPARE(int(row.tokenKl.size()), tokens);
        std::vector<double> got(row.tokenKl.begin(), row.tokenKl.end()), expected;
        for (int t = 0; t < tokens; ++t) expected.push_back(klText[t * (L + 1) + l].toDouble());
        // float32 log-softmax of logits of a few units: a few 1e-6 per token.
        const QString mismatch = mismatchOf(got, expected, 1e-5, 1e-4);
        QVERIFY2(mismatch.isEmpty(), qPrintable(QString("layer %1: %2").arg(l).arg(mismatch)));
    }

    // `show` rebuilds the same CSVs from the run file.
    const ProcResult s = runCli({"show", run, "--csv", reread});
    QVERIFY2(s.finished && s.exitCode == 0, qPrintable(s.describe("layerscope-cli show")));
    expectSameCsvs(ours, reread);
}

namespace {

// A stream of seeded uniform ids below vocab, for training a lens on windows the eval stream
// does not share.
bool writeTrainingIds(const QString& path, int vocab, int tokens) {
    std::mt19937 rng(7);
    std::uniform_int_distribution<int32_t> id(0, vocab - 1);
    std::vector<int32_t> ids(static_cast<size_t>(tokens));
    for (int32_t& v : ids) v = id(rng);
    return writeNpyInt32(path, ids);
}

// The file's A.{stage}.{layer} or b.{stage}.{layer} as doubles (F32).
std::vector<double> lensTensor(const StFile& f, const QString& name) {
    const int i = indexOf(f, name);
    if (i < 0) return {};
    const QByteArray& bytes = f.entries[i].data;
    std::vector<double> out(static_cast<size_t>(bytes.size()) / 4);
    for (size_t k = 0; k < out.size(); ++k) {
        float v;
        std::memcpy(&v, bytes.constData() + 4 * k, 4);
        out[k] = v;
    }
    return out;
}

}  // namespace

// A tuned lens trained by `lens train` on a stream of its own, then lensdiv through it on the
// eval stream (windows it never saw) against lensdiv_reference.py --tuned-lens, which reads the
// saved translators itself. It must also lower the KL to the final output below the logit
// lens's at every layer before the last, on those unseen windows.
void TestAnalysis::tunedLensDivMatchesReference_data() {
    QTest::addColumn<QString>("name");
    QTest::addColumn<bool>("attentionTranslators");
    QTest::newRow("gpt2, blocks and after attention") << "gpt2" << true;
    QTest::newRow("llama gqa, blocks only (attention rows read by the logit lens)") << "llama" << false;
}

void TestAnalysis::tunedLensDivMatchesReference() {
    QFETCH(QString, name);
    QFETCH(bool, attentionTranslators);
    const RowOutputs o = rowOutputs("tuned-");
    const QString base = QFileInfo(o.run).path(), lens = base + "/lens", trainIds = base + "/train_ids.npy";
    QVERIFY(QDir().mkpath(base));
    QVERIFY(writeTrainingIds(trainIds, 300, 4000));
    QStringList train{"lens", "train", "--model", model(name), "--data", trainIds, "--seq-len", "64",
                      "--steps", "40", "--batch-tokens", "512", "--threads", "1", "--out", lens};
    if (attentionTranslators) train << "--post-attention";
    const ProcResult t = runCli(train);
    QVERIFY2(t.finished && t.exitCode == 0, qPrintable(t.describe("layerscope-cli lens train")));

    const QStringList common{"--seq-len", "64", "--post-attention"};
    const QString eval = model(name) + "/eval_ids.npy";
    const ProcResult r = runCli(QStringList{"run", "lensdiv", "--model", model(name), "--data", eval, "--lens",
                                            "tuned:" + lens, "--threads", "1", "--csv", o.ours, "--out", o.run, "--quiet"} +
                                common);
    QVERIFY2(r.finished && r.exitCode == 0, qPrintable(r.describe("layerscope-cli run lensdiv --lens tuned:")));
    const ProcResult p = runProcess(python(), QStringList{sourceDir() + "/tests/reference/lensdiv_reference.py", "--model",
                                                          model(name), "--ids", eval, "--tuned-lens", lens, "--out", o.ref} +
                                                  common);
    QVERIFY2(p.finished && p.exitCode == 0, qPrintable(p.describe("lensdiv_reference.py --tuned-lens")));
    const int tokens = readCsv(o.ref + "/tokens.csv").rows;
    QVERIFY(tokens > 1000);
    compareWithReference(o.ours, o.ref, {{"lensdiv_layers", "lensdiv_layers"}}, tokens);
    if (QTest::currentTestFailed()) return;

    // Below the logit lens on the unseen windows, at every block layer before the last.
    const QString logitCsv = base + "/logit";
    const ProcResult g = runCli(QStringList{"run", "lensdiv", "--model", model(name), "--data", eval, "--threads", "1",
                                            "--csv", logitCsv, "--quiet"} + common);
    QVERIFY2(g.finished && g.exitCode == 0, qPrintable(g.describe("layerscope-cli run lensdiv")));
    const Csv tuned = readCsv(o.ours + "/lensdiv_layers.csv"), logit = readCsv(logitCsv + "/lensdiv_layers.csv");
    const int L = name == "gpt2" ? 3 : 4;
    for (int l = 0; l < L; ++l) {
        const double a = tuned.col("kl_to_final")[l].toDouble(), b = logit.col("kl_to_final")[l].toDouble();
        QVERIFY2(a < b, qPrintable(QString("layer %1: tuned KL %2, logit KL %3").arg(l).arg(a).arg(b)));
    }

    // The run file says which lens, and its hash; `show` rereads the same tables.
    const ls::LayerRun reopened = ls::readRunFile(o.run.toStdString());
    QCOMPARE(QString::fromStdString(reopened.params.lensChoice.text()), "tuned:" + lens);
    QCOMPARE(reopened.params.lensChoice.hash.size(), size_t(16));
    expectShowRereadsTheRun(o.run, o.ours, o.reread);
}

// A lens saved before any step (the translators at identity and zero) reads every layer exactly
// as the logit lens: the same tables, to the last digit, from every lens-based analysis. And a
// lens is refused for another model, both hashes named.
void TestAnalysis::untrainedTunedLensIsTheLogitLens() {
    const QString base = dir_.path() + "/untrained-lens", lens = base + "/lens";
    const QString eval = model("gpt2") + "/eval_ids.npy";
    const ProcResult t = runCli({"lens", "train", "--model", model("gpt2"), "--data", eval, "--seq-len", "64", "--steps",
                                 "0", "--threads", "1", "--out", lens});
    QVERIFY2(t.finished && t.exitCode == 0, qPrintable(t.describe("layerscope-cli lens train --steps 0")));
    const QStringList run{"run", "saturation,lensdiv,inspect,losssep,exit", "--model", model("gpt2"), "--data", eval,
                          "--seq-len", "64", "--post-attention", "--threads", "1", "--quiet"};
    const ProcResult a = runCli(run + QStringList{"--csv", base + "/logit"});
    QVERIFY2(a.finished && a.exitCode == 0, qPrintable(a.describe("run with the logit lens")));
    const ProcResult b = runCli(run + QStringList{"--csv", base + "/tuned", "--lens", "tuned:" + lens});
    QVERIFY2(b.finished && b.exitCode == 0, qPrintable(b.describe("run with the untrained tuned lens")));
    const QStringList files = QDir(base + "/logit").entryList({"*.csv"}, QDir::Files);
    QVERIFY(files.size() >= 8);
    static const QRegularExpression timing(QStringLiteral("second|speed|time"));
    for (const QString& f : files) {
        const Csv x = readCsv(base + "/logit/" + f), y = readCsv(base + "/tuned/" + f);
        QCOMPARE(y.header, x.header);
        for (const QString& column : x.header)
            if (!column.contains(timing))
                QVERIFY2(x.col(column) == y.col(column), qPrintable(f + ": column " + column + " differs"));
    }

    const ProcResult other = runCli({"run", "lensdiv", "--model", model("llama"), "--data", model("llama") + "/eval_ids.npy",
                                     "--seq-len", "48", "--lens", "tuned:" + lens, "--csv", base + "/other", "--quiet"});
    const QString lensHash = readJsonObject(lens + "/tuned_lens.json")["model_hash"].toString();
    QCOMPARE(lensHash.size(), 16);
    expectOneErrorLine(other, 2, {lens, lensHash, "another model"}, "a lens of another model");
}

// In a model whose blocks are identities every layer's lens already gives the final
// distribution (KL 0): training must leave each translator at (identity, zero).
void TestAnalysis::tunedLensOfIdentityBlocksStaysIdentity() {
    const QString lens = dir_.path() + "/identity-lens";
    const ProcResult t = runCli({"lens", "train", "--model", model("identity"), "--data", model("identity") + "/eval_ids.npy",
                                 "--seq-len", "64", "--steps", "30", "--batch-tokens", "256", "--threads", "1", "--out", lens});
    QVERIFY2(t.finished && t.exitCode == 0, qPrintable(t.describe("layerscope-cli lens train")));
    const StFile f = readSafetensors(lens + "/tuned_lens.safetensors");
    QVERIFY(f.ok);
    const int L = 3, D = 32;
    QCOMPARE(f.entries.size(), 2 * L);
    for (int l = 0; l < L; ++l) {
        const std::vector<double> A = lensTensor(f, QString("A.block.%1").arg(l)), b = lensTensor(f, QString("b.block.%1").arg(l));
        QCOMPARE(A.size(), size_t(D * D));
        QCOMPARE(b.size(), size_t(D));
        std::vector<double> identity(A.size(), 0.0), zero(b.size(), 0.0);
        for (int i = 0; i < D; ++i) identity[size_t(i * D + i)] = 1.0;
        const QString offA = mismatchOf(A, identity, 1e-5, 0), offB = mismatchOf(b, zero, 1e-5, 0);
        QVERIFY2(offA.isEmpty(), qPrintable(QString("A.block.%1: %2").arg(l).arg(offA)));
        QVERIFY2(offB.isEmpty(), qPrintable(QString("b.block.%1: %2").arg(l).arg(offB)));
    }
}

#include "test_analysis.moc"
