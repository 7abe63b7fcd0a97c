// The small-model trainer (core/train, `layerscope-cli train`) against an independent
// reference: tests/reference/reference_forward.py reads the trained folder the way a
// Hugging Face loader would (config.json, model.safetensors parsed by hand, the word-level
// tokenizer.json) and recomputes logits and the validation loss in float64 with
// make_model.py's forward passes -- no LayerScope code involved.
//
//   trainedFolderIsHuggingFace  GPT-2 and Llama layouts: HF tensor names/shapes/config,
//                               ls::Model logits == reference within
//                               5e-5 * max(1, max |ref|), same argmax; the reported
//                               best_val_loss == the reference's validation loss (1e-4);
//                               the word-level tokenizer maps the corpus 1:1 word -> id.
//   referenceCatchesLayoutMistakes  the reference itself: a trained folder rewritten as
//                               typical writer bugs would write it (Conv1D not transposed,
//                               q/k swapped, interleaved RoPE rows, gate/up swapped) moves its
//                               logits >1000x and its loss >10x beyond the tolerances, or is
//                               rejected by its HF shape checks.
//   learningHappens             the validation loss falls far below ln(vocab) and the first
//                               validation; history and result agree; the saved model is the
//                               best one; words the demo corpus fixes become easy.
//   earlyStopping               patience 1: outcome early_stop, and the folder holds the best
//                               checkpoint (its loss is best_val_loss, not the last one).
//   cancelKeepsBestCheckpoint   SIGINT after a "(best, saved)" line: exit 130, a complete
//                               folder whose loss is the reported best.
//   cancelBeforeFirstValidation SIGINT before any validation: exit 130, no config.json /
//                               model.safetensors (also when --overwrite replaced a model).
//   runEndingBetweenValidations a run whose --eval-every lies beyond its last step must not
//                               exit 0 with no model in the folder.
//   badOptions                  exit 2, one "error: " line naming the option or file, nothing
//                               written into --out (an existing model stays untouched).
//   determinism                 the same seed gives byte-identical files with --threads 1.
//
// Why best_val_loss is not compared with `layerscope-cli eval`: the trainer's validation
// windows have seqLen + 1 tokens (seqLen scored positions each), and the saved model's
// context is seqLen, so eval refuses --seq-len seqLen + 1 ("exceeds the context"); eval
// with --seq-len seqLen scores seqLen - 1 positions per window, a different quantity. The
// float64 reference recomputes exactly the trainer's quantity instead.
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QProcess>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <map>
#include <optional>
#include <set>

#include <signal.h>

#include "cli_test_support.h"
#include "common/error.h"
#include "common/progress.h"
#include "model/model.h"
#include "model_reference_support.h"
#include "test_support.h"
#include "tokenizer/tokenizer.h"
#include "train/train_job.h"
#include "train/trainer.h"
#include "train_test_support.h"

using namespace reftest;

namespace {

constexpr double kLogitRelTol = 5e-5;  // of max(1, max |ref logit|)
constexpr double kValLossTol = 1e-4;   // nats, absolute

QString cli() { return QStringLiteral(LAYERSCOPE_CLI); }
QString referenceScript() { return sourceDir() + "/tests/reference/reference_forward.py"; }

ProcResult runCli(const QStringList& args, int timeoutMs = 300000) { return runProcess(cli(), args, timeoutMs); }

QJsonObject parseJsonStdout(const QByteArray& out, QString* error) {
    QJsonParseError pe;
    const QJsonDocument doc = QJsonDocument::fromJson(out.trimmed(), &pe);
    if (pe.error != QJsonParseError::NoError || !doc.isObject()) {
        *error = "stdout is not one JSON object (" + pe.errorString() + "): " + QString::fromUtf8(out.left(2000));
        return {};
    }
    return doc.object();
}

// Files in a model folder that are neither the model nor a tokenizer file (e.g. *.partial).
QStringList strayFiles(const QString& dir) {
    QSet<QString> allowed{"config.json", "model.safetensors"};
    for (const auto& n : ls::tokenizerFileNames()) allowed.insert(QString::fromStdString(n));
    QStringList stray;
    for (const QString& f : QDir(dir).entryList(QDir::Files | QDir::Hidden | QDir::System))
        if (!allowed.contains(f)) stray << f;
    return stray;
}

struct Reference {
    QJsonObject json;
    QString error;
    QString workDir;
};

// Runs reference_forward.py on a trained folder; its outputs go into workDir.
Reference runReference(const QString& modelDir, const QString& corpus, int seqLen, double valFraction,
                       const QString& workDir, const QStringList& idsFiles = {}) {
    Reference ref;
    ref.workDir = workDir;
    QDir().mkpath(workDir);
    QStringList args{referenceScript(), "--model", modelDir, "--corpus", corpus, "--seq-len", QString::number(seqLen),
                     "--val-fraction", QString::number(valFraction, 'g', 17), "--out", workDir + "/result.json"};
    for (const QString& f : idsFiles) args << "--ids" << f;
    const ProcResult r = runProcess(python(), args, 300000);
    if (!r.finished || r.crashed || r.exitCode != 0) {
        ref.error = r.describe("reference_forward.py " + args.join(' '));
        return ref;
    }
    ref.json = readJsonObject(workDir + "/result.json");
    if (ref.json.isEmpty()) ref.error = "reference_forward.py wrote no result.json";
    return ref;
}

std::vector<int32_t> toIds(const Npy& npy) {
    std::vector<int32_t> ids;
    for (double v : npy.values) ids.push_back(static_cast<int32_t>(v));
    return ids;
}

// Compares ls::Model logits with a float64 reference (T, V); returns a description, and
// sets *ok. Argmax must agree wherever the reference's top two differ by more than 2 tol.
QString compareLogits(const ls::Model& model, const QString& idsPath, bool* ok) {
    *ok = false;
    const Npy idsNpy = readNpy(idsPath);
    if (!idsNpy.error.isEmpty()) return idsNpy.error;
    QString logitsPath = idsPath;
    logitsPath.chop(4);
    const Npy ref = readNpy(logitsPath + ".logits.npy");
    if (!ref.error.isEmpty()) return ref.error;
    const std::vector<int32_t> ids = toIds(idsNpy);
    const int64_t T = static_cast<int64_t>(ids.size());
    const int64_t V = model.config().vocabSize;
    if (ref.shape.size() != 2 || ref.shape[0] != T || ref.shape[1] != V)
        return QString("reference logits have the wrong shape for %1 ids").arg(T);
    std::vector<float> got;
    try {
        got = model.logits(ids);
    } catch (const std::exception& e) {
        return QString("logits threw: ") + e.what();
    }
    if (static_cast<int64_t>(got.size()) != T * V) return QString("got %1 logits, want %2").arg(got.size()).arg(T * V);
    double maxRef = 0, maxErr = 0;
    for (int64_t i = 0; i < T * V; ++i) {
        maxRef = std::max(maxRef, std::abs(ref.values[i]));
        if (!std::isfinite(got[i])) return QString("logit %1 is not finite").arg(i);
        maxErr = std::max(maxErr, std::abs(double(got[i]) - ref.values[i]));
    }
    const double tol = kLogitRelTol * std::max(1.0, maxRef);
    int argmaxMismatch = 0;
    for (int64_t t = 0; t < T; ++t) {
        const double* r = ref.values.data() + t * V;
        const float* g = got.data() + t * V;
        const int64_t ra = std::max_element(r, r + V) - r, ga = std::max_element(g, g + V) - g;
        double second = -1e300;
        for (int64_t v = 0; v < V; ++v)
            if (v != ra) second = std::max(second, r[v]);
        if (ra != ga && r[ra] - second > 2 * tol) ++argmaxMismatch;
    }
    *ok = maxErr <= tol && argmaxMismatch == 0;
    return QString("%1: T %2, max |ref| %3, max abs err %4 (tol %5, ratio %6), argmax mismatches %7")
        .arg(QFileInfo(idsPath).fileName()).arg(T).arg(maxRef, 0, 'f', 3).arg(maxErr, 0, 'e', 2)
        .arg(tol, 0, 'e', 2).arg(maxErr / tol, 0, 'f', 3).arg(argmaxMismatch);
}

// "step N epoch E train X val Y (PPL P)[ (best, saved)]" lines of the human output.
struct ValLine {
    qint64 step;
    double val;
    bool best;
};
QList<ValLine> valLines(const QString& out) {
    QList<ValLine> lines;
    static const QRegularExpression re(
        "^step\\s+(\\d+)\\s+epoch\\s+[0-9.]+\\s+train\\s+[0-9.]+\\s+val\\s+([0-9.]+) \\(PPL [0-9.]+\\)"
        "(\\s+\\(best, saved\\))?\\s*$",
        QRegularExpression::MultilineOption);
    for (auto it = re.globalMatch(out); it.hasNext();) {
        const auto m = it.next();
        lines.append({m.captured(1).toLongLong(), m.captured(2).toDouble(), !m.captured(3).isEmpty()});
    }
    return lines;
}

// "best validation loss X (PPL P) at step N" of the human summary; false if absent or if P is
// not exp(X) to its two printed decimals.
bool bestLine(const QString& out, double* loss, qint64* step) {
    static const QRegularExpression re("best validation loss ([0-9.]+) \\(PPL ([0-9.]+)\\) at step (\\d+)");
    const auto m = re.match(out);
    if (!m.hasMatch()) return false;
    *loss = m.captured(1).toDouble();
    *step = m.captured(3).toLongLong();
    const double ppl = m.captured(2).toDouble();
    return std::abs(ppl - std::exp(*loss)) <= 0.005 + 1e-4 * ppl;  // X printed to 4 decimals
}

// Starts the CLI, reads stdout until `ready` matches (or the process ends / timeout), then
// sends `sig` (SIGINT as Ctrl-C, SIGTERM as QProcess::terminate) and waits. Returns false with *why set if it could not be interrupted.
struct Interrupted {
    bool ok = false;
    QString why;
    int exitCode = -1;
    QProcess::ExitStatus status = QProcess::NormalExit;
    QString out, err;
    qint64 msToReady = 0, msToExit = 0;
};
Interrupted interruptWhen(const QStringList& args, const QRegularExpression& ready, int sig = SIGINT,
                          int timeoutMs = 120000) {
    Interrupted r;
    QProcess p;
    p.start(cli(), args);
    if (!p.waitForStarted(30000)) {
        r.why = "did not start";
        return r;
    }
    QElapsedTimer t;
    t.start();
    QByteArray out;
    while (t.elapsed() < timeoutMs && p.state() == QProcess::Running && !ready.match(QString::fromUtf8(out)).hasMatch()) {
        p.waitForReadyRead(50);
        out += p.readAllStandardOutput();
    }
    r.msToReady = t.elapsed();
    if (p.state() != QProcess::Running) {
        out += p.readAllStandardOutput();
        r.out = QString::fromUtf8(out);
        r.err = QString::fromUtf8(p.readAllStandardError());
        r.why = "the run ended before it was interrupted (exit " + QString::number(p.exitCode()) + "):\n" + r.out + r.err;
        return r;
    }
    if (!ready.match(QString::fromUtf8(out)).hasMatch()) {
        p.kill();
        p.waitForFinished(10000);
        r.why = "timed out waiting for '" + ready.pattern() + "':\n" + QString::fromUtf8(out);
        return r;
    }
    ::kill(pid_t(p.processId()), sig);
    t.restart();
    if (!p.waitForFinished(60000)) {
        p.kill();
        p.waitForFinished(10000);
        r.why = "did not stop within 60 s after the signal";
        return r;
    }
    r.msToExit = t.elapsed();
    out += p.readAllStandardOutput();
    r.out = QString::fromUtf8(out);
    r.err = QString::fromUtf8(p.readAllStandardError());
    r.exitCode = p.exitCode();
    r.status = p.exitStatus();
    r.ok = true;
    return r;
}

QByteArray fileBytes(const QString& path) { return readFile(path); }

}  // namespace

class TestTrain : public QObject {
    Q_OBJECT

private:
    QTemporaryDir base_;
    QString corpus_, labels_;
    QString corpusText_;
    QStringList words_;
    QStringList report_;
    QElapsedTimer clock_;

    void note(const QString& line) {
        qInfo().noquote() << line;
        report_ << line;
    }

private slots:
    void initTestCase();
    void trainedFolderIsHuggingFace_data();
    void trainedFolderIsHuggingFace();
    void referenceCatchesLayoutMistakes_data();
    void referenceCatchesLayoutMistakes();
    void learningHappens_data();
    void learningHappens();
    void earlyStopping_data();
    void earlyStopping();
    void cancelKeepsBestCheckpoint_data();
    void cancelKeepsBestCheckpoint();
    void cancelBeforeFirstValidation_data();
    void cancelBeforeFirstValidation();
    void runEndingBetweenValidations();
    void badOptions_data();
    void badOptions();
    void determinism_data();
    void determinism();
    void cleanupTestCase();
};

void TestTrain::initTestCase() {
    clock_.start();
    QVERIFY2(QFileInfo::exists(cli()), qPrintable("no CLI at " + cli()));
    QVERIFY2(QFileInfo::exists(python()), qPrintable("no python at " + python()));
    QVERIFY2(QFileInfo::exists(referenceScript()), qPrintable(referenceScript()));
    QVERIFY(base_.isValid());
    ls::setComputeThreads(1);
    corpus_ = base_.filePath("corpus.txt");
    labels_ = base_.filePath("labels.npy");
    const ProcResult r = runCli({"demo-corpus", "--out", corpus_, "--words", "3000", "--labels", labels_});
    QVERIFY2(r.finished && !r.crashed && r.exitCode == 0, qPrintable(r.describe("demo-corpus")));
    corpusText_ = QString::fromUtf8(readFile(corpus_));
    words_ = corpusText_.split(QRegularExpression("\\s+"), Qt::SkipEmptyParts);
    QVERIFY(words_.size() >= 3000);
    note(QString("demo corpus: %1 words, %2 distinct").arg(words_.size()).arg(QSet<QString>(words_.begin(), words_.end()).size()));
}

// ---------------------------------------------------------------------------------------
// 1. Trained folders are real Hugging Face folders.
// ---------------------------------------------------------------------------------------
void TestTrain::trainedFolderIsHuggingFace_data() {
    QTest::addColumn<QString>("layout");
    addColumns<int>({"dim", "heads", "ffn", "layers", "seq", "epochs"});
    QTest::addColumn<double>("valFraction");
    QTest::newRow("gpt2 dim 32, 4 heads, 2 layers, seq 32, 2 epochs") << "gpt2" << 32 << 4 << 64 << 2 << 32 << 2 << 0.1;
    QTest::newRow("gpt2 dim 16, 1 head, 1 layer, seq 16, 1 epoch, val 0.2") << "gpt2" << 16 << 1 << 48 << 1 << 16 << 1 << 0.2;
    QTest::newRow("llama dim 32, 4 heads, 2 layers, seq 24, 2 epochs") << "llama" << 32 << 4 << 64 << 2 << 24 << 2 << 0.1;
    QTest::newRow("llama dim 16, 2 heads, 1 layer, seq 16, 1 epoch, val 0.25") << "llama" << 16 << 2 << 40 << 1 << 16 << 1 << 0.25;
}

void TestTrain::trainedFolderIsHuggingFace() {
    QFETCH(QString, layout);
    QFETCH(int, dim);
    QFETCH(int, heads);
    QFETCH(int, ffn);
    QFETCH(int, layers);
    QFETCH(int, seq);
    QFETCH(int, epochs);
    QFETCH(double, valFraction);
    QTemporaryDir tmp;
    const QString out = tmp.filePath("model");
    const int batch = 8;
    QStringList args{"train", "--data", corpus_, "--out", out, "--json", "--epochs", QString::number(epochs),
                     "--batch-size", QString::number(batch), "--lr", "3e-3", "--seed", "5",
                     "--val-fraction", QString::number(valFraction)};
    args += netArgs({layout, dim, heads, ffn, layers, seq});
    QElapsedTimer t;
    t.start();
    const ProcResult r = runCli(args);
    const qint64 trainMs = t.elapsed();
    QVERIFY2(r.finished && !r.crashed && r.exitCode == 0, qPrintable(r.describe("layerscope-cli " + args.join(' '))));
    QString jerr;
    const QJsonObject j = parseJsonStdout(r.out, &jerr);
    QVERIFY2(jerr.isEmpty(), qPrintable(jerr));
    for (const char* key : {"out", "outcome", "saved", "steps", "best_val_loss", "best_step", "train_samples",
                            "validation_samples", "vocab_size", "seconds"})
        QVERIFY2(j.contains(key), qPrintable(QString("JSON lacks '%1': %2").arg(key, QString::fromUtf8(r.out))));
    QCOMPARE(j["outcome"].toString(), QString("max_epochs"));
    QCOMPARE(j["saved"].toBool(), true);
    const qint64 trainSamples = j["train_samples"].toInteger();
    QCOMPARE(j["steps"].toInteger(), qint64(epochs) * ((trainSamples + batch - 1) / batch));
    QVERIFY(j["best_step"].toInteger() > 0 && j["best_step"].toInteger() <= j["steps"].toInteger());

    // The folder: model + tokenizer, nothing half-written.
    for (const char* f : {"config.json", "model.safetensors", "tokenizer.json"})
        QVERIFY2(QFileInfo::exists(out + "/" + f), qPrintable(QString("no %1 in the trained folder").arg(f)));
    QVERIFY2(strayFiles(out).isEmpty(), qPrintable("stray files: " + strayFiles(out).join(", ")));

    // The runtime reads it back with the trained shape.
    std::optional<ls::Model> model;
    try {
        model.emplace(ls::Model::load(out.toStdString()));
    } catch (const std::exception& e) {
        QFAIL(qPrintable(QString("Model::load: ") + e.what()));
    }
    const ls::ModelConfig& c = model->config();
    QCOMPARE(QString::fromStdString(c.modelType), layout);
    QCOMPARE(c.hiddenSize, dim);
    QCOMPARE(c.numHeads, heads);
    QCOMPARE(c.numKvHeads, heads);
    QCOMPARE(c.intermediateSize, ffn);
    QCOMPARE(c.numLayers, layers);
    QCOMPARE(c.maxPositions, seq);
    QCOMPARE(qint64(c.vocabSize), j["vocab_size"].toInteger());

    // Reference: structure, tokenization, validation split and loss, logits.
    const QString work = tmp.filePath("ref");
    QDir().mkpath(work);
    std::vector<int32_t> randomIds(static_cast<size_t>(seq));
    QRandomGenerator rng(1000 + dim + seq);
    for (auto& id : randomIds) id = int32_t(rng.bounded(c.vocabSize));
    QVERIFY(writeNpyInt32(work + "/random_ids.npy", randomIds));
    const Reference ref = runReference(out, corpus_, seq, valFraction, work, {work + "/random_ids.npy"});
    QVERIFY2(ref.error.isEmpty(), qPrintable(ref.error));
    QCOMPARE(ref.json["vocab_size"].toInteger(), j["vocab_size"].toInteger());
    QCOMPARE(ref.json["words"].toInteger(), qint64(words_.size()));
    QCOMPARE(ref.json["unknown_words"].toInteger(), qint64(0));
    QCOMPARE(ref.json["train_samples"].toInteger(), trainSamples);
    QCOMPARE(ref.json["validation_samples"].toInteger(), j["validation_samples"].toInteger());

    QStringList lines;
    for (const QString& ids : {work + "/val0_ids.npy", work + "/random_ids.npy"}) {
        bool ok = false;
        const QString line = compareLogits(*model, ids, &ok);
        lines << line;
        QVERIFY2(ok, qPrintable(QString(QTest::currentDataTag()) + ": " + line));
    }
    const double best = j["best_val_loss"].toDouble(), refVal = ref.json["val_loss"].toDouble();
    const QString valLine = QString("best_val_loss %1, reference %2 (|diff| %3, tol %4); train %5 / val %6 windows")
                                .arg(best, 0, 'f', 7).arg(refVal, 0, 'f', 7).arg(std::abs(best - refVal), 0, 'e', 2)
                                .arg(kValLossTol).arg(trainSamples).arg(j["validation_samples"].toInteger());
    QVERIFY2(std::abs(best - refVal) <= kValLossTol, qPrintable(valLine));
    QCOMPARE_NEAR(j["best_val_ppl"].toDouble(), std::exp(refVal), 0, 2 * kValLossTol);  // exp of the reference's loss

    // Word-level tokenizer: one id per corpus word, the same ids as the reference, ids and
    // words map both ways, no [UNK], decode gives the words back.
    const Npy streamNpy = readNpy(work + "/stream_ids.npy");
    QVERIFY2(streamNpy.error.isEmpty(), qPrintable(streamNpy.error));
    const std::vector<int32_t> refIds = toIds(streamNpy);
    std::optional<ls::Tokenizer> tok;
    try {
        tok.emplace(ls::Tokenizer::fromModelDir(out.toStdString()));
    } catch (const std::exception& e) {
        QFAIL(qPrintable(QString("Tokenizer::fromModelDir: ") + e.what()));
    }
    QCOMPARE(qint64(tok->vocabSize()), qint64(c.vocabSize));
    const QSet<QString> distinct(words_.begin(), words_.end());
    QCOMPARE(qint64(tok->vocabSize()), qint64(distinct.size() + 1));  // + [UNK]
    const QByteArray text = corpusText_.toUtf8();
    const std::vector<int32_t> ids = tok->encode(std::string_view(text.constData(), size_t(text.size())));
    QCOMPARE(qint64(ids.size()), qint64(words_.size()));
    QVERIFY2(ids == refIds, "ls::Tokenizer ids differ from the reference's word-level lookup");
    QVERIFY2(tok->encode(std::string_view(text.constData(), size_t(text.size())), true) == ids,
             "addSpecialTokens changes a word-level encoding");
    for (int i = 0; i < words_.size(); ++i) {
        const std::string w = words_[i].toStdString();
        QVERIFY2(ids[size_t(i)] != 0, qPrintable("[UNK] for word " + words_[i]));
        QVERIFY2(tok->tokenId(w) == ids[size_t(i)], qPrintable("tokenId differs for " + words_[i]));
        QVERIFY2(tok->tokenText(ids[size_t(i)]) == w, qPrintable("tokenText differs for " + words_[i]));
    }
    QCOMPARE(QString::fromStdString(tok->decode(ids)), words_.join(' '));
    // What the trainer trained on is that same stream.
    ls::TrainDataSpec spec;
    spec.dataPath = corpus_.toStdString();
    const ls::TrainData data = ls::prepareTrainData(spec);
    QVERIFY2(data.tokens == refIds, "prepareTrainData's tokens differ from the corpus words");
    QCOMPARE(data.vocabSize, c.vocabSize);

    note(QString("%1: train %2 ms (%3 steps); %4; %5; %6; tokenizer %7 words -> %8 ids, vocab %9")
             .arg(QTest::currentDataTag()).arg(trainMs).arg(j["steps"].toInteger()).arg(lines[0], lines[1], valLine)
             .arg(words_.size()).arg(ids.size()).arg(tok->vocabSize()));
}

// The comparison above can only catch a writer whose layout differs from Hugging Face's if
// the reference really is sensitive to it (ls::Model's loader, being the writer's inverse,
// would hide the mistake). A trained folder rewritten the way typical writer bugs would
// write it must move the reference's validation loss and logits far beyond the tolerances,
// or be rejected by its shape checks.
void TestTrain::referenceCatchesLayoutMistakes_data() {
    addStringRows({"layout", "mistake"},
                  {{"gpt2: attn.c_proj as Linear (out, in), not Conv1D (in, out)", "gpt2", "transpose c_proj"},
                   {"gpt2: q and k blocks of c_attn swapped", "gpt2", "swap q k"},
                   {"gpt2: mlp.c_fc as Linear (shape check)", "gpt2", "transpose c_fc"},
                   {"llama: q/k rows in interleaved RoPE order", "llama", "interleave rope"},
                   {"llama: gate_proj and up_proj swapped", "llama", "swap gate up"}});
}

void TestTrain::referenceCatchesLayoutMistakes() {
    QFETCH(QString, layout);
    QFETCH(QString, mistake);
    QTemporaryDir tmp;
    const QString out = tmp.filePath("model");
    const int dim = 32, heads = 4, seq = 16;
    const QStringList args = QStringList{"train", "--data", corpus_, "--out", out, "--json", "--epochs", "2",
                                         "--batch-size", "8", "--lr", "3e-3", "--seed", "9"} +
                             netArgs({layout, dim, heads, 64, 2, seq});
    const ProcResult r = runCli(args);
    QVERIFY2(r.finished && !r.crashed && r.exitCode == 0, qPrintable(r.describe("train")));
    QString jerr;
    const QJsonObject j = parseJsonStdout(r.out, &jerr);
    QVERIFY2(jerr.isEmpty(), qPrintable(jerr));
    const double best = j["best_val_loss"].toDouble();

    StFile st = readSafetensors(out + "/model.safetensors");
    QVERIFY(st.ok);
    auto matrix = [&](const QString& name, int* rows, int* cols) -> float* {
        const int i = indexOf(st, name);
        if (i < 0) return nullptr;
        *rows = st.entries[i].shape[0].toInt();
        *cols = st.entries[i].shape[1].toInt();
        return reinterpret_cast<float*>(st.entries[i].data.data());
    };
    auto transpose = [&](const QString& name) {
        int R = 0, C = 0;
        float* m = matrix(name, &R, &C);
        if (!m) return false;
        std::vector<float> t(size_t(R) * C);
        for (int a = 0; a < R; ++a)
            for (int b = 0; b < C; ++b) t[size_t(b) * R + a] = m[size_t(a) * C + b];
        std::copy(t.begin(), t.end(), m);
        const int i = indexOf(st, name);
        st.entries[i].shape = QJsonArray{C, R};
        return true;
    };
    const int L = 2, hd = dim / heads;
    for (int l = 0; l < L; ++l) {
        const QString g = QString("h.%1.").arg(l), m = QString("model.layers.%1.").arg(l);
        if (mistake == "transpose c_proj") {
            QVERIFY(transpose(g + "attn.c_proj.weight"));
        } else if (mistake == "transpose c_fc") {
            QVERIFY(transpose(g + "mlp.c_fc.weight"));
        } else if (mistake == "swap q k") {  // c_attn (D, 3D): columns [q | k | v]
            int R = 0, C = 0;
            float* w = matrix(g + "attn.c_attn.weight", &R, &C);
            QVERIFY(w && C == 3 * dim);
            for (int a = 0; a < R; ++a)
                for (int b = 0; b < dim; ++b) std::swap(w[size_t(a) * C + b], w[size_t(a) * C + dim + b]);
            float* bias = reinterpret_cast<float*>(st.entries[indexOf(st, g + "attn.c_attn.bias")].data.data());
            for (int b = 0; b < dim; ++b) std::swap(bias[b], bias[dim + b]);
        } else if (mistake == "interleave rope") {
            // rows of each head reordered (i, i + hd/2) -> (2i, 2i + 1), as a checkpoint for
            // interleaved RoPE would hold them
            for (const QString& name : {m + "self_attn.q_proj.weight", m + "self_attn.k_proj.weight"}) {
                int R = 0, C = 0;
                float* w = matrix(name, &R, &C);
                QVERIFY(w && R == heads * hd);
                std::vector<float> copy(w, w + size_t(R) * C);
                for (int h = 0; h < heads; ++h)
                    for (int i = 0; i < hd / 2; ++i)
                        for (int two = 0; two < 2; ++two) {
                            const int from = h * hd + two * (hd / 2) + i, to = h * hd + 2 * i + two;
                            std::copy_n(copy.data() + size_t(from) * C, C, w + size_t(to) * C);
                        }
            }
        } else if (mistake == "swap gate up") {
            const int a = indexOf(st, m + "mlp.gate_proj.weight"), b = indexOf(st, m + "mlp.up_proj.weight");
            QVERIFY(a >= 0 && b >= 0);
            std::swap(st.entries[a].data, st.entries[b].data);
        } else {
            QFAIL(qPrintable("unknown mistake " + mistake));
        }
    }
    const QString bad = tmp.filePath("mistaken");
    QVERIFY(copyDir(out, bad));
    QVERIFY(writeSafetensors(bad + "/model.safetensors", st));

    const QString work = tmp.filePath("ref");
    QDir().mkpath(work);
    const Reference ref = runReference(bad, corpus_, seq, 0.1, work);
    if (mistake == "transpose c_fc") {  // a shape HF would refuse: the reference must refuse it too
        note(QString("%1: reference %2").arg(QTest::currentDataTag(), ref.error.isEmpty() ? "ACCEPTED it" : "rejects it"));
        QVERIFY2(!ref.error.isEmpty() && ref.error.contains("c_fc"), qPrintable("reference accepted: " + ref.error));
        return;
    }
    QVERIFY2(ref.error.isEmpty(), qPrintable(ref.error));
    const double refVal = ref.json["val_loss"].toDouble();
    // Logits of the original folder (ls::Model) against the reference on the mistaken one.
    const ls::Model model = ls::Model::load(out.toStdString());
    bool ok = true;
    const QString logitLine = compareLogits(model, work + "/val0_ids.npy", &ok);
    const QString line = QString("%1: val loss %2 -> %3 (|diff| %4 = %5 x tol); logits %6")
                             .arg(QTest::currentDataTag()).arg(best, 0, 'f', 5).arg(refVal, 0, 'f', 5)
                             .arg(std::abs(refVal - best), 0, 'e', 2).arg(std::abs(refVal - best) / kValLossTol, 0, 'f', 0)
                             .arg(logitLine);
    note(line);
    QVERIFY2(std::abs(refVal - best) > 10 * kValLossTol, qPrintable(line));
    QVERIFY2(!ok, qPrintable("the logits comparison does not see the mistake: " + line));
}

// ---------------------------------------------------------------------------------------
// 2. Learning really happens (in-process, for the full-precision history).
// ---------------------------------------------------------------------------------------
void TestTrain::learningHappens_data() {
    addLayoutRows("layout");
}

void TestTrain::learningHappens() {
    QFETCH(QString, layout);
    QTemporaryDir tmp;
    const QString out = tmp.filePath("model");
    ls::TrainDataSpec spec;
    spec.dataPath = corpus_.toStdString();
    const ls::TrainData data = ls::prepareTrainData(spec);
    QCOMPARE(qint64(data.tokens.size()), qint64(words_.size()));
    ls::TrainParams p = netParams({layout, 32, 4, 64, 2, 16});
    p.learningRate = 3e-3;
    p.batchSize = 8;
    p.maxEpochs = 8;
    p.patience = 100;
    p.seed = 3;
    ls::Progress progress;
    std::vector<ls::TrainPoint> points;
    const ls::TrainResult r = ls::trainIntoFolder(data, p, out.toStdString(), false, progress,
                                                  [&](const ls::TrainPoint& pt) { points.push_back(pt); });
    QVERIFY(!r.canceled && !r.stoppedEarly && r.saved);
    QCOMPARE(qint64(points.size()), qint64(r.history.size()));
    std::vector<ls::TrainPoint> vals;
    for (const auto& pt : r.history)
        if (pt.valLoss >= 0) vals.push_back(pt);
    QCOMPARE(int(vals.size()), p.maxEpochs);  // one validation per epoch
    const double lnV = std::log(double(data.vocabSize));
    const double first = vals.front().valLoss, last = vals.back().valLoss;
    double running = 1e300, minVal = 1e300;
    int64_t minStep = 0;
    for (const auto& v : vals) {
        QCOMPARE(v.improved, v.valLoss < running);  // saved exactly when it improved
        running = std::min(running, v.valLoss);
        if (v.valLoss < minVal) {
            minVal = v.valLoss;
            minStep = v.step;
        }
    }
    QCOMPARE_NEAR(r.bestValLoss, minVal, 0, 0);  // a copy of one of the history's values, not recomputed
    QCOMPARE(r.bestStep, minStep);
    double firstTrain = -1, lastTrain = -1;
    for (const auto& pt : r.history) {
        if (firstTrain < 0) firstTrain = pt.trainLoss;
        lastTrain = pt.trainLoss;
    }
    QString vs;
    for (const auto& v : vals) vs += QString::number(v.valLoss, 'f', 3) + " ";
    const QString line = QString("%1: ln(V=%2) = %3; val per epoch: %4; best %5 at step %6; train %7 -> %8; %9 s")
                             .arg(layout).arg(data.vocabSize).arg(lnV, 0, 'f', 3).arg(vs.trimmed())
                             .arg(r.bestValLoss, 0, 'f', 4).arg(r.bestStep).arg(firstTrain, 0, 'f', 3)
                             .arg(lastTrain, 0, 'f', 3).arg(r.seconds, 0, 'f', 2);
    // ln V = 4.34 is a uniform guess and the corpus's unigram entropy is 3.86 nats: only a model
    // that uses the context gets below ln V - 1.5 = 2.84 (the ideal is 1.39).
    QVERIFY2(last < lnV - 1.5, qPrintable("final validation loss not clearly below ln(vocab): " + line));
    QVERIFY2(last < first - 0.8, qPrintable("final validation loss not clearly below the first: " + line));
    QVERIFY2(r.bestValLoss < lnV - 1.5, qPrintable(line));
    QVERIFY2(lastTrain < firstTrain - 1.0, qPrintable("training loss did not fall: " + line));

    // The saved model is the best one: the reference recomputes best_val_loss from the folder.
    const Reference ref = runReference(out, corpus_, p.seqLen, p.validationFraction, tmp.filePath("ref"));
    QVERIFY2(ref.error.isEmpty(), qPrintable(ref.error));
    const double refVal = ref.json["val_loss"].toDouble();
    QCOMPARE(ref.json["validation_samples"].toInteger(), qint64(r.validationSamples));
    const QString refLine = QString("; reference val loss of the saved folder %1 (|diff| %2)")
                                .arg(refVal, 0, 'f', 6).arg(std::abs(refVal - r.bestValLoss), 0, 'e', 2);
    QVERIFY2(std::abs(refVal - r.bestValLoss) <= kValLossTol, qPrintable(line + refLine));

    // What it learned is the corpus's structure: on the validation windows, words fixed by
    // their context (label 1) are easy, random words (label 0, ideal loss ln 64 = 4.16) are not.
    const Npy labels = readNpy(labels_);
    QVERIFY2(labels.error.isEmpty(), qPrintable(labels.error));
    QCOMPARE(qint64(labels.values.size()), qint64(data.tokens.size()));
    const ls::Model model = ls::Model::load(out.toStdString());
    const int64_t window = p.seqLen + 1, samples = int64_t(data.tokens.size()) / window;
    std::map<int, std::pair<double, int>> byLabel;  // label -> (sum, count)
    for (int64_t k = r.trainSamples; k < samples; ++k) {
        const std::vector<int32_t> in(data.tokens.begin() + k * window, data.tokens.begin() + k * window + p.seqLen);
        const std::vector<float> lg = model.logits(in);
        for (int t = 0; t < p.seqLen; ++t) {
            const float* row = lg.data() + int64_t(t) * data.vocabSize;
            const double mx = *std::max_element(row, row + data.vocabSize);
            double z = 0;
            for (int v = 0; v < data.vocabSize; ++v) z += std::exp(double(row[v]) - mx);
            const int32_t target = data.tokens[size_t(k * window + t + 1)];
            const double loss = mx + std::log(z) - row[target];
            auto& acc = byLabel[int(labels.values[size_t(k * window + t + 1)])];
            acc.first += loss;
            ++acc.second;
        }
    }
    auto mean = [&](int l) { return byLabel[l].second ? byLabel[l].first / byLabel[l].second : -1.0; };
    const QString labelLine = QString("; validation loss by label: random %1 (n %2), determined %3 (n %4), choice %5 (n %6)")
                                  .arg(mean(0), 0, 'f', 3).arg(byLabel[0].second).arg(mean(1), 0, 'f', 3)
                                  .arg(byLabel[1].second).arg(mean(2), 0, 'f', 3).arg(byLabel[2].second);
    note(line + refLine + labelLine);
    QVERIFY(byLabel[0].second > 0 && byLabel[1].second > 0);
    // 3,000 words show each of the 64 "pair" partners about twice, too rarely to learn them, so
    // determined words average above 0 here; counts and copies are learned.
    QVERIFY2(mean(1) < 2.0, qPrintable("determined words did not become easy" + labelLine));
    QVERIFY2(mean(0) > std::log(64.0) - 0.5, qPrintable("random words look predictable" + labelLine));
    QVERIFY2(mean(1) < mean(0) - 2.5, qPrintable("determined words not far easier than random ones" + labelLine));
}

// ---------------------------------------------------------------------------------------
// 3. Early stopping keeps the best checkpoint, not the last.
// ---------------------------------------------------------------------------------------
void TestTrain::earlyStopping_data() {
    addLayoutRows("layout");
}

void TestTrain::earlyStopping() {
    QFETCH(QString, layout);
    QTemporaryDir tmp;
    const int seq = 16, epochs = 60;
    const QStringList common = QStringList{"train", "--data", corpus_, "--epochs", QString::number(epochs),
                                           "--patience", "1", "--lr", "3e-3", "--batch-size", "8", "--seed", "3"} +
                               netArgs({layout, 32, 4, 64, 2, seq});
    const QString outJson = tmp.filePath("json"), outHuman = tmp.filePath("human");
    const ProcResult rj = runCli(common + QStringList{"--out", outJson, "--json"});
    QVERIFY2(rj.finished && !rj.crashed && rj.exitCode == 0, qPrintable(rj.describe("train --json")));
    QString jerr;
    const QJsonObject j = parseJsonStdout(rj.out, &jerr);
    QVERIFY2(jerr.isEmpty(), qPrintable(jerr));
    QCOMPARE(j["outcome"].toString(), QString("early_stop"));
    QCOMPARE(j["saved"].toBool(), true);
    const qint64 trainSamples = j["train_samples"].toInteger(), stepsPerEpoch = (trainSamples + 7) / 8;
    QVERIFY2(j["steps"].toInteger() < epochs * stepsPerEpoch, qPrintable(QString::fromUtf8(rj.out)));
    QVERIFY(j["best_step"].toInteger() < j["steps"].toInteger());

    // The same run, human output: the validation history (deterministic for the seed).
    const ProcResult rh = runCli(common + QStringList{"--out", outHuman});
    QVERIFY2(rh.finished && !rh.crashed && rh.exitCode == 0, qPrintable(rh.describe("train")));
    const QString human = QString::fromUtf8(rh.out);
    QVERIFY2(human.contains("stopped early"), qPrintable(human));
    const QList<ValLine> vals = valLines(human);
    QVERIFY2(vals.size() >= 2, qPrintable(human));
    // patience 1: every validation but the last improved; the last did not.
    for (int i = 0; i + 1 < vals.size(); ++i) QVERIFY2(vals[i].best, qPrintable(human));
    QVERIFY2(!vals.last().best, qPrintable(human));
    QCOMPARE(vals.last().step, j["steps"].toInteger());
    double humanBest = 0;
    qint64 humanBestStep = 0;
    QVERIFY2(bestLine(human, &humanBest, &humanBestStep), qPrintable(human));
    QCOMPARE(humanBestStep, j["best_step"].toInteger());
    QCOMPARE(vals[vals.size() - 2].step, j["best_step"].toInteger());
    QVERIFY2(std::abs(humanBest - j["best_val_loss"].toDouble()) <= 5.1e-5, qPrintable(human));

    // The folder holds the best model: its validation loss is best_val_loss, not the last.
    const Reference ref = runReference(outJson, corpus_, seq, 0.1, tmp.filePath("ref"));
    QVERIFY2(ref.error.isEmpty(), qPrintable(ref.error));
    const double refVal = ref.json["val_loss"].toDouble(), best = j["best_val_loss"].toDouble();
    const double lastVal = vals.last().val;
    const QString line = QString("%1: early_stop after %2 of %3 steps, best %4 at step %5, last val %6; reference loss of the "
                                 "saved folder %7 (|diff to best| %8, to last %9)")
                             .arg(layout).arg(j["steps"].toInteger()).arg(epochs * stepsPerEpoch).arg(best, 0, 'f', 5)
                             .arg(j["best_step"].toInteger()).arg(lastVal, 0, 'f', 4).arg(refVal, 0, 'f', 5)
                             .arg(std::abs(refVal - best), 0, 'e', 2).arg(std::abs(refVal - lastVal), 0, 'e', 2);
    note(line);
    QVERIFY2(lastVal - best > 1e-3, qPrintable("the test needs a last validation clearly worse than the best: " + line));
    QVERIFY2(std::abs(refVal - best) <= kValLossTol, qPrintable(line));
    QVERIFY2(fileBytes(outJson + "/model.safetensors") == fileBytes(outHuman + "/model.safetensors"),
             "the --json and the human run of the same seed saved different weights");
}

// ---------------------------------------------------------------------------------------
// 4. Cancel.
// ---------------------------------------------------------------------------------------
void TestTrain::cancelKeepsBestCheckpoint_data() {
    QTest::addColumn<int>("sig");
    QTest::newRow("SIGINT") << int(SIGINT);
    QTest::newRow("SIGTERM") << int(SIGTERM);
}

void TestTrain::cancelKeepsBestCheckpoint() {
    QFETCH(int, sig);
    QTemporaryDir tmp;
    const QString out = tmp.filePath("model");
    const int seq = 16;
    const QStringList args = QStringList{"train", "--data", corpus_, "--out", out, "--epochs", "100000", "--patience",
                                         "1000000", "--eval-every", "5", "--lr", "3e-3", "--batch-size", "8"} +
                             netArgs({"gpt2", 16, 2, 32, 1, seq});
    // After the third checkpoint, so that the best is not simply the first validation.
    const Interrupted r = interruptWhen(args, QRegularExpression("(\\(best, saved\\)[^\\n]*\\n[\\s\\S]*){3}"), sig);
    QVERIFY2(r.ok, qPrintable(r.why));
    const QString line = QString("%1 %2 ms after start, exit %3 after %4 ms; stderr '%5'")
                             .arg(QTest::currentDataTag()).arg(r.msToReady).arg(r.exitCode).arg(r.msToExit).arg(r.err.trimmed());
    QCOMPARE(r.status, QProcess::NormalExit);
    QVERIFY2(r.exitCode == 130, qPrintable(line + "\n" + r.out));
    QVERIFY2(r.out.contains("canceled after"), qPrintable(r.out));
    double best = 0;
    qint64 bestStep = 0;
    QVERIFY2(bestLine(r.out, &best, &bestStep), qPrintable(r.out));
    const QList<ValLine> vals = valLines(r.out);
    QVERIFY(!vals.isEmpty());
    double minVal = 1e300;
    qint64 minStep = 0;
    for (const auto& v : vals)
        if (v.best) {
            QVERIFY(v.val <= minVal);
            minVal = v.val;
            minStep = v.step;
        }
    QCOMPARE(bestStep, minStep);
    QCOMPARE_NEAR(best, minVal, 0, 0);  // both parsed from the same "%.4f" digits of one value

    for (const char* f : {"config.json", "model.safetensors", "tokenizer.json"})
        QVERIFY2(QFileInfo::exists(out + "/" + f), qPrintable(QString("no %1 after the cancel").arg(f)));
    QVERIFY2(strayFiles(out).isEmpty(), qPrintable("stray files: " + strayFiles(out).join(", ")));
    try {
        const ls::Model m = ls::Model::load(out.toStdString());
        QCOMPARE(m.config().maxPositions, seq);
    } catch (const std::exception& e) {
        QFAIL(qPrintable(QString("the canceled folder does not load: ") + e.what()));
    }
    const Reference ref = runReference(out, corpus_, seq, 0.1, tmp.filePath("ref"));
    QVERIFY2(ref.error.isEmpty(), qPrintable(ref.error));
    const double refVal = ref.json["val_loss"].toDouble();
    const QString full = line + QString("; %1 validations, best %2 at step %3, reference loss of the folder %4")
                                    .arg(vals.size()).arg(best, 0, 'f', 4).arg(bestStep).arg(refVal, 0, 'f', 6);
    note("cancel after a checkpoint: " + full);
    // best is printed with 4 decimals.
    QVERIFY2(std::abs(refVal - best) <= kValLossTol + 5e-5, qPrintable(full));
}

void TestTrain::cancelBeforeFirstValidation_data() {
    QTest::addColumn<bool>("overwrite");
    QTest::addColumn<int>("sig");
    QTest::newRow("fresh folder, SIGINT") << false << int(SIGINT);
    QTest::newRow("--overwrite of an existing model, SIGINT") << true << int(SIGINT);
    QTest::newRow("--overwrite of an existing model, SIGTERM") << true << int(SIGTERM);
}

void TestTrain::cancelBeforeFirstValidation() {
    QFETCH(bool, overwrite);
    QFETCH(int, sig);
    QTemporaryDir tmp;
    const QString out = tmp.filePath("model");
    if (overwrite) {
        QDir().mkpath(out);
        QVERIFY(writeFile(out + "/config.json", "{\"model_type\": \"gpt2\"}\n"));
        QVERIFY(writeFile(out + "/model.safetensors", QByteArray(64, '\0')));
        QVERIFY(writeFile(out + "/tokenizer.json", "{\"old\": true}\n"));
        QVERIFY(writeFile(out + "/vocab.json", "{}\n"));
    }
    QStringList args = QStringList{"train", "--data", corpus_, "--out", out, "--epochs", "100000", "--eval-every",
                                   "100000000", "--lr", "3e-3", "--batch-size", "8"} +
                       netArgs({"gpt2", 16, 2, 32, 1, 16});
    if (overwrite) args << "--overwrite";
    // A plain "step N epoch E train X" line: training is under way, no validation yet.
    const Interrupted r = interruptWhen(args, QRegularExpression("^step\\s+\\d+.*train\\s+[0-9.]+\\s*$",
                                                                 QRegularExpression::MultilineOption),
                                        sig);
    QVERIFY2(r.ok, qPrintable(r.why));
    const QString line = QString("%1: signal %2 ms after start, exit %3 after %4 ms; files left: %5")
                             .arg(QTest::currentDataTag()).arg(r.msToReady).arg(r.exitCode).arg(r.msToExit)
                             .arg(QDir(out).entryList(QDir::Files | QDir::Hidden).join(", "));
    note("cancel before validation: " + line);
    QCOMPARE(r.status, QProcess::NormalExit);
    QVERIFY2(r.exitCode == 130, qPrintable(line + "\n" + r.out + r.err));
    QVERIFY2(valLines(r.out).isEmpty(), qPrintable(r.out));
    QVERIFY2(r.out.contains("no checkpoint was saved"), qPrintable(r.out));
    QVERIFY2(!QFileInfo::exists(out + "/config.json"), qPrintable(line));
    QVERIFY2(!QFileInfo::exists(out + "/model.safetensors"), qPrintable(line));
    QVERIFY2(!QFileInfo::exists(out + "/vocab.json"), qPrintable("an old tokenizer file is mixed in: " + line));
    QVERIFY2(strayFiles(out).isEmpty(), qPrintable("stray files: " + strayFiles(out).join(", ")));
    if (QFileInfo::exists(out + "/tokenizer.json"))  // if a tokenizer is there, it is the new one
        QVERIFY2(readFile(out + "/tokenizer.json").contains("\"WordLevel\""), qPrintable(line));
}

// A run whose --eval-every is beyond its last step never validates. It must not end with
// exit 0 and an empty folder: either it validates the final weights and saves them, or the
// option is rejected up front (exit 2 naming --eval-every, nothing written).
void TestTrain::runEndingBetweenValidations() {
    QTemporaryDir tmp;
    const QString out = tmp.filePath("model");
    const QStringList args = QStringList{"train", "--data", corpus_, "--out", out, "--json", "--epochs", "1",
                                         "--eval-every", "1000", "--batch-size", "16"} +
                             netArgs({"gpt2", 16, 2, 32, 1, 16});
    const ProcResult r = runCli(args);
    const QString line = QString("--eval-every 1000, 1 epoch of 10 steps -> exit %1, stdout %2, stderr %3, files [%4]")
                             .arg(r.exitCode).arg(QString::fromUtf8(r.out).simplified(), QString::fromUtf8(r.err).trimmed())
                             .arg(QDir(out).entryList(QDir::Files).join(", "));
    note(line);
    QVERIFY2(r.finished && !r.crashed, qPrintable(line));
    if (r.exitCode == 2) {
        QVERIFY2(QString::fromUtf8(r.err).contains("--eval-every"), qPrintable(line));
        QVERIFY2(QDir(out).entryList(QDir::Files).isEmpty(), qPrintable(line));
        return;
    }
    QVERIFY2(r.exitCode == 0, qPrintable(line));
    QString jerr;
    const QJsonObject j = parseJsonStdout(r.out, &jerr);
    QVERIFY2(jerr.isEmpty(), qPrintable(jerr));
    QVERIFY2(j["saved"].toBool() && QFileInfo::exists(out + "/model.safetensors") && QFileInfo::exists(out + "/config.json"),
             qPrintable("a run that finished all epochs (exit 0) left no model: " + line));
}

// ---------------------------------------------------------------------------------------
// 5. Bad options and data. Placeholders: {C} the demo corpus, {T} a fresh temp dir,
// {O} = {T}/out (must stay absent or empty), {E} = {T}/existing (a model folder that must
// stay byte-identical), {TOK} = {T}/tokmodel (a folder with a word-level tokenizer).
// ---------------------------------------------------------------------------------------
void TestTrain::badOptions_data() {
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QStringList>("mustMention");
    QTest::addColumn<QString>("outDir");  // "{O}" or "{E}"

    const QStringList net{"--dim", "16", "--heads", "2", "--ffn-dim", "32", "--layers", "1", "--seq-len", "16",
                          "--epochs", "1", "--threads", "1"};
    const QStringList base = QStringList{"train", "--data", "{C}", "--out", "{O}"} + net;
    auto row = [&](const char* name, const QStringList& extra, const QStringList& mention, const QString& out = "{O}") {
        QTest::newRow(name) << (base + extra) << mention << out;
    };
    auto rowData = [&](const char* name, const QString& data, const QStringList& extra, const QStringList& mention) {
        QStringList a = QStringList{"train", "--data", data, "--out", "{O}"} + net + extra;
        QTest::newRow(name) << a << mention << QString("{O}");
    };
    row("heads not dividing dim", {"--dim", "32", "--heads", "3"}, {"--heads"});
    row("llama odd head dim (24 / 8 = 3)", {"--layout", "llama", "--dim", "24", "--heads", "8"}, {"--heads"});
    row("--seq-len 0", {"--seq-len", "0"}, {"--seq-len"});
    row("--seq-len 1", {"--seq-len", "1"}, {"--seq-len"});
    row("--layout bert", {"--layout", "bert"}, {"--layout", "bert"});
    row("--lr 0", {"--lr", "0"}, {"--lr"});
    row("--lr -0.001", {"--lr", "-0.001"}, {"--lr"});
    row("--lr nan", {"--lr", "nan"}, {"--lr"});
    row("--lr not a number", {"--lr", "fast"}, {"--lr"});
    row("--val-fraction 1.5", {"--val-fraction", "1.5"}, {"--val-fraction"});
    row("--val-fraction 0", {"--val-fraction", "0"}, {"--val-fraction"});
    row("--batch-size 0", {"--batch-size", "0"}, {"--batch-size"});
    row("--epochs 0", {"--epochs", "0"}, {"--epochs"});
    row("--patience 0", {"--patience", "0"}, {"--patience"});
    row("--weight-decay -1", {"--weight-decay", "-1"}, {"--weight-decay"});
    row("unknown option", {"--learning-rate", "0.1"}, {"--learning-rate"});
    rowData("missing data file", "{T}/missing.txt", {}, {"missing.txt"});
    rowData("empty data file", "{T}/empty.txt", {}, {"empty.txt"});
    rowData("whitespace-only data file", "{T}/blank.txt", {}, {"blank.txt"});
    rowData("invalid UTF-8 data", "{T}/bad-utf8.txt", {}, {"bad-utf8.txt"});
    rowData("Alpaca JSON without --tokenizer", "{T}/alpaca.json", {}, {"alpaca.json", "tokenizer"});
    rowData("Alpaca JSONL without --tokenizer", "{T}/alpaca.jsonl", {}, {"alpaca.jsonl", "tokenizer"});
    rowData(".npy ids without --tokenizer", "{T}/ids.npy", {}, {"ids.npy", "tokenizer"});
    rowData(".bin ids without --tokenizer", "{T}/ids.bin", {}, {"ids.bin", "tokenizer"});
    rowData(".npy ids beyond the reused tokenizer's vocabulary", "{T}/big-ids.npy", {"--tokenizer", "{TOK}"},
            {"big-ids.npy"});
    rowData("data too small for two windows (20 words, seq 16)", "{T}/tiny.txt", {}, {"--seq-len"});
    rowData("data exactly one window short (33 words, seq 16)", "{T}/33words.txt", {}, {"--seq-len"});
    row("--tokenizer folder without a tokenizer", {"--tokenizer", "{T}"}, {"tokenizer"});
    row("--out is an existing model, no --overwrite", {}, {"existing", "config.json"}, "{E}");
    row("--out is the --tokenizer folder (with --overwrite)", {"--tokenizer", "{E}", "--overwrite"}, {"existing"}, "{E}");
    // Checks that only fail inside the trainer, after the tokenizer was written.
    row("--samples 1 leaves no training window", {"--samples", "1"}, {"--samples"});
    rowData("--val-fraction 0.8 of 2 windows leaves no training window", "{T}/35words.txt", {"--val-fraction", "0.8"},
            {"--val-fraction"});
    row("--samples 1 with --overwrite of an existing model", {"--samples", "1", "--overwrite"}, {"--samples"}, "{E}");
}

void TestTrain::badOptions() {
    QFETCH(QStringList, args);
    QFETCH(QStringList, mustMention);
    QFETCH(QString, outDir);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    const QString T = tmp.path();
    // Data files.
    QVERIFY(writeFile(T + "/empty.txt", QByteArray()));
    QVERIFY(writeFile(T + "/blank.txt", "  \n\n\t \n"));
    QVERIFY(writeFile(T + "/bad-utf8.txt", "copy kalo mipe \xff\xfe rusa tomi .\n"));
    QVERIFY(writeFile(T + "/alpaca.json", "[{\"instruction\": \"say hi\", \"input\": \"\", \"output\": \"hi\"}]\n"));
    QVERIFY(writeFile(T + "/alpaca.jsonl", "{\"instruction\": \"say hi\", \"input\": \"\", \"output\": \"hi\"}\n"));
    std::vector<int32_t> ids(200);
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = int32_t(i % 7);
    QVERIFY(writeNpyInt32(T + "/ids.npy", ids));
    QVERIFY(writeFile(T + "/ids.bin", QByteArray(400, '\1')));
    ids[150] = 5000;
    QVERIFY(writeNpyInt32(T + "/big-ids.npy", ids));
    auto wordsFile = [&](const QString& name, int n) {
        return writeFile(T + "/" + name, words_.mid(0, n).join(' ').toUtf8() + "\n");
    };
    QVERIFY(wordsFile("tiny.txt", 20));
    QVERIFY(wordsFile("33words.txt", 33));  // 2 * 17 - 1 tokens
    QVERIFY(wordsFile("35words.txt", 35));  // 2 windows of 17
    // A folder holding a model and a word-level tokenizer.
    const QString E = T + "/existing";
    QDir().mkpath(E);
    QVERIFY(writeFile(E + "/config.json", "{\"model_type\": \"gpt2\", \"marker\": 1}\n"));
    QVERIFY(writeFile(E + "/model.safetensors", QByteArray("old weights")));
    QStringList vocabEntries{"\"[UNK]\": 0"};
    {
        QStringList distinct = QSet<QString>(words_.begin(), words_.end()).values();
        distinct.sort();
        for (int i = 0; i < distinct.size(); ++i) vocabEntries << QString("\"%1\": %2").arg(distinct[i]).arg(i + 1);
    }
    const QByteArray tokJson =
        ("{\"version\": \"1.0\", \"truncation\": null, \"padding\": null, \"added_tokens\": [{\"id\": 0, \"content\": "
         "\"[UNK]\", \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": "
         "true}], \"normalizer\": null, \"pre_tokenizer\": {\"type\": \"WhitespaceSplit\"}, \"post_processor\": null, "
         "\"decoder\": null, \"model\": {\"type\": \"WordLevel\", \"vocab\": {" +
         vocabEntries.join(", ") + "}, \"unk_token\": \"[UNK]\"}}\n")
            .toUtf8();
    QVERIFY(writeFile(E + "/tokenizer.json", tokJson));
    QVERIFY(copyDir(E, T + "/tokmodel"));
    QFile::remove(T + "/tokmodel/config.json");
    QFile::remove(T + "/tokmodel/model.safetensors");
    QMap<QString, QByteArray> before;
    for (const QString& f : QDir(E).entryList(QDir::Files | QDir::Hidden)) before[f] = readFile(E + "/" + f);

    const QString O = T + "/out";
    // --out is {O} in every row; the outDir column says which folder that is.
    const QStringList real = withPlaceholders(
        args, {{"{C}", corpus_}, {"{TOK}", T + "/tokmodel"}, {"{O}", outDir == "{E}" ? E : O}, {"{E}", E}, {"{T}", T}});
    const ProcResult r = runCli(real, 120000);
    const QString target = outDir == "{E}" ? E : O;
    const QStringList left = QDir(target).exists() ? QDir(target).entryList(QDir::Files | QDir::Hidden) : QStringList();
    const QString out = outDir == "{E}"     ? "existing model, files " + left.join(", ")
                        : !QDir(O).exists() ? QString("absent")
                                            : "exists with [" + left.join(", ") + "]";
    const QString line = runLine(r) + "; --out " + out;
    note(line);
    expectOneErrorLine(r, 2, mustMention, line);
    if (QTest::currentTestFailed())
        return;
    QVERIFY2(!r.out.contains("step "), qPrintable("training output despite the error: " + QString::fromUtf8(r.out)));
    if (outDir == "{E}") {
        QMap<QString, QByteArray> after;
        for (const QString& f : QDir(E).entryList(QDir::Files | QDir::Hidden)) after[f] = readFile(E + "/" + f);
        QVERIFY2(after == before, qPrintable("the existing model folder was changed: " + line));
    } else {
        QVERIFY2(left.isEmpty(), qPrintable("files written into --out: " + line));
    }
}

// ---------------------------------------------------------------------------------------
// 6. Determinism.
// ---------------------------------------------------------------------------------------
void TestTrain::determinism_data() {
    addLayoutRows("layout");
}

void TestTrain::determinism() {
    QFETCH(QString, layout);
    QTemporaryDir tmp;
    auto run = [&](const QString& name, int seed, QJsonObject* j) -> QString {
        const QStringList args = QStringList{"train", "--data", corpus_, "--out", tmp.filePath(name), "--json",
                                             "--epochs", "2", "--eval-every", "7", "--lr", "3e-3", "--batch-size", "8",
                                             "--seed", QString::number(seed)} +
                                 netArgs({layout, 32, 4, 64, 2, 16});
        const ProcResult r = runCli(args);
        if (!r.finished || r.crashed || r.exitCode != 0) return r.describe("train");
        QString e;
        *j = parseJsonStdout(r.out, &e);
        return e;
    };
    QJsonObject a, b, c;
    QString e = run("a", 11, &a);
    QVERIFY2(e.isEmpty(), qPrintable(e));
    e = run("b", 11, &b);
    QVERIFY2(e.isEmpty(), qPrintable(e));
    e = run("c", 12, &c);
    QVERIFY2(e.isEmpty(), qPrintable(e));
    const QByteArray wa = readFile(tmp.filePath("a/model.safetensors")), wb = readFile(tmp.filePath("b/model.safetensors")),
                     wc = readFile(tmp.filePath("c/model.safetensors"));
    QVERIFY(!wa.isEmpty());
    int differingBytes = 0;
    for (int i = 0; i < std::min(wa.size(), wb.size()); ++i) differingBytes += wa[i] != wb[i];
    note(QString("determinism %1: seed 11 twice: best_val_loss %2 / %3, steps %4 / %5, model.safetensors %6 bytes, %7 differ; "
                 "seed 12: best_val_loss %8, weights %9")
             .arg(layout).arg(a["best_val_loss"].toDouble(), 0, 'g', 17).arg(b["best_val_loss"].toDouble(), 0, 'g', 17)
             .arg(a["steps"].toInteger()).arg(b["steps"].toInteger()).arg(wa.size()).arg(differingBytes)
             .arg(c["best_val_loss"].toDouble(), 0, 'g', 17).arg(wa == wc ? "IDENTICAL" : "differ"));
    QVERIFY2(wa == wb, "the same seed gave different model.safetensors");
    QCOMPARE(readFile(tmp.filePath("a/config.json")), readFile(tmp.filePath("b/config.json")));
    QCOMPARE(readFile(tmp.filePath("a/tokenizer.json")), readFile(tmp.filePath("b/tokenizer.json")));
    QCOMPARE_NEAR(a["best_val_loss"].toDouble(), b["best_val_loss"].toDouble(), 0, 0);  // the same run twice: bit for bit
    QCOMPARE(a["best_step"].toInteger(), b["best_step"].toInteger());
    QVERIFY2(wa != wc, "a different seed gave the same weights");
}

void TestTrain::cleanupTestCase() {
    qInfo().noquote() << "==== summary ====";
    for (const QString& l : report_) qInfo().noquote() << l;
    qInfo().noquote() << QString("total %1 s").arg(clock_.elapsed() / 1000.0, 0, 'f', 1);
}

QTEST_GUILESS_MAIN(TestTrain)
#include "test_train.moc"
