// The app's glue, offscreen: the demo lookup, the Dataset panel's options and window
// summary, the preview data made from a real tokenizer and dataset, the training job
// (train, cancel, folder checks), the training dialog end to end (inline validation,
// live curve, Cancel keeping the best checkpoint) and the main window on a trained model.
// Set LAYERSCOPE_SCREENSHOT_DIR to also save what the dialog and the window showed.
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTemporaryDir>
#include <QtTest>
#include <fstream>
#include <qcustomplot.h>

#include "analysis/registry.h"
#include "analysis_panel.h"
#include "common/error.h"
#include "data/demo_corpus.h"
#include "dataset_panel.h"
#include "dataset_preview.h"
#include "default_inputs.h"
#include "loss_histogram_view.h"
#include "main_window.h"
#include "model/model.h"
#include "task_progress_bar.h"
#include "theme.h"
#include "token_preview_view.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/word_level.h"
#include "train_dialog.h"
#include "train_job.h"
#include "train_test_support.h"
#include "training_curve_view.h"

namespace fs = std::filesystem;

namespace {

void writeText(const QString& path, const std::string& text) {
    std::ofstream out(path.toStdString(), std::ios::binary);
    out << text;
}

fs::path toPath(const QString& path) { return fs::path(path.toStdString()); }

// A model small enough to train in about a second on the test corpus.
ls::TrainParams tinyParams() {
    ls::TrainParams p = netParams({"gpt2", 16, 2, 32, 1, 16});
    p.batchSize = 8;
    p.maxEpochs = 2;
    p.learningRate = 3e-3;
    return p;
}

// Saves what a widget shows when LAYERSCOPE_SCREENSHOT_DIR is set.
void screenshot(QWidget* widget, const QString& name) {
    const QString dir = qEnvironmentVariable("LAYERSCOPE_SCREENSHOT_DIR");
    if (!dir.isEmpty())
        QVERIFY(widget->grab().save(QDir(dir).filePath(name)));
}

template <typename T>
T* child(QObject* parent, const char* name) {
    T* found = parent->findChild<T*>(QString::fromLatin1(name));
    if (!found)
        qFatal("no child %s", name);
    return found;
}

}  // namespace

class TestGui : public QObject {
    Q_OBJECT
private slots:
    void initTestCase();

    void demoLookup();
    void themeFollowsDesktop();
    void panelHasEveryRunParameter();
    void datasetPanelOptions();
    void datasetPanelSummary();
    void datasetPanelContextLimit();
    void previewFromTokenizer();
    void previewWithoutTokenizer();

    void trainJob();
    void trainJobFolderChecks();
    void trainJobCancel();
    void trainDialogEndToEnd();
    void trainDialogCancel();
    void trainDialogHasEveryTrainOption();
    void mainWindowOnTrainedModel();

private:
    QTemporaryDir dir_;
    QString corpusPath_;   // a few hundred words of the demo language, paragraphs = documents
    QString modelPath_;    // trained by trainJob()
};

void TestGui::initTestCase() {
    QVERIFY(dir_.isValid());
    ls::DemoCorpusParams params;
    params.words = 700;
    params.sentencesPerDocument = 6;
    corpusPath_ = dir_.filePath("corpus.txt");
    writeText(corpusPath_, ls::generateDemoCorpus(params).text);
    modelPath_ = dir_.filePath("trained");
}

// ---- demo ------------------------------------------------------------------------------

// Dark when the platform's palette is, else when GTK_THEME asks for it, else when GNOME does;
// the names round-trip and View > Theme's choice is kept.
void TestGui::themeFollowsDesktop() {
    const QColor light(239, 239, 239), dark(49, 54, 59);
    QVERIFY(!desktopPrefersDark({light, {}, {}, {}}));
    QVERIFY(desktopPrefersDark({dark, {}, {}, {}}));
    QVERIFY(desktopPrefersDark({light, "Adwaita:dark", {}, {}}));
    QVERIFY(desktopPrefersDark({light, "Arc-Dark", {}, {}}));
    QVERIFY(!desktopPrefersDark({light, "Adwaita", "prefer-dark", {}}));  // GTK_THEME wins
    QVERIFY(desktopPrefersDark({light, {}, "prefer-dark", {}}));
    QVERIFY(!desktopPrefersDark({light, {}, "default", "Adwaita"}));
    QVERIFY(desktopPrefersDark({light, {}, "default", "Yaru-dark"}));
    for (ThemeChoice c : {ThemeChoice::Desktop, ThemeChoice::Light, ThemeChoice::Dark})
        QCOMPARE(parseThemeChoice(themeChoiceName(c)), std::optional<ThemeChoice>(c));
    QCOMPARE(parseThemeChoice("Dark"), std::optional<ThemeChoice>(ThemeChoice::Dark));
    QVERIFY(!parseThemeChoice("midnight"));
    saveThemeChoice(ThemeChoice::Dark);
    QCOMPARE(savedThemeChoice(), ThemeChoice::Dark);
    saveThemeChoice(ThemeChoice::Desktop);
    QCOMPARE(savedThemeChoice(), ThemeChoice::Desktop);
}

// One surface: every parameter of `layerscope-cli run` (the registry's ParamSpecs) is a field of
// the Layer analyses panel, and the research notes' switches reach the run parameters from it.
void TestGui::panelHasEveryRunParameter() {
    AnalysisPanel panel;
    std::vector<const ls::ParamSpec*> specs;
    for (const ls::ParamSpec& s : ls::sharedParams().params) specs.push_back(&s);
    for (const ls::AnalysisSpec& a : ls::analysisRegistry())
        for (const ls::ParamSpec& s : a.params) specs.push_back(&s);
    QVERIFY(specs.size() > 40);
    for (const ls::ParamSpec* s : specs)
        QVERIFY2(panel.findChild<QWidget*>(QString::fromStdString("field_" + s->key)),
                 qPrintable(QString::fromStdString("no field for --" + s->key)));
    panel.setAnalyses({"cossim", "losssep", "exit", "ablation"});  // an analysis's fields count while it is checked
    panel.setFieldText("final-norm-last", "yes");
    panel.setFieldText("subset-windows", "2");
    panel.setFieldText("sweep-points", "9");
    panel.setFieldText("probe-lr", "0.01");
    panel.setFieldText("probe-architectures", "linear, mlp2_256");
    const ls::LayerRunParams p = panel.params();
    QVERIFY(p.finalNormLast);
    QCOMPARE(p.ablation.subsetWindows, int64_t(2));
    QCOMPARE(p.exit.sweepPoints, 9);
    QCOMPARE(p.lossSep.probe.learningRate, 0.01);  // parsed from the same text: no arithmetic
    QCOMPARE(p.lossSep.probe.architectures, (std::vector<std::string>{"linear", "mlp2_256"}));
    panel.resize(380, 1000);
    screenshot(&panel, "analysis-panel.png");
}

void TestGui::demoLookup() {
    QTemporaryDir tmp;
    const QDir root(tmp.path());
    root.mkpath("empty");
    root.mkpath("demo/model");
    writeText(root.filePath("demo/model/config.json"), "{}");
    writeText(root.filePath("demo/eval.txt"), "text");
    root.mkpath("noeval/model");
    writeText(root.filePath("noeval/model/config.json"), "{}");

    // The first folder with a model wins; its eval.txt comes along.
    DefaultInputs found = findDemo({root.filePath("missing"), root.filePath("empty"), root.filePath("demo")});
    QCOMPARE(found.modelDir, root.filePath("demo/model"));
    QCOMPARE(found.dataPath, root.filePath("demo/eval.txt"));
    found = findDemo({root.filePath("noeval"), root.filePath("demo")});
    QCOMPARE(found.modelDir, root.filePath("noeval/model"));
    QVERIFY(found.dataPath.isEmpty());
    found = findDemo({root.filePath("empty")});
    QVERIFY(found.modelDir.isEmpty() && found.dataPath.isEmpty());

    // Installed layout first, then the source tree.
    const QStringList candidates = demoFolderCandidates();
    QCOMPARE(candidates.size(), 2);
    QVERIFY(candidates[0].endsWith("share/layerscope/demo"));
    QCOMPARE(QDir::cleanPath(candidates[1]), QDir::cleanPath(LAYERSCOPE_SOURCE_DIR "/resources/demo"));
}

// ---- dataset panel ---------------------------------------------------------------------

void TestGui::datasetPanelOptions() {
    DatasetPanel panel;
    auto* format = child<QComboBox>(&panel, "formatCombo");
    auto* tmpl = child<QPlainTextEdit>(&panel, "templateEdit");
    auto* tmplNoInput = child<QPlainTextEdit>(&panel, "templateNoInputEdit");

    // Defaults: auto-detected format, the Alpaca templates, all documents.
    ls::DatasetOptions options = panel.datasetOptions();
    QCOMPARE(options.format, ls::DataFormat::Auto);
    QCOMPARE(options.promptTemplate, std::string(ls::kAlpacaTemplate));
    QCOMPARE(options.promptTemplateNoInput, std::string(ls::kAlpacaTemplateNoInput));
    QCOMPARE(options.maxDocuments, int64_t(0));

    // What the widgets say is what comes out.
    format->setCurrentIndex(format->findText("alpaca-jsonl"));
    tmpl->setPlainText("Q: {instruction} {input}\nA: {output}");
    tmplNoInput->setPlainText("Q: {instruction}\nA: {output}");
    child<QSpinBox>(&panel, "documentsSpin")->setValue(5);
    options = panel.datasetOptions();
    QCOMPARE(options.format, ls::DataFormat::AlpacaJsonl);
    QCOMPARE(options.promptTemplate, std::string("Q: {instruction} {input}\nA: {output}"));
    QCOMPARE(options.promptTemplateNoInput, std::string("Q: {instruction}\nA: {output}"));
    QCOMPARE(options.maxDocuments, int64_t(5));

    // Templates are editable for Alpaca formats only; Reset brings the defaults back.
    QVERIFY(tmpl->isEnabled());
    child<QPushButton>(&panel, "resetTemplatesButton")->click();
    QCOMPARE(panel.datasetOptions().promptTemplate, std::string(ls::kAlpacaTemplate));
    QCOMPARE(panel.datasetOptions().promptTemplateNoInput, std::string(ls::kAlpacaTemplateNoInput));
    format->setCurrentIndex(format->findText("wikitext"));
    QVERIFY(!tmpl->isEnabled());
    QVERIFY(!tmplNoInput->isEnabled());

    // Window options.
    child<QSpinBox>(&panel, "seqLenSpin")->setValue(32);
    child<QSpinBox>(&panel, "strideSpin")->setValue(16);
    child<QSpinBox>(&panel, "maxTokensSpin")->setValue(500);
    child<QSpinBox>(&panel, "maxWindowsSpin")->setValue(7);
    auto* documents = child<QComboBox>(&panel, "documentsCombo");
    documents->setCurrentIndex(documents->findText("respected"));
    ls::WindowParams params = panel.windowParams();
    QCOMPARE(params.seqLen, 32);
    QCOMPARE(params.stride, 16);
    QCOMPARE(params.maxTokens, int64_t(500));
    QCOMPARE(params.maxWindows, int64_t(7));
    QVERIFY(params.respectDocuments);

    // A stride beyond seq len cannot be set: it would skip tokens.
    child<QSpinBox>(&panel, "strideSpin")->setValue(100);
    QCOMPARE(panel.windowParams().stride, 32);

    // setWindowParams round-trips.
    ls::WindowParams set;
    set.seqLen = 128;
    set.stride = 64;
    set.maxTokens = 1000;
    set.maxWindows = 3;
    set.respectDocuments = false;
    panel.setWindowParams(set);
    params = panel.windowParams();
    QCOMPARE(params.seqLen, 128);
    QCOMPARE(params.stride, 64);
    QCOMPARE(params.maxTokens, int64_t(1000));
    QCOMPARE(params.maxWindows, int64_t(3));
    QVERIFY(!params.respectDocuments);
}

void TestGui::datasetPanelSummary() {
    auto dataset = std::make_shared<ls::Dataset>();
    dataset->path = "/data/three-docs.txt";
    dataset->format = ls::DataFormat::Text;
    for (int i = 0; i < 1000; ++i)
        dataset->tokens.push_back(i % 50);
    dataset->documentStarts = {0, 300, 650};

    DatasetPanel panel;
    QSignalSpy changed(&panel, &DatasetPanel::windowsChanged);
    ls::WindowParams params;
    params.seqLen = 128;
    panel.setWindowParams(params);
    panel.setDataset(dataset, {});
    QVERIFY(changed.count() > 0);

    // The summary is summarizeWindows over makeWindows with the panel's options.
    auto expect = [&](const ls::WindowParams& p) {
        const auto windows = ls::makeWindows(1000, dataset->documentStarts, p);
        return std::make_pair(windows, ls::summarizeWindows(windows, dataset->documentStarts));
    };
    auto [windows, summary] = expect(panel.windowParams());
    QCOMPARE(panel.windows().size(), windows.size());
    QCOMPARE(panel.summary().windows, summary.windows);
    QCOMPARE(panel.summary().tokens, int64_t(1000));
    QCOMPARE(panel.summary().scoredTokens, summary.scoredTokens);
    QCOMPARE(panel.summary().documents, int64_t(3));
    QCOMPARE(panel.summaryText(), QString("3 documents · 1,000 tokens · 8 windows · 992 tokens scored"));

    // Window options apply at once: documents respected, a max-windows cap.
    changed.clear();
    auto* documents = child<QComboBox>(&panel, "documentsCombo");
    documents->setCurrentIndex(documents->findText("respected"));
    QCOMPARE(changed.count(), 1);
    std::tie(windows, summary) = expect(panel.windowParams());
    QCOMPARE(panel.summary().windows, summary.windows);
    QCOMPARE(panel.summary().scoredTokens, summary.scoredTokens);
    for (const ls::Window& w : panel.windows()) {  // no window crosses a document boundary
        for (int64_t start : dataset->documentStarts)
            QVERIFY(!(w.begin < start && w.begin + w.length > start));
    }
    child<QSpinBox>(&panel, "maxWindowsSpin")->setValue(2);
    QCOMPARE(panel.summary().windows, int64_t(2));
    QCOMPARE(panel.windows().size(), size_t(2));

    // Read options ask for a re-read (Apply); window options do not.
    auto* apply = child<QPushButton>(&panel, "applyButton");
    QVERIFY(!panel.needsReread());
    QVERIFY(!apply->isEnabled());
    child<QSpinBox>(&panel, "documentsSpin")->setValue(2);
    QVERIFY(panel.needsReread());
    QVERIFY(apply->isEnabled());
    QSignalSpy reread(&panel, &DatasetPanel::rereadRequested);
    apply->click();
    QCOMPARE(reread.count(), 1);
    child<QSpinBox>(&panel, "documentsSpin")->setValue(0);
    QVERIFY(!panel.needsReread());
    // Templates only matter for Alpaca data.
    child<QPlainTextEdit>(&panel, "templateEdit")->setPlainText("{output}");
    QVERIFY(!panel.needsReread());

    // The auto entry says what was detected.
    QCOMPARE(child<QComboBox>(&panel, "formatCombo")->itemText(0), QString("auto (detected: text)"));

    panel.setDataset(nullptr, {});
    QVERIFY(panel.windows().empty());
    QVERIFY(panel.summaryText().startsWith("No dataset"));
}

void TestGui::datasetPanelContextLimit() {
    DatasetPanel panel;
    QCOMPARE(panel.windowParams().seqLen, 1024);  // the default without a model
    panel.setContextLimit(64);                    // min(1024, context)
    QCOMPARE(panel.windowParams().seqLen, 64);
    panel.setContextLimit(2048);                  // a bigger model: back to what was asked
    QCOMPARE(panel.windowParams().seqLen, 1024);
    ls::WindowParams params;
    params.seqLen = 256;
    panel.setWindowParams(params);                // --seq-len 256
    panel.setContextLimit(128);
    QCOMPARE(panel.windowParams().seqLen, 128);
    panel.setContextLimit(0);                     // no model
    QCOMPARE(panel.windowParams().seqLen, 256);
    // The user's own choice becomes the preferred one.
    child<QSpinBox>(&panel, "seqLenSpin")->setValue(100);
    panel.setContextLimit(512);
    QCOMPARE(panel.windowParams().seqLen, 100);
}

// ---- preview data ----------------------------------------------------------------------

void TestGui::previewFromTokenizer() {
    QTemporaryDir tmp;
    const std::string text = "the cat sat on the mat\n\nthe dog sat";
    writeText(tmp.filePath("tokenizer.json"), ls::buildWordLevelTokenizerJson(text, 100));
    writeText(tmp.filePath("data.txt"), text);
    const ls::Tokenizer tokenizer = ls::Tokenizer::fromTokenizerJson(toPath(tmp.filePath("tokenizer.json")));
    const ls::Dataset dataset =
        ls::loadDataset(toPath(tmp.filePath("data.txt")), &tokenizer, tokenizer.vocabSize());
    QCOMPARE(dataset.tokens.size(), size_t(9));
    QCOMPARE(dataset.documents(), int64_t(2));

    ls::WindowParams params;
    params.seqLen = 4;
    params.stride = 2;
    const std::vector<ls::Window> windows = ls::makeWindows(9, dataset.documentStarts, params);
    PreviewLimits limits;
    limits.windows = 2;
    limits.tokensPerWindow = 3;
    const QList<ls::widgets::PreviewWindow> preview = previewWindows(dataset, &tokenizer, windows, limits);

    QCOMPARE(preview.size(), 2);
    const QStringList words = {"the", "cat", "sat", "on", "the", "mat", "the", "dog", "sat"};
    for (int w = 0; w < 2; ++w) {
        const ls::Window& window = windows[size_t(w)];
        QCOMPARE(preview[w].tokens.size(), 3);
        QVERIFY(preview[w].title.startsWith(QString("Window %1 · tokens %2–%3").arg(w).arg(window.begin)
                                                .arg(window.begin + window.length - 1)));
        for (int p = 0; p < 3; ++p) {
            const ls::widgets::PreviewToken& token = preview[w].tokens[p];
            const int32_t id = dataset.tokens[size_t(window.begin + p)];
            QCOMPARE(token.id, qint64(id));
            QCOMPARE(token.text, words[int(window.begin) + p]);
            QCOMPARE(token.context, p < window.firstScored);
            QVERIFY(token.tooltip.contains(QString("id %1").arg(id)));
            QVERIFY(token.tooltip.contains(QString::fromStdString(tokenizer.tokenString(id))));
        }
    }
    // With stride 2 < seq len 4 the second window's first tokens are context only.
    QVERIFY(preview[1].tokens[0].context);
    QVERIFY(preview[1].tokens[1].context);
    QVERIFY(!preview[1].tokens[2].context);
    // What is left out is said.
    QCOMPARE(preview[0].note, QString("… 1 more tokens in this window"));
    QVERIFY(preview[1].note.endsWith(QString("… %1 more windows not shown").arg(windows.size() - 2)));

    // Into the view: one box per token.
    ls::widgets::TokenPreviewView view;
    view.resize(500, 300);
    view.setWindows(preview);
    QCOMPARE(view.boxes().size(), 6);
    QCOMPARE(view.boxes()[1].label, QString("cat"));
}

void TestGui::previewWithoutTokenizer() {
    ls::Dataset dataset;
    dataset.format = ls::DataFormat::Npy;
    dataset.tokens = {7, 8, 9, 10, 11};
    dataset.documentStarts = {0};
    ls::WindowParams params;
    params.seqLen = 5;
    const auto preview = previewWindows(dataset, nullptr, ls::makeWindows(5, dataset.documentStarts, params));
    QCOMPARE(preview.size(), 1);
    QCOMPARE(preview[0].tokens.size(), 5);
    QCOMPARE(preview[0].tokens[2].text, QString("9"));  // the ids are the text
    QVERIFY(preview[0].note.isEmpty());
}

// ---- training job ----------------------------------------------------------------------

void TestGui::trainJob() {
    ls::TrainDataSpec spec;
    spec.dataPath = toPath(corpusPath_);
    spec.wordVocab = 4096;
    const ls::TrainData data = ls::prepareTrainData(spec);
    QCOMPARE(data.format, ls::DataFormat::Text);
    QVERIFY(data.tokens.size() >= 700);
    QVERIFY(data.documents > 1);
    QVERIFY(data.vocabSize > 60);  // the 64 noise words and the sentence words
    QVERIFY(!data.wordLevelJson.empty());

    const ls::TrainParams params = tinyParams();
    ls::Progress progress;
    std::vector<ls::TrainPoint> points;
    const ls::TrainResult result = ls::trainIntoFolder(data, params, toPath(modelPath_), false, progress,
                                                   [&](const ls::TrainPoint& p) { points.push_back(p); });
    QVERIFY(!result.canceled);
    QVERIFY(result.saved);
    QVERIFY(result.steps > 0);
    QCOMPARE(points.size(), result.history.size());
    QVERIFY(result.bestValLoss > 0);

    // A normal model folder: weights, config and the word-level tokenizer.
    for (const char* name : {"config.json", "model.safetensors", "tokenizer.json"})
        QVERIFY2(QFile::exists(QDir(modelPath_).filePath(name)), name);
    const ls::Model model = ls::Model::load(toPath(modelPath_));
    QCOMPARE(model.config().numLayers, 1);
    QCOMPARE(model.config().hiddenSize, 16);
    QCOMPARE(model.config().vocabSize, data.vocabSize);
    QCOMPARE(model.config().maxPositions, 16);
    QCOMPARE(ls::Tokenizer::fromModelDir(toPath(modelPath_)).vocabSize(), data.vocabSize);

    const QString text = describeTrainResult(result, params);
    QVERIFY2(text.startsWith("Finished 2 epochs"), qPrintable(text));
    QVERIFY2(text.contains(QDir::toNativeSeparators(modelPath_)), qPrintable(text));
}

void TestGui::trainJobFolderChecks() {
    ls::TrainDataSpec spec;
    spec.dataPath = toPath(corpusPath_);
    const ls::TrainData data = ls::prepareTrainData(spec);

    // A folder holding a model is only replaced when asked.
    QVERIFY_THROWS_EXCEPTION(ls::Error, ls::checkOutputFolder(data, toPath(modelPath_), false));
    ls::checkOutputFolder(data, toPath(modelPath_), true);
    QVERIFY_THROWS_EXCEPTION(ls::Error, ls::checkOutputFolder(data, {}, false));

    // Reusing the trained model's tokenizer: same vocabulary, nothing to build, and not
    // into the folder it comes from.
    spec.tokenizerDir = toPath(modelPath_);
    const ls::TrainData reused = ls::prepareTrainData(spec);
    QCOMPARE(reused.vocabSize, data.vocabSize);
    QCOMPARE(reused.tokens, data.tokens);
    QVERIFY(reused.wordLevelJson.empty());
    QVERIFY_THROWS_EXCEPTION(ls::Error, ls::checkOutputFolder(reused, toPath(modelPath_), true));

    // Options are checked before anything is written.
    QTemporaryDir tmp;
    ls::TrainParams bad = tinyParams();
    bad.numHeads = 3;
    ls::Progress progress;
    const fs::path out = toPath(tmp.filePath("never"));
    QVERIFY_THROWS_EXCEPTION(ls::Error, ls::trainIntoFolder(data, bad, out, false, progress));
    QVERIFY(!fs::exists(out));

    // Alpaca records need a model's tokenizer; a word-level one is built from text.
    writeText(tmp.filePath("alpaca.json"), R"([{"instruction": "a", "input": "", "output": "b"}])");
    ls::TrainDataSpec alpaca;
    alpaca.dataPath = toPath(tmp.filePath("alpaca.json"));
    try {
        ls::prepareTrainData(alpaca);
        QFAIL("Alpaca data with a word-level vocabulary was accepted");
    } catch (const ls::Error& e) {
        QVERIFY2(QString(e.what()).contains("needs a model's tokenizer"), e.what());
    }
}

void TestGui::trainJobCancel() {
    ls::TrainDataSpec spec;
    spec.dataPath = toPath(corpusPath_);
    const ls::TrainData data = ls::prepareTrainData(spec);
    ls::TrainParams params = tinyParams();
    params.maxEpochs = 4;
    QTemporaryDir tmp;

    // Canceled before the first step: no checkpoint, and the message says so.
    {
        ls::Progress progress;
        progress.cancel();
        const ls::TrainResult r = ls::trainIntoFolder(data, params, toPath(tmp.filePath("early")), false, progress);
        QVERIFY(r.canceled);
        QVERIFY(!r.saved);
        QVERIFY(!QFile::exists(tmp.filePath("early/config.json")));
        QVERIFY(QFile::exists(tmp.filePath("early/tokenizer.json")));
        const QString text = describeTrainResult(r, params);
        QVERIFY2(text.contains("no checkpoint was saved"), qPrintable(text));
    }
    // Canceled after the first validation: the best checkpoint so far stays.
    {
        ls::Progress progress;
        const ls::TrainResult r =
            ls::trainIntoFolder(data, params, toPath(tmp.filePath("late")), false, progress, [&](const ls::TrainPoint& p) {
                if (p.improved)
                    progress.cancel();
            });
        QVERIFY(r.canceled);
        QVERIFY(r.saved);
        QVERIFY(QFile::exists(tmp.filePath("late/model.safetensors")));
        const QString text = describeTrainResult(r, params);
        QVERIFY2(text.contains("best checkpoint so far") && text.contains("was kept in"), qPrintable(text));
        QVERIFY2(text.contains(QDir::toNativeSeparators(tmp.filePath("late"))), qPrintable(text));
    }
}

// ---- training dialog -------------------------------------------------------------------

// What `layerscope-cli train` takes, the dialog takes: weight decay, validation interval, the
// file's format and how many documents, and the tokenizer of any model folder.
void TestGui::trainDialogHasEveryTrainOption() {
    TrainDialog dialog;
    QSignalSpy prepared(&dialog, &TrainDialog::dataPrepared);
    ls::TrainParams p = tinyParams();
    p.weightDecay = 0.05;
    p.evalEvery = 7;
    dialog.setTrainParams(p);
    QVERIFY(std::abs(dialog.trainParams().weightDecay - 0.05) < 1e-12);  // set and read back, no arithmetic
    QCOMPARE(dialog.trainParams().evalEvery, 7);

    const QString demoModel = QStringLiteral(LAYERSCOPE_SOURCE_DIR "/resources/demo/model");
    dialog.setTokenizerFolder(demoModel);
    dialog.setDataPath(QStringLiteral(LAYERSCOPE_SOURCE_DIR "/resources/demo/eval.txt"));
    QVERIFY(prepared.wait(30000));
    const ls::TrainDataSpec spec = dialog.dataSpec();
    QCOMPARE(QString::fromStdString(spec.tokenizerDir.string()), demoModel);
    QCOMPARE(spec.options.format, ls::DataFormat::Text);  // auto: detected
    QVERIFY2(dialog.problemText().isEmpty(), qPrintable(dialog.problemText()));
    const QList<QSpinBox*> documents = dialog.findChildren<QSpinBox*>();
    QSpinBox* documentsSpin = nullptr;
    for (QSpinBox* s : documents)
        if (s->specialValueText() == "all" && s->toolTip().contains("documents")) documentsSpin = s;
    QVERIFY(documentsSpin);
    documentsSpin->setValue(3);
    QCOMPARE(dialog.dataSpec().options.maxDocuments, 3);
}

void TestGui::trainDialogEndToEnd() {
    QTemporaryDir tmp;
    TrainDialog dialog;
    QSignalSpy prepared(&dialog, &TrainDialog::dataPrepared);
    QSignalSpy ended(&dialog, &TrainDialog::trainingEnded);
    dialog.setTrainParams(tinyParams());
    dialog.setOutputFolder(tmp.filePath("model"));
    dialog.setDataPath(corpusPath_);
    QVERIFY(prepared.wait(30000));
    QVERIFY2(dialog.problemText().isEmpty(), qPrintable(dialog.problemText()));
    QVERIFY(dialog.canStart());

    // Problems show before Start, named as the form names the fields.
    ls::TrainParams bad = tinyParams();
    bad.numHeads = 3;
    dialog.setTrainParams(bad);
    QCOMPARE(dialog.problemText(), QString("Heads: 3 does not divide dim 16"));
    QVERIFY(!dialog.canStart());
    bad = tinyParams();
    bad.seqLen = 4000;
    dialog.setTrainParams(bad);
    QVERIFY2(dialog.problemText().contains("too few for two windows of 4000 + 1 tokens"), qPrintable(dialog.problemText()));
    dialog.setTrainParams(tinyParams());
    QVERIFY(dialog.canStart());

    // Start: the curve fills as the run goes, and the end is reported.
    dialog.start();
    QVERIFY(dialog.isTraining());
    QVERIFY(ended.wait(60000));
    QVERIFY(!dialog.isTraining());
    const auto& points = dialog.curveView()->points();
    QVERIFY(points.size() >= 2);
    QCOMPARE(dialog.curveView()->trainGraph()->data()->size(), points.size());
    QCOMPARE(dialog.curveView()->validationGraph()->data()->size(), 2);  // once per epoch
    QCOMPARE(dialog.curveView()->bestGraph()->data()->size(), 1);
    QVERIFY2(dialog.resultText().startsWith("Finished 2 epochs"), qPrintable(dialog.resultText()));
    QVERIFY(QFile::exists(tmp.filePath("model/config.json")));

    // The folder now holds a model: another Start needs "Replace".
    QVERIFY(dialog.problemText().contains("already holds a model"));
    QVERIFY(!dialog.canStart());
}

void TestGui::trainDialogCancel() {
    QTemporaryDir tmp;
    TrainDialog dialog;
    QSignalSpy prepared(&dialog, &TrainDialog::dataPrepared);
    QSignalSpy ended(&dialog, &TrainDialog::trainingEnded);
    ls::TrainParams params = tinyParams();
    params.maxEpochs = 200;  // far more than the test waits for
    params.patience = 200;
    params.batchSize = 2;
    dialog.setTrainParams(params);
    dialog.setOutputFolder(tmp.filePath("model"));
    dialog.setDataPath(corpusPath_);
    dialog.resize(1200, 760);
    dialog.show();
    QVERIFY(prepared.wait(30000));
    QVERIFY(dialog.canStart());
    dialog.start();

    // Wait for two validations, look at it mid-run, then press Cancel on the progress bar.
    QTRY_VERIFY_WITH_TIMEOUT(dialog.curveView()->validationGraph()->data()->size() >= 2, 60000);
    QVERIFY(dialog.isTraining());
    auto* bar = dialog.findChild<ls::widgets::TaskProgressBar*>();
    QVERIFY(bar && bar->isActive());
    QTRY_VERIFY(bar->fraction() > 0);
    screenshot(&dialog, "train-dialog-running.png");
    auto* cancel = bar->findChild<QPushButton*>();
    QVERIFY(cancel);
    cancel->click();
    QVERIFY(ended.wait(30000));

    // The best checkpoint so far was kept, and the dialog says where.
    const QString text = dialog.resultText();
    QVERIFY2(text.startsWith("Canceled after") && text.contains("was kept in"), qPrintable(text));
    QVERIFY2(text.contains(QDir::toNativeSeparators(tmp.filePath("model"))), qPrintable(text));
    QVERIFY(QFile::exists(tmp.filePath("model/model.safetensors")));
    screenshot(&dialog, "train-dialog-canceled.png");
}

// ---- main window -----------------------------------------------------------------------

void TestGui::mainWindowOnTrainedModel() {
    QVERIFY2(QFile::exists(QDir(modelPath_).filePath("config.json")), "trainJob() trains the model");
    MainWindow window;
    window.resize(1440, 900);
    window.show();
    StartupOptions options;
    options.modelDir = modelPath_;
    options.dataPath = corpusPath_;
    options.run = true;
    window.startWith(options);
    QTRY_VERIFY_WITH_TIMEOUT(window.histogram()->hasData(), 60000);

    // Seq len defaults to min(1024, the model's context of 16).
    QCOMPARE(window.windowParams().seqLen, 16);
    // The preview shows the first windows, one box per token, from the dataset's tokens.
    const DatasetPanel* panel = window.datasetPanel();
    QVERIFY(panel->summary().windows > 4);
    QCOMPARE(window.preview()->windows().size(), 4);
    QCOMPARE(window.preview()->windows()[0].tokens.size(), 16);
    QCOMPARE(window.preview()->boxes().size(), 4 * 16);
    // The histogram holds one loss per scored token.
    QCOMPARE(window.histogram()->summary().count, panel->summary().scoredTokens);
    screenshot(&window, "main-window-trained.png");
}

QTEST_MAIN(TestGui)
#include "test_gui.moc"
