// layerscope-cli end to end, against the independent reference of
// tests/reference/make_model.py (its float64 forward + Hugging Face's sliding-window loop).
//
//   eval: for several (seq_len, stride, max_tokens), on .npy ids (int32, int64, uint16):
//         tokens / windows exactly, mean_loss and ppl within 1e-4 relative, the per-token
//         CSV row by row (window, position, token_id, target_id exactly, loss within 1e-3).
//   info: --json fields against the generated model's numbers.
//   bad input: exit code 2, one "error: ..." line on stderr naming the file or option, no
//         partial --per-token file left behind.
#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>
#include <csignal>

#include "cli_test_support.h"
#include "model_reference_support.h"
#include "test_support.h"

using namespace reftest;

namespace {

QString cli() { return QStringLiteral(LAYERSCOPE_CLI); }

constexpr double kMeanLossRelTol = 1e-4;
constexpr double kTokenLossAbsTol = 1e-3;

ProcResult runCli(const QStringList& args) { return runProcess(cli(), args, 180000); }

// The whole of stdout must be one JSON object.
QJsonObject parseJsonStdout(const QByteArray& out, QString* error) {
    QJsonParseError pe;
    QJsonDocument doc = QJsonDocument::fromJson(out.trimmed(), &pe);
    if (pe.error != QJsonParseError::NoError || !doc.isObject()) {
        *error = "stdout is not one JSON object (" + pe.errorString() + "): " + QString::fromUtf8(out.left(2000));
        return {};
    }
    return doc.object();
}

}  // namespace

class TestCli : public QObject {
    Q_OBJECT

private:
    QTemporaryDir base_;
    QString gpt2_, llama_;
    QStringList report_;

private slots:
    void initTestCase();
    void evalMatchesReference_data();
    void evalMatchesReference();
    void evalHumanOutput();
    void info_data();
    void info();
    void infoSystem();
    void onlyTheComputingCommandsLoadLibTorch();
    void runAndEvalSayWhereTheTimeWent();
    void badInput_data();
    void badInput();
    void noArgumentsPrintsUsage();
    void everyCommandAnswersHelp_data();
    void everyCommandAnswersHelp();
    void guiAnswersHelpWithoutDisplay();
    void guiRefusesSeqLenBeyondTheContext();
    void interruptLeavesNoPartialFile();
    void cleanupTestCase();
};

void TestCli::initTestCase() {
    QVERIFY2(QFileInfo::exists(cli()), qPrintable("no CLI at " + cli()));
    QVERIFY2(QFileInfo::exists(python()), qPrintable("no python at " + python()));
    QVERIFY(base_.isValid());
    gpt2_ = base_.filePath("gpt2");
    llama_ = base_.filePath("llama");
    // GPT-2, float32, context 128, vocab 300, a 400-token eval stream.
    QString err = makeModel(gpt2_, {"--arch", "gpt2", "--dtype", "f32", "--vocab", "300", "--ctx", "128",
                                    "--seed", "101", "--eval-tokens", "400",
                                    "--eval-windows", "128", "128", "0",
                                    "--eval-windows", "64", "64", "0",
                                    "--eval-windows", "64", "16", "0",
                                    "--eval-windows", "50", "20", "333",
                                    "--eval-windows", "32", "32", "97",
                                    "--eval-windows", "64", "32", "0",
                                    "--eval-windows", "128", "1", "150",
                                    "--eval-windows", "2", "1", "20"});
    QVERIFY2(err.isEmpty(), qPrintable(err));
    // Llama, bf16 weights, GQA, untied, llama3 rope scaling.
    err = makeModel(llama_, {"--arch", "llama", "--dtype", "bf16", "--vocab", "300", "--ctx", "128",
                             "--tied", "0", "--kv-heads", "2", "--rope-scaling", "llama3", "--rope-orig-max", "64",
                             "--seed", "102", "--eval-tokens", "300",
                             "--eval-windows", "128", "128", "0",
                             "--eval-windows", "100", "37", "0"});
    QVERIFY2(err.isEmpty(), qPrintable(err));
}

void TestCli::evalMatchesReference_data() {
    QTest::addColumn<QString>("model");       // "gpt2" | "llama"
    QTest::addColumn<QString>("data");        // file in the model folder
    QTest::addColumn<QStringList>("options"); // window options passed to the CLI
    QTest::addColumn<QString>("refFile");     // ref_eval_*.json

    QTest::newRow("gpt2 defaults (seq 128 = context, stride = seq)")
        << "gpt2" << "eval_ids.npy" << QStringList{} << "ref_eval_128_128_0.json";
    QTest::newRow("gpt2 --seq-len 64 (stride defaults to seq-len)")
        << "gpt2" << "eval_ids.npy" << QStringList{"--seq-len", "64"} << "ref_eval_64_64_0.json";
    QTest::newRow("gpt2 seq 64 stride 16")
        << "gpt2" << "eval_ids.npy" << QStringList{"--seq-len", "64", "--stride", "16"} << "ref_eval_64_16_0.json";
    QTest::newRow("gpt2 seq 50 stride 20 max 333")
        << "gpt2" << "eval_ids.npy" << QStringList{"--seq-len", "50", "--stride", "20", "--max-tokens", "333"}
        << "ref_eval_50_20_333.json";
    QTest::newRow("gpt2 seq 32 stride 32 max 97 (1-token last window)")
        << "gpt2" << "eval_ids.npy" << QStringList{"--seq-len", "32", "--stride", "32", "--max-tokens", "97"}
        << "ref_eval_32_32_97.json";
    QTest::newRow("gpt2 int64 ids seq 64 stride 32")
        << "gpt2" << "eval_ids_i64.npy" << QStringList{"--seq-len", "64", "--stride", "32"} << "ref_eval_64_32_0.json";
    QTest::newRow("gpt2 uint16 ids seq 64 stride 32")
        << "gpt2" << "eval_ids_u16.npy" << QStringList{"--seq-len", "64", "--stride", "32"} << "ref_eval_64_32_0.json";
    QTest::newRow("gpt2 seq 128 stride 1 max 150")
        << "gpt2" << "eval_ids.npy" << QStringList{"--seq-len", "128", "--stride", "1", "--max-tokens", "150"}
        << "ref_eval_128_1_150.json";
    QTest::newRow("gpt2 seq 2 stride 1 max 20")
        << "gpt2" << "eval_ids.npy" << QStringList{"--seq-len", "2", "--stride", "1", "--max-tokens", "20"}
        << "ref_eval_2_1_20.json";
    QTest::newRow("llama bf16 defaults")
        << "llama" << "eval_ids.npy" << QStringList{} << "ref_eval_128_128_0.json";
    QTest::newRow("llama bf16 seq 100 stride 37")
        << "llama" << "eval_ids.npy" << QStringList{"--seq-len", "100", "--stride", "37"} << "ref_eval_100_37_0.json";
}

void TestCli::evalMatchesReference() {
    QFETCH(QString, model);
    QFETCH(QString, data);
    QFETCH(QStringList, options);
    QFETCH(QString, refFile);
    const QString dir = model == "gpt2" ? gpt2_ : llama_;
    const QJsonObject ref = readJsonObject(dir + "/" + refFile);
    QVERIFY2(!ref.isEmpty(), qPrintable("no reference " + refFile));
    QTemporaryDir tmp;
    const QString csv = tmp.filePath("per_token.csv");

    QStringList args{"eval", "--model", dir, "--data", dir + "/" + data, "--per-token", csv, "--json"};
    args += options;
    const ProcResult r = runCli(args);
    QVERIFY2(r.finished && !r.crashed && r.exitCode == 0, qPrintable(r.describe("layerscope-cli " + args.join(' '))));

    QString jerr;
    const QJsonObject j = parseJsonStdout(r.out, &jerr);
    QVERIFY2(jerr.isEmpty(), qPrintable(jerr));
    for (const char* key : {"tokens", "mean_loss", "ppl", "seconds", "tokens_per_second", "windows", "seq_len", "stride"})
        QVERIFY2(j.contains(key), qPrintable(QString("JSON lacks '%1': %2").arg(key, QString::fromUtf8(r.out))));

    const qint64 refTokens = ref["tokens"].toInteger();
    const double refMean = ref["mean_loss"].toDouble();
    const double refPpl = ref["ppl"].toDouble();
    const double gotMean = j["mean_loss"].toDouble();
    const double gotPpl = j["ppl"].toDouble();
    const QString line = QString("%1: tokens %2/%3 windows %4/%5 mean_loss %6 vs %7 (rel %8) ppl %9 vs %10")
                             .arg(QTest::currentDataTag())
                             .arg(j["tokens"].toInteger()).arg(refTokens)
                             .arg(j["windows"].toInteger()).arg(ref["windows"].toInteger())
                             .arg(gotMean, 0, 'g', 9).arg(refMean, 0, 'g', 9)
                             .arg(std::abs(gotMean - refMean) / refMean, 0, 'e', 2)
                             .arg(gotPpl, 0, 'g', 9).arg(refPpl, 0, 'g', 9);
    QCOMPARE(j["tokens"].toInteger(), refTokens);
    QCOMPARE(j["seq_len"].toInteger(), ref["seq_len"].toInteger());
    QCOMPARE(j["stride"].toInteger(), ref["stride"].toInteger());
    QVERIFY2(std::abs(gotMean - refMean) <= kMeanLossRelTol * std::abs(refMean), qPrintable(line));
    QVERIFY2(std::abs(gotPpl - refPpl) <= kMeanLossRelTol * refPpl, qPrintable(line));
    QVERIFY2(std::abs(gotPpl - std::exp(gotMean)) <= 1e-6 * gotPpl, qPrintable("ppl != exp(mean_loss): " + line));
    QVERIFY(j["seconds"].toDouble() >= 0);
    QVERIFY(j["tokens_per_second"].toDouble() > 0);
    QCOMPARE(j["windows"].toInteger(), ref["windows"].toInteger());

    // Per-token CSV.
    QFile f(csv);
    QVERIFY2(f.open(QIODevice::ReadOnly), qPrintable("no per-token file " + csv));
    QList<QByteArray> lines = f.readAll().split('\n');
    while (!lines.isEmpty() && lines.last().trimmed().isEmpty()) lines.removeLast();
    QVERIFY(!lines.isEmpty());
    QCOMPARE(QString::fromUtf8(lines[0].trimmed()), QString("window,position,token_id,target_id,loss"));
    const QJsonArray rows = ref["per_token"].toArray();
    QCOMPARE(qint64(lines.size() - 1), qint64(rows.size()));
    double maxLossErr = 0;
    int worst = -1;
    for (int i = 0; i < rows.size(); ++i) {
        const QList<QByteArray> cells = lines[i + 1].trimmed().split(',');
        QVERIFY2(cells.size() == 5, qPrintable(QString("row %1: '%2'").arg(i + 1).arg(QString::fromUtf8(lines[i + 1]))));
        const QJsonArray want = rows[i].toArray();
        for (int c = 0; c < 4; ++c) {
            bool ok = false;
            const qint64 v = cells[c].toLongLong(&ok);
            QVERIFY2(ok && v == want[c].toInteger(),
                     qPrintable(QString("CSV row %1 column %2: got '%3' want %4 (line '%5')")
                                    .arg(i + 1).arg(c).arg(QString::fromUtf8(cells[c])).arg(want[c].toInteger())
                                    .arg(QString::fromUtf8(lines[i + 1]))));
        }
        bool ok = false;
        const double loss = cells[4].toDouble(&ok);
        QVERIFY2(ok && std::isfinite(loss), qPrintable(QString("row %1 loss '%2'").arg(i + 1).arg(QString::fromUtf8(cells[4]))));
        const double e = std::abs(loss - want[4].toDouble());
        if (e > maxLossErr) {
            maxLossErr = e;
            worst = i;
        }
    }
    const QString full = line + QString("; csv rows %1, max per-token loss err %2 (row %3)")
                                    .arg(rows.size()).arg(maxLossErr, 0, 'e', 2).arg(worst + 1);
    qInfo().noquote() << full;
    report_ << full;
    QVERIFY2(maxLossErr <= kTokenLossAbsTol, qPrintable(full));
}

void TestCli::evalHumanOutput() {
    const ProcResult r = runCli({"eval", "--model", gpt2_, "--data", gpt2_ + "/eval_ids.npy", "--seq-len", "64"});
    QVERIFY2(r.finished && !r.crashed && r.exitCode == 0, qPrintable(r.describe("eval without --json")));
    QVERIFY2(!r.out.trimmed().isEmpty(), "eval without --json printed nothing");
    // The reference perplexity appears in the human output (any number within 1e-4 of it).
    const double ppl = readJsonObject(gpt2_ + "/ref_eval_64_64_0.json")["ppl"].toDouble();
    const QString out = QString::fromUtf8(r.out);
    bool found = false;
    QRegularExpression num("[-+]?[0-9]+(\\.[0-9]+)?([eE][-+]?[0-9]+)?");
    for (auto it = num.globalMatch(out); it.hasNext();) {
        const double v = it.next().captured(0).toDouble();
        if (std::abs(v - ppl) <= 1e-4 * ppl) found = true;
    }
    QVERIFY2(found, qPrintable(QString("human output does not show ppl %1:\n%2").arg(ppl).arg(out)));
}

void TestCli::info_data() {
    addRows<QString>("model", {{"gpt2 f32", "gpt2"}, {"llama bf16 GQA untied", "llama"}});
}

// info --system names the BLAS that does LibTorch's products: OpenBLAS as set up here
// (scripts/setup.sh installs it), the reference BLAS, with a warning, when the library path
// makes the loader take Debian's reference libblas.so.3 instead.
void TestCli::infoSystem() {
    const ProcResult r = runCli({"info", "--system", "--json"});
    QVERIFY2(r.finished && !r.crashed && r.exitCode == 0, qPrintable(r.describe("info --system --json")));
    QString jerr;
    const QJsonObject j = parseJsonStdout(r.out, &jerr);
    QVERIFY2(jerr.isEmpty(), qPrintable(jerr));
    qInfo().noquote() << "info --system:" << QString::fromUtf8(r.out.simplified());
    QVERIFY2(j["blas"].toString().startsWith("OpenBLAS"), qPrintable(QString::fromUtf8(r.out)));
    QVERIFY(!j["reference_blas"].toBool());
    QVERIFY(j["blas_config"].toString().contains("OpenBLAS"));
    QVERIFY(!j["libtorch"].toString().isEmpty());
    QVERIFY(j["cpu_threads"].toInt() >= 1);
    QVERIFY(j["torch_threads"].toInt() >= 1);
    QVERIFY(j["warning"].toString().isEmpty());
    QVERIFY(r.err.isEmpty());
    const ProcResult table = runCli({"info", "--system"});
    QVERIFY2(table.exitCode == 0 && table.out.contains("BLAS ") && table.out.contains("LibTorch"),
             qPrintable(table.describe("info --system")));

    const QString referenceDir = "/usr/lib/x86_64-linux-gnu/blas";
    if (!QFile::exists(referenceDir + "/libblas.so.3"))
        QSKIP("Debian's reference BLAS (libblas3) is not installed");
    const ProcResult slow = runProcess("/usr/bin/env", {"LD_LIBRARY_PATH=" + referenceDir, cli(), "info", "--system", "--json"});
    QVERIFY2(slow.finished && slow.exitCode == 0, qPrintable(slow.describe("info --system on the reference BLAS")));
    const QJsonObject k = parseJsonStdout(slow.out, &jerr);
    QCOMPARE(k["blas"].toString(), QStringLiteral("reference BLAS"));
    QVERIFY(k["reference_blas"].toBool());
    QVERIFY(k["warning"].toString().contains("libopenblas0-pthread"));
    QVERIFY2(slow.err.contains("warning: LibTorch runs on the reference BLAS"), qPrintable(slow.describe("no warning")));
}

// The program is plain C++; LibTorch comes with the compute module, for the commands that
// run a model (commands.h). The dynamic loader's log (LD_DEBUG=libs) names what it loaded.
void TestCli::onlyTheComputingCommandsLoadLibTorch() {
    const ProcResult info = runProcess("/usr/bin/env", {"LD_DEBUG=libs", cli(), "info", "--model", gpt2_, "--json"});
    QVERIFY2(info.finished && info.exitCode == 0, qPrintable(info.describe("info")));
    QVERIFY2(!info.err.contains("libtorch") && !info.err.contains("layerscope-cli-compute"),
             qPrintable(info.describe("info loaded LibTorch")));
    const ProcResult eval = runProcess(
        "/usr/bin/env", {"LD_DEBUG=libs", cli(), "eval", "--model", gpt2_, "--data", gpt2_ + "/eval_ids.npy", "--seq-len", "64"});
    QVERIFY2(eval.finished && eval.exitCode == 0, qPrintable(eval.describe("eval")));
    QVERIFY2(eval.err.contains("layerscope-cli-compute.so") && eval.err.contains("libtorch"),
             qPrintable(eval.describe("eval did not load the compute module and LibTorch")));
}

// run and eval --json give the phases; the run file keeps them (but its own writing).
void TestCli::runAndEvalSayWhereTheTimeWent() {
    QTemporaryDir tmp;
    const QString runFile = tmp.path() + "/run.h5";
    const ProcResult r = runCli({"run", "cossim,saturation", "--model", gpt2_, "--data", gpt2_ + "/eval_ids.npy",
                                 "--seq-len", "64", "--out", runFile, "--json"});
    QVERIFY2(r.finished && r.exitCode == 0, qPrintable(r.describe("run")));
    QString jerr;
    const QJsonObject phases = parseJsonStdout(r.out, &jerr)["phases"].toObject();
    QVERIFY2(jerr.isEmpty(), qPrintable(jerr));
    const QStringList names{"startup", "load", "setup", "capture", "summaries", "writing"};
    QCOMPARE(phases.keys().size(), names.size());
    for (const QString& name : names) QVERIFY2(phases.contains(name) && phases[name].toDouble() >= 0, qPrintable(name));
    for (const char* name : {"startup", "load", "setup", "capture", "writing"})  // each of these did something
        QVERIFY2(phases[name].toDouble() > 0, name);
    QVERIFY2(phases["startup"].toDouble() < 60, "the start-up is since this process started, not since boot");

    const ProcResult shown = runCli({"show", runFile, "--json"});
    QVERIFY2(shown.finished && shown.exitCode == 0, qPrintable(shown.describe("show")));
    const QJsonObject kept = parseJsonStdout(shown.out, &jerr)["phases"].toObject();
    for (const QString& name : names)
        QCOMPARE_NEAR(kept[name].toDouble(), name == "writing" ? 0.0 : phases[name].toDouble(), 1e-12, 0.0);

    const ProcResult e = runCli({"eval", "--model", gpt2_, "--data", gpt2_ + "/eval_ids.npy", "--seq-len", "64", "--json"});
    QVERIFY2(e.finished && e.exitCode == 0, qPrintable(e.describe("eval")));
    const QJsonObject evalPhases = parseJsonStdout(e.out, &jerr)["phases"].toObject();
    QCOMPARE(evalPhases.keys().size(), names.size());
    QVERIFY(evalPhases["load"].toDouble() > 0 && evalPhases["capture"].toDouble() > 0);
}

void TestCli::info() {
    QFETCH(QString, model);
    const QString dir = model == "gpt2" ? gpt2_ : llama_;
    const QJsonObject ref = readJsonObject(dir + "/reference.json");
    const ProcResult r = runCli({"info", "--model", dir, "--json"});
    QVERIFY2(r.finished && !r.crashed && r.exitCode == 0, qPrintable(r.describe("info --json")));
    QString jerr;
    const QJsonObject j = parseJsonStdout(r.out, &jerr);
    QVERIFY2(jerr.isEmpty(), qPrintable(jerr));
    qInfo().noquote() << "info --json:" << QString::fromUtf8(r.out.trimmed());
    for (const char* key : {"model_type", "architecture", "layers", "heads", "kv_heads", "dim", "ffn_dim",
                            "vocab_size", "context", "parameters", "dtype"})
        QVERIFY2(j.contains(key), qPrintable(QString("info JSON lacks '%1': %2").arg(key, QString::fromUtf8(r.out))));
    QCOMPARE(j["model_type"].toString(), ref["model_type"].toString());
    QCOMPARE(j["architecture"].toString(), ref["architecture"].toString());
    for (const char* key : {"layers", "heads", "kv_heads", "dim", "ffn_dim", "vocab_size", "context", "parameters"})
        QVERIFY2(j[key].toInteger() == ref[key].toInteger(),
                 qPrintable(QString("%1: got %2 want %3").arg(key).arg(j[key].toInteger()).arg(ref[key].toInteger())));
    // dtype as stored: "F32"/"BF16" (safetensors names) or "float32"/"bfloat16".
    const QString dt = j["dtype"].toString().toUpper();
    const QString want = ref["dtype"].toString();
    const QString torchName = want == "F32" ? "FLOAT32" : want == "F16" ? "FLOAT16" : "BFLOAT16";
    QVERIFY2(dt == want || dt == torchName, qPrintable("dtype " + j["dtype"].toString() + " want " + want));

    const ProcResult h = runCli({"info", "--model", dir});
    QVERIFY2(h.finished && !h.crashed && h.exitCode == 0, qPrintable(h.describe("info")));
    QVERIFY(!h.out.trimmed().isEmpty());
}

// ---------------------------------------------------------------------------------------
// Bad input. Placeholders in args: {M} the GPT-2 model folder, {T} a fresh temp dir,
// {CSV} = {T}/out.csv (checked not to exist afterwards).
// ---------------------------------------------------------------------------------------
void TestCli::badInput_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QStringList>("mustMention");  // every one of these in the error line
    QTest::addColumn<int>("exitCode");

    const QStringList ev{"eval", "--model", "{M}", "--per-token", "{CSV}", "--json"};
    QTest::newRow("unknown command") << QStringList{"frobnicate", "--model", "{M}"} << QStringList{"frobnicate"} << 2;
    QTest::newRow("info without --model") << QStringList{"info", "--json"} << QStringList{"--model"} << 2;
    QTest::newRow("eval without --model")
        << QStringList{"eval", "--data", "{M}/eval_ids.npy", "--per-token", "{CSV}"} << QStringList{"--model"} << 2;
    QTest::newRow("eval without --data")
        << QStringList{"eval", "--model", "{M}", "--per-token", "{CSV}"} << QStringList{"--data"} << 2;
    QTest::newRow("unknown option")
        << (ev + QStringList{"--data", "{M}/eval_ids.npy", "--bogus-option", "3"}) << QStringList{"--bogus-option"} << 2;
    QTest::newRow("option without value")
        << QStringList{"eval", "--model", "{M}", "--per-token", "{CSV}", "--data"} << QStringList{"--data"} << 2;
    QTest::newRow("nonexistent model folder")
        << QStringList{"info", "--model", "{T}/no-such-model"} << QStringList{"no-such-model"} << 2;
    QTest::newRow("eval nonexistent model folder")
        << QStringList{"eval", "--model", "{T}/no-such-model", "--data", "{M}/eval_ids.npy", "--per-token", "{CSV}"}
        << QStringList{"no-such-model"} << 2;
    QTest::newRow("model folder with broken config.json")
        << QStringList{"eval", "--model", "{T}/broken", "--data", "{M}/eval_ids.npy", "--per-token", "{CSV}"}
        << QStringList{"config.json"} << 2;
    // Data files eval cannot use ({T}: written by badInput): the error names the file.
    const std::pair<const char*, QString> badData[] = {
        {"nonexistent data file", "missing-data.npy"}, {"empty data file (0 bytes .npy)", "empty.npy"},
        {"npy with zero tokens", "zero-tokens.npy"}, {"npy float32", "floats.npy"}, {"npy 2-D", "matrix.npy"},
        {"npy truncated data", "short.npy"},
        {"ids beyond vocab (300 with vocab 300, late in the stream)", "beyond-vocab.npy"},
        {"negative id", "negative.npy"}};
    for (const auto& [tag, file] : badData)
        QTest::newRow(tag) << (ev + QStringList{"--data", "{T}/" + file}) << QStringList{file} << 2;
    QTest::newRow("--seq-len larger than context")
        << (ev + QStringList{"--data", "{M}/eval_ids.npy", "--seq-len", "129"}) << QStringList{"--seq-len"} << 2;
    QTest::newRow("--seq-len 1")
        << (ev + QStringList{"--data", "{M}/eval_ids.npy", "--seq-len", "1"}) << QStringList{"--seq-len"} << 2;
    QTest::newRow("--seq-len not a number")
        << (ev + QStringList{"--data", "{M}/eval_ids.npy", "--seq-len", "abc"}) << QStringList{"--seq-len"} << 2;
    QTest::newRow("--stride 0")
        << (ev + QStringList{"--data", "{M}/eval_ids.npy", "--stride", "0"}) << QStringList{"--stride"} << 2;
    QTest::newRow("--stride -4")
        << (ev + QStringList{"--data", "{M}/eval_ids.npy", "--stride", "-4"}) << QStringList{"--stride"} << 2;
    QTest::newRow("--stride larger than --seq-len")
        << (ev + QStringList{"--data", "{M}/eval_ids.npy", "--seq-len", "32", "--stride", "64"})
        << QStringList{"--stride"} << 2;
    QTest::newRow("--max-tokens -5")
        << (ev + QStringList{"--data", "{M}/eval_ids.npy", "--max-tokens", "-5"}) << QStringList{"--max-tokens"} << 2;
    QTest::newRow("text data, model folder without tokenizer")
        << (ev + QStringList{"--data", "{T}/text.txt"}) << QStringList{"tokenizer"} << 2;
    QTest::newRow("--per-token in a missing directory")
        << QStringList{"eval", "--model", "{M}", "--data", "{M}/eval_ids.npy", "--per-token", "{T}/no-dir/x.csv"}
        << QStringList{"x.csv"} << 2;
}

void TestCli::badInput() {
    QFETCH(QStringList, args);
    QFETCH(QStringList, mustMention);
    QFETCH(int, exitCode);

    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString T = tmp.path();
    const QString csv = T + "/out.csv";
    // Data files for the cases.
    QVERIFY(writeFile(T + "/empty.npy", QByteArray()));
    QVERIFY(writeNpyRaw(T + "/zero-tokens.npy", "<i4", {0}, QByteArray()));
    {
        std::vector<float> v(50, 1.0f);
        QVERIFY(writeNpyRaw(T + "/floats.npy", "<f4", {50}, QByteArray(reinterpret_cast<const char*>(v.data()), 200)));
        std::vector<int32_t> m(40, 3);
        QVERIFY(writeNpyRaw(T + "/matrix.npy", "<i4", {4, 10}, QByteArray(reinterpret_cast<const char*>(m.data()), 160)));
        QVERIFY(writeNpyRaw(T + "/short.npy", "<i4", {100}, QByteArray(reinterpret_cast<const char*>(m.data()), 160)));
        std::vector<int32_t> ids(260);
        for (int i = 0; i < 260; ++i) ids[i] = (i * 37) % 300;
        ids[250] = 300;  // beyond vocab, in the second window
        QVERIFY(writeNpyInt32(T + "/beyond-vocab.npy", ids));
        ids[250] = 5;
        ids[200] = -1;
        QVERIFY(writeNpyInt32(T + "/negative.npy", ids));
    }
    QVERIFY(writeFile(T + "/text.txt", "Hello world, this is a small text file.\n"));
    QVERIFY(copyDir(gpt2_, T + "/broken"));
    QVERIFY(writeFile(T + "/broken/config.json", "{\"model_type\": \"gpt2\", "));

    const ProcResult r = runCli(withPlaceholders(args, {{"{CSV}", csv}, {"{M}", gpt2_}, {"{T}", T}}));
    const QString line = runLine(r);
    qInfo().noquote() << line;
    report_ << line;
    expectOneErrorLine(r, exitCode, mustMention, line);
    if (QTest::currentTestFailed())
        return;
    QVERIFY2(!QFileInfo::exists(csv), qPrintable("partial --per-token file left behind: " + line));
    QVERIFY2(!QFileInfo::exists(T + "/no-dir/x.csv"), "per-token file created in a missing directory");
    // Nothing that looks like a result on stdout.
    QVERIFY2(!r.out.contains("\"mean_loss\""), qPrintable("result JSON printed despite the error: " + QString::fromUtf8(r.out)));
}

// A bare invocation is a usage error: exit 2 and the usage text (not a one-line error).
void TestCli::noArgumentsPrintsUsage() {
    const ProcResult r = runCli({});
    QVERIFY2(r.finished && !r.crashed, qPrintable(r.describe("no arguments")));
    QCOMPARE(r.exitCode, 2);
    QVERIFY2(QString::fromUtf8(r.err + r.out).contains("usage", Qt::CaseInsensitive), qPrintable(r.describe("no usage")));
    const ProcResult h = runCli({"--help"});
    QVERIFY2(h.finished && !h.crashed && h.exitCode == 0, qPrintable(h.describe("--help")));
    QVERIFY(QString::fromUtf8(h.out).contains("eval"));
}

// Every command answers --help (exit 0, on stdout) with its options, from the table that also
// parses them: every option the help lists is accepted by the parser (the command then fails
// for another reason, such as a missing --model, never with "unknown option").
void TestCli::everyCommandAnswersHelp_data() {
    QTest::addColumn<QString>("command");
    QTest::addColumn<QStringList>("mustList");
    QTest::newRow("info") << "info" << QStringList{"--model", "--json"};
    QTest::newRow("eval") << "eval" << QStringList{"--model", "--data", "--seq-len", "--stride", "--per-token", "--format"};
    QTest::newRow("run") << "run" << QStringList{"--model", "--heads", "--lens-method", "--out", "--csv", "--context-heads"};
    QTest::newRow("show") << "show" << QStringList{"--csv", "--json", "--per-token-saturation"};
    QTest::newRow("train") << "train" << QStringList{"--data", "--out", "--layout", "--patience", "--word-vocab"};
    QTest::newRow("demo-corpus") << "demo-corpus" << QStringList{"--out", "--words", "--labels"};
}

void TestCli::everyCommandAnswersHelp() {
    QFETCH(QString, command);
    QFETCH(QStringList, mustList);
    const ProcResult h = runCli({command, "--help"});
    QVERIFY2(h.finished && !h.crashed && h.exitCode == 0, qPrintable(h.describe(command + " --help")));
    const QString help = QString::fromUtf8(h.out);
    QVERIFY2(help.startsWith("usage: layerscope-cli " + command), qPrintable(help));
    for (const QString& option : mustList) QVERIFY2(help.contains(option + " "), qPrintable(option + " missing from\n" + help));
    QCOMPARE(runCli({command, "-h"}).out, h.out);
    // Every listed option is one the parser knows.
    const QRegularExpression optionLine("^  --([a-z0-9-]+)( \\S+)?", QRegularExpression::MultilineOption);
    int options = 0;
    for (auto it = optionLine.globalMatch(help); it.hasNext(); ++options) {
        const QRegularExpressionMatch m = it.next();
        QStringList args{command, "--" + m.captured(1)};
        if (!m.captured(2).isEmpty())  // a path that cannot be written, so that nothing is
            args << (QRegularExpression("FILE|DIR|PATH|RUN").match(m.captured(2)).hasMatch() ? "/nonexistent/x" : "1");
        const ProcResult r = runCli(args);
        // An option alone lacks the command's required ones, except info --system, which needs none.
        const int expectedExit = command == "info" && m.captured(1) == "system" ? 0 : 2;
        QVERIFY2(r.finished && !r.crashed && r.exitCode == expectedExit, qPrintable(r.describe(args.join(' '))));
        QVERIFY2(!r.err.contains("unknown option"), qPrintable(r.describe(args.join(' '))));
    }
    QVERIFY2(options >= mustList.size(), qPrintable(help));
    // An option the table does not have is refused, naming the command's help.
    const ProcResult bad = runCli({command, "--no-such-option"});
    QCOMPARE(bad.exitCode, 2);
    QVERIFY2(bad.err.contains("unknown option --no-such-option for '" + command.toUtf8() + "' (see layerscope-cli " +
                              command.toUtf8() + " --help)"),
             qPrintable(bad.describe("unknown option")));
}

// The GUI binary answers --help and --version without a display (no DISPLAY, the default
// xcb platform): they are answered before the application connects to one.
void TestCli::guiAnswersHelpWithoutDisplay() {
#ifndef LAYERSCOPE_GUI_BINARY
    QSKIP("built without the GUI");
#else
    for (const QString& option : {"--help", "-h", "--version"}) {
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.remove("DISPLAY");
        env.remove("WAYLAND_DISPLAY");
        env.remove("QT_QPA_PLATFORM");
        p.setProcessEnvironment(env);
        p.start(LAYERSCOPE_GUI_BINARY, {option});
        QVERIFY(p.waitForFinished(60000));
        const QString out = QString::fromUtf8(p.readAllStandardOutput());
        QVERIFY2(p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0,
                 qPrintable(option + ": " + out + QString::fromUtf8(p.readAllStandardError())));
        if (option == "--version")
            QVERIFY2(out.startsWith("LayerScope "), qPrintable(out));
        else
            QVERIFY2(out.contains("--model") && out.contains("--open-run") && out.contains("--screenshot"), qPrintable(out));
    }
#endif
}

// The GUI refuses a --seq-len beyond the model's context, as the command line does (it used to
// lower it to the context without a word); one within it opens.
void TestCli::guiRefusesSeqLenBeyondTheContext() {
#ifndef LAYERSCOPE_GUI_BINARY
    QSKIP("built without the GUI");
#else
    for (const QString& seqLen : {"100000", "64"}) {
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("QT_QPA_PLATFORM", "offscreen");
        p.setProcessEnvironment(env);
        p.start(LAYERSCOPE_GUI_BINARY, {"--seq-len", seqLen, "--quit-after-run"});  // on the demo (context 128)
        QVERIFY(p.waitForFinished(120000));
        const QString err = QString::fromUtf8(p.readAllStandardError());
        if (seqLen == "64") {
            QVERIFY2(p.exitCode() == 0, qPrintable(err));
        } else {
            QVERIFY2(p.exitCode() == 1, qPrintable(err));
            QVERIFY2(err.contains("--seq-len 100000 exceeds the context of") && err.contains("(128 positions)"), qPrintable(err));
        }
    }
#endif
}

// SIGINT during a long eval: exit 130 (interrupted), no --per-token file left behind.
void TestCli::interruptLeavesNoPartialFile() {
    QTemporaryDir tmp;
    const QString csv = tmp.filePath("interrupted.csv");
    // stride 1 over 3000 tokens: ~2900 windows of up to 128 tokens, far longer than the wait.
    std::vector<int32_t> ids(3000);
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = int32_t((i * 7919 + 13) % 300);
    const QString data = tmp.filePath("long.npy");
    QVERIFY(writeNpyInt32(data, ids));
    QProcess p;
    p.start(cli(), {"eval", "--model", gpt2_, "--data", data, "--seq-len", "128",
                    "--stride", "1", "--per-token", csv, "--json"});
    QVERIFY(p.waitForStarted(30000));
    // Wait until the evaluation is under way: an output file appeared next to the CSV (the CSV
    // or a partial/temporary one), or at most 3 s.
    QElapsedTimer t;
    t.start();
    while (t.elapsed() < 3000 && p.state() == QProcess::Running &&
           QDir(tmp.path()).entryList(QDir::Files | QDir::Hidden).size() <= 1)
        QTest::qWait(20);
    QTest::qWait(200);
    if (p.state() != QProcess::Running) QSKIP("eval finished before it could be interrupted");
    ::kill(pid_t(p.processId()), SIGINT);
    QVERIFY2(p.waitForFinished(60000), "eval did not stop after SIGINT");
    const QString err = QString::fromUtf8(p.readAllStandardError());
    qInfo().noquote() << "SIGINT -> exit" << p.exitCode() << "stderr:" << err.trimmed();
    QCOMPARE(p.exitStatus(), QProcess::NormalExit);
    QCOMPARE(p.exitCode(), 130);
    QVERIFY2(!QFileInfo::exists(csv), "partial --per-token file left behind after SIGINT");
    QStringList left = QDir(tmp.path()).entryList(QDir::Files | QDir::Hidden);
    left.removeAll("long.npy");
    QVERIFY2(left.isEmpty(), qPrintable("files left behind: " + left.join(", ")));
}

void TestCli::cleanupTestCase() {
    qInfo().noquote() << "==== summary ====";
    for (const QString& l : report_) qInfo().noquote() << l;
}

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
