#include "train_dialog.h"

#include <cmath>
#include <QCheckBox>
#include <QCloseEvent>
#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMessageBox>
#include <QPushButton>
#include <QRadioButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QTimer>
#include <QVBoxLayout>
#include <limits>
#include <optional>

#include "common/error.h"
#include "file_paths.h"
#include "kit/format.h"
#include "kit/forms.h"
#include "kit/palette.h"

namespace palette = ls::widgets::palette;
#include "task_progress_bar.h"
#include "task_runner.h"
#include "training_curve_view.h"

using ls::widgets::formatCount;

// What a training task hands back to the GUI thread.
struct TrainRun {
    std::optional<ls::TrainResult> result;  // set once trainModel returned (also when canceled)
    ls::TrainParams params;
};

using ls::widgets::makeSpin;

namespace {


QDoubleSpinBox* makeRealSpin(QWidget* parent, int decimals, double minimum, double maximum, double step, double value,
                             const QString& tip) {
    auto* spin = new QDoubleSpinBox(parent);
    spin->setDecimals(decimals);
    spin->setRange(minimum, maximum);
    spin->setSingleStep(step);
    spin->setValue(value);
    spin->setToolTip(tip);
    return spin;
}


}  // namespace

TrainDialog::TrainDialog(QWidget* parent) : QDialog(parent) {
    setWindowTitle(tr("Train Small Model — LayerScope"));

    form_ = new QWidget;
    buildForm(form_);
    auto* scroll = new QScrollArea(this);
    scroll->setWidget(form_);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    scroll->setMinimumWidth(form_->sizeHint().width() + 24);
    // Below the options, outside the scroll area, so that it is always in view.
    problemLabel_ = new QLabel(this);
    problemLabel_->setWordWrap(true);
    problemLabel_->setStyleSheet(palette::textStyle(palette::problemText(palette())));
    problemLabel_->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    problemLabel_->setMinimumHeight(3 * problemLabel_->fontMetrics().lineSpacing());
    problemLabel_->setMaximumWidth(scroll->minimumWidth());
    auto* left = new QVBoxLayout;
    left->addWidget(scroll, 1);
    left->addWidget(problemLabel_);

    curve_ = new ls::widgets::TrainingCurveView(this);
    curve_->setTitle(tr("Loss per step"));
    pointLabel_ = new QLabel(this);
    auto* right = new QVBoxLayout;
    right->addWidget(curve_, 1);
    right->addWidget(pointLabel_);

    auto* columns = new QHBoxLayout;
    columns->addLayout(left);
    columns->addLayout(right, 1);

    // Full width below both columns: the outcome names a folder, often a long path.
    resultLabel_ = new QLabel(this);
    resultLabel_->setWordWrap(true);
    resultLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    resultLabel_->setMinimumHeight(2 * resultLabel_->fontMetrics().lineSpacing());

    taskBar_ = new ls::widgets::TaskProgressBar(this);
    runner_ = new TaskRunner(taskBar_, this);
    connect(runner_, &TaskRunner::busyChanged, this, &TrainDialog::updateButtons);

    startButton_ = new QPushButton(tr("Start"), this);
    startButton_->setDefault(true);
    connect(startButton_, &QPushButton::clicked, this, &TrainDialog::start);
    openButton_ = new QPushButton(tr("Open in Main Window"), this);
    openButton_->setToolTip(tr("Load the trained model in the main window"));
    connect(openButton_, &QPushButton::clicked, this, [this] { emit openModelRequested(trainedFolder_); });
    auto* closeButton = new QPushButton(tr("Close"), this);
    closeButton->setToolTip(tr("Closing while training cancels it (the best checkpoint so far is kept)"));
    connect(closeButton, &QPushButton::clicked, this, &QDialog::close);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(taskBar_, 1);
    buttons->addStretch();
    buttons->addWidget(startButton_);
    buttons->addWidget(openButton_);
    buttons->addWidget(closeButton);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(columns, 1);
    layout->addWidget(resultLabel_);
    layout->addLayout(buttons);

    prepareTimer_ = new QTimer(this);
    prepareTimer_->setSingleShot(true);
    prepareTimer_->setInterval(400);  // wait for typing to stop before reading the data
    connect(prepareTimer_, &QTimer::timeout, this, &TrainDialog::prepare);

    resize(1200, 780);
    revalidate();
}

TrainDialog::~TrainDialog() {
    runner_->cancelAndWait();  // the worker posts curve points to this dialog
}

// Options sit two per row: label, field, label, field.
QGroupBox* TrainDialog::optionBox(QWidget* parent, const QString& title, std::initializer_list<OptionRow> rows) {
    auto* box = new QGroupBox(title, parent);
    auto* grid = new QGridLayout(box);
    int index = 0;
    for (const OptionRow& option : rows) {
        const int row = index / 2, column = (index % 2) * 2;
        ++index;
        auto* label = new QLabel(option.label, option.field->parentWidget());
        label->setBuddy(option.field);
        grid->addWidget(label, row, column);
        grid->addWidget(option.field, row, column + 1);
        optionFields_.insert(option.name, option.field);
        optionLabels_.insert(option.name, option.label);
    }
    return box;
}

QHBoxLayout* TrainDialog::browseRow(QLineEdit* edit, const std::function<QString()>& choose,
                                    void (TrainDialog::*apply)(const QString&)) {
    auto* browse = new QPushButton(tr("Browse…"), edit->parentWidget());
    connect(browse, &QPushButton::clicked, this, [this, choose, apply] {
        const QString path = choose();
        if (!path.isEmpty())
            (this->*apply)(path);
    });
    auto* row = new QHBoxLayout;
    row->addWidget(edit, 1);
    row->addWidget(browse);
    return row;
}

void TrainDialog::buildForm(QWidget* formWidget) {
    const ls::TrainParams defaults;

    // ---- data
    dataEdit_ = new QLineEdit(formWidget);
    dataEdit_->setPlaceholderText(tr("UTF-8 text, WikiText, Alpaca JSON(L), .npy/.bin token ids"));
    QHBoxLayout* dataRow = browseRow(
        dataEdit_, [this] { return QFileDialog::getOpenFileName(this, tr("Training Data"), dataEdit_->text()); },
        &TrainDialog::setDataPath);

    wordLevelRadio_ = new QRadioButton(tr("Word-level: the most frequent words of the corpus"), formWidget);
    wordLevelRadio_->setChecked(true);
    wordVocabSpin_ =
        makeSpin(formWidget, nullptr, 1, 1 << 20, 4096, tr("Vocabulary size: the top K words, plus [UNK]"));
    reuseRadio_ = new QRadioButton(tr("Reuse the current model's tokenizer"), formWidget);
    reuseRadio_->setEnabled(false);
    folderTokenizerRadio_ = new QRadioButton(tr("The tokenizer of this model folder:"), formWidget);
    tokenizerEdit_ = new QLineEdit(formWidget);
    tokenizerEdit_->setPlaceholderText(tr("a folder with tokenizer.json (or vocab.json + merges.txt)"));
    QHBoxLayout* tokenizerRow = browseRow(
        tokenizerEdit_,
        [this] { return QFileDialog::getExistingDirectory(this, tr("Tokenizer Folder"), tokenizerEdit_->text()); },
        &TrainDialog::setTokenizerFolder);
    connect(tokenizerEdit_, &QLineEdit::textEdited, this, [this] { folderTokenizerRadio_->setChecked(true); });
    // How the file is read, as --format and --num-samples say (Alpaca records use the default prompt).
    formatCombo_ = new QComboBox(formWidget);
    for (ls::DataFormat f : {ls::DataFormat::Auto, ls::DataFormat::Text, ls::DataFormat::WikiText,
                             ls::DataFormat::AlpacaJson, ls::DataFormat::AlpacaJsonl, ls::DataFormat::Npy,
                             ls::DataFormat::Bin})
        formatCombo_->addItem(QString::fromLatin1(ls::dataFormatName(f)), int(f));
    formatCombo_->setToolTip(tr("auto: detected from the file's name and content"));
    documentsSpin_ = makeSpin(formWidget, nullptr, 0, std::numeric_limits<int>::max(), 0,
                              tr("Only the first N documents or records of the file"));
    documentsSpin_->setSpecialValueText(tr("all"));
    dataSummary_ = new QLabel(formWidget);
    dataSummary_->setWordWrap(true);

    auto* dataBox = new QGroupBox(tr("Data"), formWidget);
    auto* dataForm = new QFormLayout(dataBox);
    dataForm->addRow(tr("File"), dataRow);
    optionFields_.insert("data", dataEdit_);
    dataForm->addRow(tr("Format"), formatCombo_);
    dataForm->addRow(tr("Documents"), documentsSpin_);
    dataForm->addRow(tr("Tokenizer"), wordLevelRadio_);
    dataForm->addRow(tr("Top K words"), wordVocabSpin_);
    dataForm->addRow(QString(), reuseRadio_);
    dataForm->addRow(QString(), folderTokenizerRadio_);
    dataForm->addRow(QString(), tokenizerRow);
    dataForm->addRow(dataSummary_);

    // ---- output
    outputEdit_ = new QLineEdit(formWidget);
    connect(outputEdit_, &QLineEdit::textEdited, this, [this] { outputEdited_ = true; });
    QHBoxLayout* outRow = browseRow(
        outputEdit_,
        [this] { return QFileDialog::getExistingDirectory(this, tr("Output Folder"), outputEdit_->text()); },
        &TrainDialog::setOutputFolder);
    overwriteCheck_ = new QCheckBox(tr("Replace a model already in this folder"), formWidget);

    auto* outBox = new QGroupBox(tr("Output"), formWidget);
    auto* outForm = new QFormLayout(outBox);
    outForm->addRow(tr("Folder"), outRow);
    optionFields_.insert("out", outputEdit_);
    outForm->addRow(QString(), overwriteCheck_);

    // ---- model
    layoutCombo_ = new QComboBox(formWidget);
    layoutCombo_->addItem(tr("gpt2"), "gpt2");
    layoutCombo_->addItem(tr("llama"), "llama");
    layoutCombo_->setToolTip(tr("GPT-2: learned positions, LayerNorm, GELU. Llama: RoPE, RMSNorm, SwiGLU."));
    dimSpin_ = makeSpin(formWidget, nullptr, 1, 8192, defaults.dim, tr("Width of the residual stream"));
    headsSpin_ = makeSpin(formWidget, nullptr, 1, 256, defaults.numHeads, tr("Attention heads; must divide dim"));
    ffnSpin_ = makeSpin(formWidget, nullptr, 1, 65536, defaults.ffnDim, tr("Inner width of the feed-forward block"));
    layersSpin_ = makeSpin(formWidget, nullptr, 1, 128, defaults.numLayers, tr("Transformer blocks"));
    seqLenSpin_ = makeSpin(formWidget, nullptr, 1, 1 << 16, defaults.seqLen,
                           tr("Training window in tokens; also the saved model's context"));

    // Two options a row, as the box shows them.
    QGroupBox* modelBox = optionBox(formWidget, tr("Model"),
                                    {{"layout", tr("Layout"), layoutCombo_}, {"dim", tr("Dim"), dimSpin_},
                                     {"heads", tr("Heads"), headsSpin_}, {"ffn-dim", tr("FFN dim"), ffnSpin_},
                                     {"layers", tr("Layers"), layersSpin_}, {"seq-len", tr("Seq len"), seqLenSpin_}});

    // ---- training
    samplesSpin_ = makeSpin(formWidget, nullptr, 0, std::numeric_limits<int>::max(), 0,
                            tr("num_samples: windows of seq len + 1 tokens to use"));
    samplesSpin_->setSpecialValueText(tr("all"));
    lrSpin_ = makeRealSpin(formWidget, 5, 0.00001, 1.0, 0.0001, defaults.learningRate, tr("AdamW learning rate"));
    batchSpin_ = makeSpin(formWidget, nullptr, 1, 4096, defaults.batchSize, tr("Windows per optimizer step"));
    epochsSpin_ = makeSpin(formWidget, nullptr, 1, 10000, defaults.maxEpochs,
                           tr("At most this many passes over the data"));
    patienceSpin_ = makeSpin(formWidget, nullptr, 1, 1000, defaults.patience,
                             tr("Stop after this many validations without improvement"));
    valFractionSpin_ = makeRealSpin(formWidget, 2, 0.01, 0.9, 0.05, defaults.validationFraction,
                                    tr("The last part of the samples, never trained on"));
    seedSpin_ = makeSpin(formWidget, nullptr, 0, std::numeric_limits<int>::max(), int(defaults.seed),
                         tr("Initial weights and batch order"));
    weightDecaySpin_ = makeRealSpin(formWidget, 4, 0.0, 10.0, 0.001, defaults.weightDecay, tr("AdamW weight decay"));
    evalEverySpin_ = makeSpin(formWidget, nullptr, 0, std::numeric_limits<int>::max(), defaults.evalEvery,
                              tr("Validate every N optimizer steps"));
    evalEverySpin_->setSpecialValueText(tr("once per epoch"));

    QGroupBox* trainBox = optionBox(formWidget, tr("Training"),
                                    {{"samples", tr("Samples"), samplesSpin_}, {"lr", tr("Learning rate"), lrSpin_},
                                     {"batch-size", tr("Batch size"), batchSpin_},
                                     {"epochs", tr("Epochs"), epochsSpin_},
                                     {"patience", tr("Patience"), patienceSpin_},
                                     {"val-fraction", tr("Validation fraction"), valFractionSpin_},
                                     {"weight-decay", tr("Weight decay"), weightDecaySpin_},
                                     {"eval-every", tr("Validate every"), evalEverySpin_},
                                     {"seed", tr("Seed"), seedSpin_}});

    auto* layout = new QVBoxLayout(formWidget);
    layout->setContentsMargins(0, 0, 0, 0);
    for (QWidget* box : std::initializer_list<QWidget*>{dataBox, outBox, modelBox, trainBox})
        layout->addWidget(box);
    layout->addStretch(1);

    // Data changes re-read the data (after a pause); the rest is checked at once.
    connect(dataEdit_, &QLineEdit::textChanged, this, [this] {
        suggestOutputFolder();
        schedulePrepare();
    });
    ls::widgets::onChanged({wordLevelRadio_, wordVocabSpin_, folderTokenizerRadio_, tokenizerEdit_, formatCombo_,
                            documentsSpin_},
                           this, [this] { schedulePrepare(); });
    ls::widgets::onChanged({outputEdit_, overwriteCheck_, layoutCombo_, dimSpin_, headsSpin_, ffnSpin_, layersSpin_,
                            seqLenSpin_, samplesSpin_, batchSpin_, epochsSpin_, patienceSpin_, seedSpin_, lrSpin_,
                            valFractionSpin_},
                           this, [this] { revalidate(); });
}

// ---- options ---------------------------------------------------------------------------

void TrainDialog::setDataPath(const QString& path) { dataEdit_->setText(path); }

void TrainDialog::setCurrentModel(const QString& modelDir) {
    currentModel_ = modelDir;
    reuseRadio_->setEnabled(!modelDir.isEmpty());
    reuseRadio_->setText(modelDir.isEmpty() ? tr("Reuse the current model's tokenizer (no model loaded)")
                                            : tr("Reuse the tokenizer of %1").arg(QFileInfo(modelDir).fileName()));
    reuseRadio_->setToolTip(modelDir);
    if (modelDir.isEmpty())
        wordLevelRadio_->setChecked(true);
    schedulePrepare();
}

void TrainDialog::setOutputFolder(const QString& dir) {
    outputEdited_ = true;  // chosen, not suggested
    outputEdit_->setText(dir);
}

void TrainDialog::setReuseTokenizer(bool reuse) { (reuse ? reuseRadio_ : wordLevelRadio_)->setChecked(true); }

void TrainDialog::setWordVocab(int topK) { wordVocabSpin_->setValue(topK); }

void TrainDialog::setTokenizerFolder(const QString& dir) {
    tokenizerEdit_->setText(dir);
    folderTokenizerRadio_->setChecked(true);
}

std::vector<std::pair<QSpinBox*, int ls::TrainParams::*>> TrainDialog::intFields() const {
    return {{dimSpin_, &ls::TrainParams::dim},          {headsSpin_, &ls::TrainParams::numHeads},
            {ffnSpin_, &ls::TrainParams::ffnDim},       {layersSpin_, &ls::TrainParams::numLayers},
            {seqLenSpin_, &ls::TrainParams::seqLen},    {batchSpin_, &ls::TrainParams::batchSize},
            {epochsSpin_, &ls::TrainParams::maxEpochs}, {patienceSpin_, &ls::TrainParams::patience},
            {evalEverySpin_, &ls::TrainParams::evalEvery}};
}

std::vector<std::pair<QDoubleSpinBox*, double ls::TrainParams::*>> TrainDialog::realFields() const {
    return {{lrSpin_, &ls::TrainParams::learningRate}, {valFractionSpin_, &ls::TrainParams::validationFraction},
            {weightDecaySpin_, &ls::TrainParams::weightDecay}};
}

void TrainDialog::setTrainParams(const ls::TrainParams& p) {
    layoutCombo_->setCurrentIndex(std::max(0, layoutCombo_->findData(QString::fromStdString(p.layout))));
    for (const auto& [spin, field] : intFields())
        spin->setValue(p.*field);
    for (const auto& [spin, field] : realFields())
        spin->setValue(p.*field);
    samplesSpin_->setValue(int(std::min<int64_t>(p.numSamples, samplesSpin_->maximum())));
    seedSpin_->setValue(int(std::min<uint64_t>(p.seed, uint64_t(seedSpin_->maximum()))));
}

ls::TrainDataSpec TrainDialog::dataSpec() const {
    ls::TrainDataSpec spec;
    spec.dataPath = toPath(dataEdit_->text().trimmed());
    if (reuseRadio_->isChecked())
        spec.tokenizerDir = toPath(currentModel_);
    else if (folderTokenizerRadio_->isChecked())
        spec.tokenizerDir = toPath(tokenizerEdit_->text().trimmed());
    spec.wordVocab = wordVocabSpin_->value();
    spec.options.format = ls::DataFormat(formatCombo_->currentData().toInt());
    if (spec.options.format == ls::DataFormat::Auto && !spec.dataPath.empty())
        spec.options.format = ls::detectFormat(spec.dataPath);
    spec.options.maxDocuments = documentsSpin_->value();
    return spec;
}

ls::TrainParams TrainDialog::trainParams() const {
    ls::TrainParams p;
    p.layout = layoutCombo_->currentData().toString().toStdString();
    for (const auto& [spin, field] : intFields())
        p.*field = spin->value();
    for (const auto& [spin, field] : realFields())
        p.*field = spin->value();
    p.numSamples = samplesSpin_->value();
    p.seed = uint64_t(seedSpin_->value());
    return p;
}

QString TrainDialog::outputFolder() const { return outputEdit_->text().trimmed(); }

// A free folder named after the data file under ~/layerscope-models, until the user picks one.
void TrainDialog::suggestOutputFolder() {
    if (outputEdited_)
        return;
    const QString stem = QFileInfo(dataEdit_->text().trimmed()).completeBaseName();
    const QDir base(QDir::home().filePath("layerscope-models"));
    QString dir = base.filePath(stem.isEmpty() ? QStringLiteral("model") : stem);
    for (int i = 2; QFileInfo::exists(QDir(dir).filePath("config.json")); ++i)
        dir = base.filePath(QStringLiteral("%1-%2").arg(stem).arg(i));
    outputEdit_->setText(dir);
}

// ---- reading the data ------------------------------------------------------------------

void TrainDialog::schedulePrepare() {
    if (data_ && data_->spec == dataSpec()) {  // e.g. a new current model while word-level is chosen
        revalidate();
        return;
    }
    data_.reset();
    dataError_.clear();
    dataSummary_->setText(dataEdit_->text().trimmed().isEmpty() ? tr("Choose a data file.") : tr("Reading…"));
    prepareTimer_->start();
    revalidate();
}

void TrainDialog::prepare() {
    const ls::TrainDataSpec spec = dataSpec();
    if (spec.dataPath.empty()) {
        revalidate();
        emit dataPrepared();
        return;
    }
    if (runner_->isBusy()) {  // a previous read (or a run) is still going: read again after it
        preparePending_ = true;
        return;
    }
    auto data = std::make_shared<ls::TrainData>();
    runner_->start(
        tr("Reading the data"), [data, spec](ls::Progress&) { *data = ls::prepareTrainData(spec); },
        [this, data, spec](const TaskOutcome& outcome) {
            if (preparePending_ || spec != dataSpec()) {  // changed while reading
                preparePending_ = false;
                prepare();
                return;
            }
            if (outcome.status == TaskOutcome::Finished) {
                data_ = data;
                const QString vocabulary = data->wordLevelJson.empty() ? tr("the reused tokenizer")
                                                                       : tr("word-level");
                dataSummary_->setText(tr("%1 · %2 documents · %3 tokens · vocabulary %4 (%5)")
                                          .arg(QString::fromLatin1(ls::dataFormatName(data->format)))
                                          .arg(formatCount(data->documents))
                                          .arg(formatCount(qint64(data->tokens.size())))
                                          .arg(formatCount(data->vocabSize))
                                          .arg(vocabulary));
            } else {
                dataError_ = outcome.status == TaskOutcome::Canceled ? tr("Reading the data was canceled.")
                                                                     : outcome.message.section('\n', 0, 0);
                dataSummary_->clear();
            }
            revalidate();
            emit dataPrepared();
        });
}

// ---- checking --------------------------------------------------------------------------

void TrainDialog::revalidate() {
    for (QWidget* field : optionFields_)
        ls::widgets::markInvalid(field, false);
    QString problem = dataError_;
    QString field = problem.isEmpty() ? QString() : QStringLiteral("data");
    if (problem.isEmpty() && data_) {
        try {
            ls::checkOutputFolder(*data_, toPath(outputFolder()), overwriteCheck_->isChecked());
        } catch (const ls::Error& e) {
            problem = QString::fromStdString(e.what());
            field = "out";
        }
    }
    if (problem.isEmpty()) {
        try {
            // Until the data is read, check what does not depend on it.
            const int vocab = data_ ? data_->vocabSize : std::numeric_limits<int>::max();
            const int64_t tokens = data_ ? int64_t(data_->tokens.size()) : std::numeric_limits<int64_t>::max() / 2;
            ls::validateTrainParams(trainParams(), vocab, tokens);
        } catch (const ls::ParamError& e) {  // names the parameter: mark its field, say its label
            field = QString::fromStdString(e.key());
            problem = tr("%1: %2").arg(optionLabels_.value(field, field), QString::fromStdString(e.problem()));
        } catch (const ls::Error& e) {
            problem = QString::fromStdString(e.what());
            problem[0] = problem[0].toUpper();
        }
    }
    problem_ = problem;
    problemLabel_->setText(problem);
    ls::widgets::markInvalid(optionFields_.value(field), !problem.isEmpty());
    updateButtons();
}

bool TrainDialog::canStart() const { return data_ && problem_.isEmpty() && !runner_->isBusy(); }
bool TrainDialog::isBusy() const { return runner_->isBusy(); }
bool TrainDialog::isTraining() const { return training_; }
QString TrainDialog::problemText() const { return problem_; }
QString TrainDialog::resultText() const { return resultLabel_->text(); }

void TrainDialog::updateButtons() {
    startButton_->setEnabled(canStart());
    openButton_->setEnabled(!trainedFolder_.isEmpty() && !runner_->isBusy());
    form_->setEnabled(!training_);  // the options of a running job stay as they were
}

// ---- training --------------------------------------------------------------------------

void TrainDialog::start() {
    if (!canStart())
        return;
    auto run = std::make_shared<TrainRun>();
    run->params = trainParams();
    const std::shared_ptr<const ls::TrainData> data = data_;
    const std::filesystem::path outDir = toPath(outputFolder());
    const bool overwrite = overwriteCheck_->isChecked();
    curve_->clear();
    curve_->setTitle(tr("Loss per step — %1").arg(QFileInfo(outputFolder()).fileName()));
    pointLabel_->clear();
    resultLabel_->clear();
    trainedFolder_.clear();
    outputEdited_ = true;  // keep the folder this run writes to
    training_ = true;
    // Points come from the worker thread: queue them to this dialog's thread.
    auto onPoint = [this](const ls::TrainPoint& point) {
        QMetaObject::invokeMethod(this, [this, point] { showPoint(point); }, Qt::QueuedConnection);
    };
    runner_->start(
        tr("Training"),
        [run, data, outDir, overwrite, onPoint](ls::Progress& progress) {
            run->result = ls::trainIntoFolder(*data, run->params, outDir, overwrite, progress, onPoint);
        },
        [this, run](const TaskOutcome& outcome) { trainingDone(outcome, run); });
    updateButtons();
}

void TrainDialog::showPoint(const ls::TrainPoint& p) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    curve_->addPoint({double(p.step), p.trainLoss, p.valLoss >= 0 ? p.valLoss : nan});
    QString text = tr("Step %1 · epoch %2 · train loss %3").arg(p.step).arg(p.epoch, 0, 'f', 2).arg(p.trainLoss, 0, 'f', 4);
    if (p.valLoss >= 0)
        text += tr(" · validation loss %1 (PPL %2)%3")
                    .arg(p.valLoss, 0, 'f', 4)
                    .arg(std::exp(p.valLoss), 0, 'f', 2)
                    .arg(p.improved ? tr(" (best, saved)") : QString());
    pointLabel_->setText(text);
}

void TrainDialog::trainingDone(const TaskOutcome& outcome, const std::shared_ptr<TrainRun>& run) {
    training_ = false;
    if (outcome.status == TaskOutcome::Failed) {
        resultLabel_->setText(tr("Training failed: %1").arg(outcome.message.section('\n', 0, 0)));
        resultLabel_->setStyleSheet(palette::textStyle(palette::problemText(palette())));
    } else if (!run->result) {
        resultLabel_->setText(tr("Canceled before training started: nothing was written."));
        resultLabel_->setStyleSheet({});
    } else {
        const ls::TrainResult& result = *run->result;
        resultLabel_->setText(describeTrainResult(result, run->params));
        resultLabel_->setStyleSheet({});
        if (result.saved)
            trainedFolder_ = QString::fromStdString(result.outputDir.string());
    }
    // The folder now holds a model: the same Start again would need "Replace".
    revalidate();
    if (preparePending_) {  // the data changed during the run
        preparePending_ = false;
        prepare();
    }
    emit trainingEnded();
    if (outcome.status == TaskOutcome::Finished && !trainedFolder_.isEmpty() && isVisible()) {
        auto* box = new QMessageBox(QMessageBox::Question, tr("Training finished"),
                                    resultLabel_->text() + "\n\n" + tr("Open the trained model in the main window?"),
                                    QMessageBox::Open | QMessageBox::Close, this);
        box->setAttribute(Qt::WA_DeleteOnClose);
        connect(box->button(QMessageBox::Open), &QPushButton::clicked, this,
                [this, folder = trainedFolder_] { emit openModelRequested(folder); });
        box->open();  // window-modal without a nested event loop
    }
}

// Closing cancels a run (it keeps its best checkpoint; trainingDone() still reports it),
// not the reading of the data.
void TrainDialog::closeEvent(QCloseEvent* event) {
    if (training_)
        runner_->cancel();
    QDialog::closeEvent(event);
}

void TrainDialog::reject() {
    if (training_)
        runner_->cancel();
    QDialog::reject();
}
