#include "train_lens_dialog.h"

#include <QCheckBox>
#include <QDialogButtonBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>
#include <cmath>
#include <filesystem>

#include "common/error.h"
#include "file_paths.h"
#include "training_curve_view.h"
#include "workbench_tasks.h"

TrainLensDialog::TrainLensDialog(WorkbenchTasks* tasks, QWidget* parent) : QDialog(parent), tasks_(tasks) {
    setWindowTitle(tr("Train Tuned Lens"));
    const ls::LensTrainParams defaults;
    auto* form = new QFormLayout;
    folder_ = new QLineEdit(this);
    folder_->setObjectName(QStringLiteral("lensFolder"));
    folder_->setMinimumWidth(260);
    auto* browse = new QPushButton(tr("Browse…"), this);
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString dir = QFileDialog::getExistingDirectory(this, tr("Folder for the tuned lens"), folder_->text());
        if (!dir.isEmpty()) folder_->setText(dir);
    });
    auto* folderRow = new QHBoxLayout;
    folderRow->addWidget(folder_, 1);
    folderRow->addWidget(browse);
    form->addRow(tr("Save in"), folderRow);
    overwrite_ = new QCheckBox(tr("Replace a lens already in the folder"), this);
    form->addRow(overwrite_);
    postAttention_ = new QCheckBox(tr("Also translators after attention (a_l)"), this);
    form->addRow(postAttention_);
    steps_ = new QSpinBox(this);
    steps_->setRange(0, 1000000);
    steps_->setValue(int(defaults.steps));
    steps_->setToolTip(tr("Optimizer steps; 0 saves the identity (the logit lens)"));
    form->addRow(tr("Steps"), steps_);
    rate_ = new QDoubleSpinBox(this);
    rate_->setDecimals(4);
    rate_->setRange(0.0001, 100.0);
    rate_->setValue(defaults.learningRate);
    rate_->setToolTip(tr("Peak learning rate of SGD with Nesterov momentum 0.9 (warm-up over the first tenth, then linear decay)"));
    form->addRow(tr("Learning rate"), rate_);
    batchTokens_ = new QSpinBox(this);
    batchTokens_->setRange(1, 1 << 24);
    batchTokens_->setValue(int(defaults.batchTokens));
    batchTokens_->setToolTip(tr("Scored tokens per step, in whole windows"));
    form->addRow(tr("Tokens per step"), batchTokens_);
    seed_ = new QSpinBox(this);
    seed_->setRange(0, 1 << 30);
    form->addRow(tr("Seed"), seed_);
    auto* note = new QLabel(tr("Trains on the open dataset's windows (the Dataset panel's window options). The last "
                               "tenth of the windows is held out: scored before training (the logit lens) and ten "
                               "times during it; each layer keeps its best state."),
                            this);
    note->setWordWrap(true);
    problem_ = new QLabel(this);
    problem_->setObjectName(QStringLiteral("problem"));
    problem_->setStyleSheet(QStringLiteral("color: #c0392b"));
    problem_->setWordWrap(true);

    curve_ = new ls::widgets::TrainingCurveView(this);
    curve_->setTitle(tr("Mean KL to the final layer over the layers"));
    curve_->setQuantity(tr("KL"), tr("held-out"));
    curve_->setMinimumSize(420, 260);
    result_ = new QLabel(this);
    result_->setWordWrap(true);
    klTable_ = new QTableWidget(0, 4, this);
    klTable_->setHorizontalHeaderLabels({tr("stage"), tr("layer"), tr("logit lens KL"), tr("tuned lens KL")});
    klTable_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    klTable_->verticalHeader()->setVisible(false);
    klTable_->setEditTriggers(QAbstractItemView::NoEditTriggers);

    start_ = new QPushButton(tr("Start"), this);
    cancel_ = new QPushButton(tr("Cancel Training"), this);
    use_ = new QPushButton(tr("Use This Lens"), this);
    use_->setToolTip(tr("Set the Lens field of the layer analyses to this lens"));
    auto* close = new QPushButton(tr("Close"), this);
    connect(start_, &QPushButton::clicked, this, &TrainLensDialog::start);
    connect(cancel_, &QPushButton::clicked, this, [this] { tasks_->runner()->cancel(); });
    connect(use_, &QPushButton::clicked, this, [this] { emit lensChosen(trainedDir_); });
    connect(close, &QPushButton::clicked, this, &QDialog::close);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(start_);
    buttons->addWidget(cancel_);
    buttons->addStretch(1);
    buttons->addWidget(use_);
    buttons->addWidget(close);

    auto* left = new QVBoxLayout;
    left->addLayout(form);
    left->addWidget(note);
    left->addWidget(problem_);
    left->addStretch(1);
    auto* right = new QVBoxLayout;
    right->addWidget(curve_, 2);
    right->addWidget(result_);
    right->addWidget(klTable_, 1);
    auto* columns = new QHBoxLayout;
    columns->addLayout(left, 2);
    columns->addLayout(right, 3);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(columns, 1);
    layout->addLayout(buttons);

    connect(folder_, &QLineEdit::textChanged, this, &TrainLensDialog::updateState);
    connect(overwrite_, &QCheckBox::toggled, this, &TrainLensDialog::updateState);
    connect(tasks_, &WorkbenchTasks::busyChanged, this, &TrainLensDialog::updateState);
    connect(tasks_, &WorkbenchTasks::lensTrainPoint, this, [this](const ls::TrainPoint& p) {
        if (!training_) return;
        ls::widgets::LossCurvePoint point;
        point.step = double(p.step);
        point.trainLoss = p.step == 0 ? std::nan("") : p.trainLoss;
        point.valLoss = p.valLoss;
        curve_->addPoint(point);
    });
    connect(tasks_, &WorkbenchTasks::lensTrained, this, [this](std::shared_ptr<const ls::LensTrainResult> r) {
        if (training_) showResult(*r);
    });
    updateState();
}

void TrainLensDialog::setWindows(const ls::WindowParams& windows) { windows_ = windows; }

void TrainLensDialog::setOutputFolder(const QString& dir) { folder_->setText(dir); }

QString TrainLensDialog::outputFolder() const { return folder_->text().trimmed(); }

ls::LensTrainParams TrainLensDialog::trainParams() const {
    ls::LensTrainParams p;
    p.windows = windows_;
    p.windows.shard = {};
    p.postAttention = postAttention_->isChecked();
    p.steps = steps_->value();
    p.learningRate = rate_->value();
    p.batchTokens = batchTokens_->value();
    p.seed = uint64_t(seed_->value());
    return p;
}

void TrainLensDialog::setTrainParams(const ls::LensTrainParams& p) {
    postAttention_->setChecked(p.postAttention);
    steps_->setValue(int(p.steps));
    rate_->setValue(p.learningRate);
    batchTokens_->setValue(int(p.batchTokens));
    seed_->setValue(int(p.seed));
}

QString TrainLensDialog::problemText() const {
    if (const QString missing = tasks_->missingInputs(); !missing.isEmpty()) return missing;
    if (outputFolder().isEmpty()) return tr("Choose a folder to save the lens in.");
    try {
        ls::checkLensOutputFolder(toPath(outputFolder()), overwrite_->isChecked());
    } catch (const ls::ParamError& e) {  // the folder holds a lens: the box below replaces it
        return QString::fromStdString(e.problem());
    } catch (const ls::Error& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

QString TrainLensDialog::resultText() const { return result_->text(); }

void TrainLensDialog::updateState() {
    const QString problem = problemText();
    problem_->setText(training_ ? QString() : problem);
    start_->setEnabled(!training_ && !tasks_->isBusy() && problem.isEmpty());
    cancel_->setEnabled(training_);
    use_->setEnabled(!training_ && !trainedDir_.isEmpty());
}

void TrainLensDialog::start() {
    if (!problemText().isEmpty() || tasks_->isBusy()) return;
    curve_->clear();
    klTable_->setRowCount(0);
    result_->clear();
    trainedDir_.clear();
    training_ = true;
    updateState();
    tasks_->trainLens(trainParams(), outputFolder(), overwrite_->isChecked(), [this](bool ok) {
        training_ = false;
        if (!ok) result_->setText(tasks_->lastError());
        updateState();
        emit trainingEnded();
    });
}

void TrainLensDialog::showResult(const ls::LensTrainResult& r) {
    const ls::TunedLensInfo& info = r.info;
    trainedDir_ = fromPath(r.outputDir);
    const double perLayerStep = r.secondsPerLayerStep();
    result_->setText(tr("%1 after %2 steps in %3 s (%4 s per layer per step). Held-out KL over %5 tokens never "
                        "trained on; saved in %6.")
                         .arg(r.canceled ? tr("Canceled") : tr("Finished"))
                         .arg(r.steps)
                         .arg(info.seconds, 0, 'f', 1)
                         .arg(perLayerStep, 0, 'f', 3)
                         .arg(info.heldOutTokens)
                         .arg(trainedDir_));
    klTable_->setRowCount(int(info.heldOutKl.size()));
    for (int i = 0; i < int(info.heldOutKl.size()); ++i) {
        const ls::LensLayerKl& k = info.heldOutKl[size_t(i)];
        const QStringList cells{QString::fromStdString(k.stage), QString::number(k.layer), QString::number(k.logitKl, 'f', 4),
                                QString::number(k.tunedKl, 'f', 4)};
        for (int c = 0; c < cells.size(); ++c) klTable_->setItem(i, c, new QTableWidgetItem(cells[c]));
    }
}
