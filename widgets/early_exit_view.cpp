#include "early_exit_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QFormLayout>
#include <QGridLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QScrollArea>
#include <QSlider>
#include <QSplitter>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>
#include <cmath>
#include <exception>

#include "analysis/capture_pass.h"
#include "analysis/losssep.h"
#include "early_exit_charts.h"
#include "early_exit_controls.h"
#include "export_menu.h"
#include "kit/format.h"
#include "kit/palette.h"
#include "kit/tables.h"
#include "stats/summary.h"

namespace ls::widgets {

namespace {

QString signalDescription(const QString& name) {
    if (name == "cossim") return QObject::tr("cos(hₗ₋₁, hₗ): the block changed little");
    const QString formula = metricFormula(name.toStdString(), QStringLiteral("z_l"));
    return name == "entropy" ? QObject::tr("%1, lower exits").arg(formula) : formula;
}

// The q-quantiles q = i / steps of the values (NaNs left out), ascending.
std::vector<double> quantileGrid(std::vector<float> values, int steps) {
    values.erase(std::remove_if(values.begin(), values.end(), [](float v) { return std::isnan(v); }), values.end());
    std::sort(values.begin(), values.end());
    std::vector<double> grid(size_t(steps) + 1, 0.0);
    if (values.empty())
        return grid;
    for (int i = 0; i <= steps; ++i)
        grid[size_t(i)] = ls::quantileSorted(values, double(i) / steps);
    return grid;
}

}  // namespace

// What a (re)build produces, in a worker or on the GUI thread.
struct EarlyExitView::Built {
    int generation = 0;
    std::string signal;
    std::vector<int> layers;
    std::shared_ptr<const ls::ExitSimulator> simulator;
    std::vector<double> grid;
    std::vector<std::vector<double>> layerGrids;
    std::vector<ls::SweepPoint> sweep;
    bool sweepFromResult = false;
    double ms = 0;
    QString error;
};

std::shared_ptr<EarlyExitView::Built> EarlyExitView::build(std::shared_ptr<const ls::CaptureResult> capture,
                                                           std::shared_ptr<const ls::ExitResult> result,
                                                           std::shared_ptr<Built> b) {
    QElapsedTimer timer;
    timer.start();
    try {
        auto sim = std::make_shared<ls::ExitSimulator>(*capture, b->signal, b->layers);
        b->layers = sim->allowedLayers();
        b->grid = sim->defaultThresholds(EarlyExitView::kSliderSteps + 1);
        for (int l : b->layers) {
            const std::vector<float> values = b->signal == "cossim"
                                                  ? capture->cossim[size_t(l - 1)]
                                                  : ls::metricValues(capture->metrics[size_t(l - 1)], b->signal);
            b->layerGrids.push_back(quantileGrid(values, EarlyExitView::kSliderSteps));
        }
        // The run's own sweep when it is the same policy family; else 41 quantiles.
        if (result && result->params.signal == b->signal && result->params.layers == b->layers) {
            b->sweep = result->sweep;
            b->sweepFromResult = true;
        } else {
            std::vector<double> thresholds;
            for (int i = 0; i <= EarlyExitView::kSliderSteps; i += EarlyExitView::kSliderSteps / 40)
                thresholds.push_back(b->grid[size_t(i)]);
            b->sweep = sim->sweep(thresholds);
        }
        b->simulator = std::move(sim);
    } catch (const std::exception& e) {
        b->error = QString::fromStdString(e.what());
        b->simulator.reset();
    }
    b->ms = timer.nsecsElapsed() / 1e6;
    return b;
}

EarlyExitView::EarlyExitView(QWidget* parent)
    : ResultView(tr("<b>Early exit.</b> A token exits at the first allowed layer whose signal passes the threshold "
                    "and uses that layer's lens prediction (the run's Lens: logit or tuned); the others run all L blocks. Compute saved = 1 − "
                    "mean blocks / L; top-1 agreement with the final prediction; PPL of the exit layer's logits on "
                    "the true next tokens."),
                 parent) {
    watcher_ = new QFutureWatcher<std::shared_ptr<Built>>(this);
    connect(watcher_, &QFutureWatcher<std::shared_ptr<Built>>::finished, this, [this] {
        building_ = false;
        const std::shared_ptr<Built> built = watcher_->result();
        if (pendingRebuild_) {  // a newer request arrived meanwhile: build that one
            pendingRebuild_ = false;
            if (capture_)
                startBuild();
            return;
        }
        if (built->generation != generation_)
            return;  // superseded (cleared, or rebuilt synchronously since)
        applyBuilt(built);
    });

    buildControls();
    buildCharts();
    clear();
}

EarlyExitView::~EarlyExitView() = default;

std::vector<ls::Table> EarlyExitView::tables() const {
    return simulator_ || result_ ? ls::exitTables(currentResult()) : std::vector<ls::Table>{};
}

QList<QSlider*> EarlyExitView::layerSliders() const { return layerSliders_->sliders(); }
QLabel* EarlyExitView::exitFractionLabel() const { return numbersBox_->exitFractionLabel(); }
QLabel* EarlyExitView::meanLayersLabel() const { return numbersBox_->meanLayersLabel(); }
QLabel* EarlyExitView::computeSavedLabel() const { return numbersBox_->computeSavedLabel(); }
QLabel* EarlyExitView::agreementLabel() const { return numbersBox_->agreementLabel(); }
QLabel* EarlyExitView::pplLabel() const { return numbersBox_->pplLabel(); }
QCustomPlot* EarlyExitView::histogramPlot() const { return histogram_; }
QCPBars* EarlyExitView::exitBars() const { return histogram_->exitBars(); }
QCPBars* EarlyExitView::finalBars() const { return histogram_->finalBars(); }
QCustomPlot* EarlyExitView::paretoPlot() const { return pareto_; }
QCPGraph* EarlyExitView::sweepGraph() const { return pareto_->sweepGraph(); }
QCPGraph* EarlyExitView::frontGraph() const { return pareto_->frontGraph(); }
QCPGraph* EarlyExitView::currentGraph() const { return pareto_->currentGraph(); }
QCustomPlot* EarlyExitView::pplPlot() const { return ppl_; }
QCPGraph* EarlyExitView::pplSweepGraph() const { return ppl_->sweepGraph(); }
QCPGraph* EarlyExitView::pplCurrentGraph() const { return ppl_->currentGraph(); }

// ---- construction ---------------------------------------------------------------------------

void EarlyExitView::buildControls() {
    signalCombo_ = new QComboBox(this);
    signalCombo_->setToolTip(tr("The per-token, per-layer score that decides the exit"));
    policyCombo_ = new QComboBox(this);
    policyCombo_->addItem(tr("One threshold for all allowed layers"));
    policyCombo_->addItem(tr("One threshold per allowed layer"));
    for (QComboBox* combo : {signalCombo_, policyCombo_}) {
        combo->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
        combo->setMinimumContentsLength(18);
    }

    layersBox_ = new QGroupBox(tr("Allowed exit layers"), this);
    auto* layersLayout = new QVBoxLayout(layersBox_);
    layersLayout->setContentsMargins(6, 4, 6, 4);
    layersGrid_ = new QGridLayout;
    layersGrid_->setHorizontalSpacing(6);
    layersGrid_->setVerticalSpacing(2);
    layersLayout->addLayout(layersGrid_);
    auto* allButton = new QPushButton(tr("All"), layersBox_);
    auto* noneButton = new QPushButton(tr("None"), layersBox_);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(allButton);
    buttons->addWidget(noneButton);
    buttons->addStretch(1);
    layersLayout->addLayout(buttons);
    connect(allButton, &QPushButton::clicked, this, [this] {
        std::vector<int> all;
        for (int i = 0; i < layerChecks_.size(); ++i)
            all.push_back(i + 1);
        setAllowedLayers(all);
    });
    connect(noneButton, &QPushButton::clicked, this, [this] { setAllowedLayers({}); });

    // One threshold: a slider over the signal's quantiles and an exact spin box.
    slider_ = new QSlider(Qt::Horizontal, this);
    slider_->setRange(0, kSliderSteps);
    slider_->setToolTip(tr("Steps are quantiles of the signal over the allowed layers"));
    spin_ = new QDoubleSpinBox(this);
    spin_->setKeyboardTracking(false);
    spin_->setDecimals(4);
    spin_->setToolTip(tr("The threshold itself: type an exact value"));
    directionLabel_ = new QLabel(this);
    auto* single = new QWidget(this);
    auto* singleLayout = new QGridLayout(single);
    singleLayout->setContentsMargins(0, 0, 0, 0);
    singleLayout->addWidget(slider_, 0, 0);
    singleLayout->addWidget(spin_, 0, 1);
    singleLayout->addWidget(directionLabel_, 1, 0, 1, 2);
    singleLayout->setColumnStretch(0, 1);

    layerSliders_ = new LayerThresholdSliders(this);
    connect(layerSliders_, &LayerThresholdSliders::thresholdMoved, this, [this](int index, double threshold) {
        if (index >= int(layerThresholds_.size()))
            return;
        layerThresholds_[size_t(index)] = threshold;
        evaluateNow();
    });

    singlePanel_ = single;
    thresholdBox_ = new QGroupBox(tr("Threshold"), this);
    auto* thresholdLayout = new QVBoxLayout(thresholdBox_);
    thresholdLayout->setContentsMargins(6, 4, 6, 4);
    thresholdLayout->addWidget(singlePanel_);
    thresholdLayout->addWidget(layerSliders_);
    layerSliders_->hide();

    numbersBox_ = new ExitNumbersBox(this);
    timingLabel_ = new QLabel(this);
    QFont small = timingLabel_->font();
    small.setPointSizeF(small.pointSizeF() * 0.9);
    timingLabel_->setFont(small);
    timingLabel_->setStyleSheet(palette::textStyle(palette::mutedText(palette())));
    timingLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    messageLabel_ = makeNote(this);
    messageLabel_->setStyleSheet(palette::textStyle(palette::problemText(palette())));
    messageLabel_->hide();

    connect(signalCombo_, &QComboBox::currentIndexChanged, this, [this] {
        if (updating_)
            return;
        threshold_ = std::nan("");  // the new signal's median
        layerThresholds_.clear();
        rebuild();
    });
    connect(policyCombo_, &QComboBox::currentIndexChanged, this, [this](int index) {
        if (!updating_)
            setPolicy(index == 1 ? Policy::PerLayer : Policy::Single);
    });
    connect(slider_, &QSlider::valueChanged, this, [this](int v) {
        if (updating_ || grid_.empty())
            return;
        threshold_ = grid_[size_t(std::clamp(v, 0, kSliderSteps))];
        updating_ = true;
        spin_->setValue(threshold_);
        updating_ = false;
        evaluateNow();
    });
    connect(spin_, &QDoubleSpinBox::valueChanged, this, [this](double v) {
        if (!updating_)
            setThreshold(v);
    });
}

void EarlyExitView::buildCharts() {
    histogram_ = addChart(QStringLiteral("exit_histogram"), new ExitLayersChart(this));
    pareto_ = addChart(QStringLiteral("exit_pareto"), new ExitSweepChart(ExitSweepChart::Measure::Agreement, this));
    ppl_ = addChart(QStringLiteral("exit_ppl"), new ExitSweepChart(ExitSweepChart::Measure::Ppl, this));
    // A click on a sweep point: that threshold, for every allowed layer.
    connect(pareto_, &ExitSweepChart::pointClicked, this, [this](int i) {
        if (!simulator_ || i >= int(sweep_.size()))
            return;
        if (policy_ != Policy::Single)
            setPolicy(Policy::Single);
        setThreshold(sweep_[size_t(i)].threshold);
    });

    // ---- layout: controls on the left, charts on the right
    auto* controls = new QWidget(this);
    auto* controlsLayout = new QVBoxLayout(controls);
    controlsLayout->setContentsMargins(6, 0, 6, 0);
    auto* form = new QFormLayout;
    form->setContentsMargins(0, 0, 0, 0);
    form->addRow(tr("Signal"), signalCombo_);
    form->addRow(tr("Policy"), policyCombo_);
    controlsLayout->addLayout(form);
    controlsLayout->addWidget(layersBox_);
    controlsLayout->addWidget(thresholdBox_);
    controlsLayout->addWidget(numbersBox_);
    controlsLayout->addWidget(timingLabel_);
    controlsLayout->addWidget(messageLabel_);
    controlsLayout->addStretch(1);
    auto* controlsScroll = new QScrollArea(this);
    controlsScroll_ = controlsScroll;
    controlsScroll->setWidget(controls);
    controlsScroll->setWidgetResizable(true);
    controlsScroll->setFrameShape(QFrame::NoFrame);
    controlsScroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    controlsScroll->setMinimumWidth(std::max(340, controls->minimumSizeHint().width() + 16));
    controlsScroll->setMaximumWidth(460);

    auto* bottom = new QSplitter(Qt::Horizontal, this);
    bottom->addWidget(pareto_);
    bottom->addWidget(ppl_);
    bottom->setChildrenCollapsible(false);
    auto* chartsSplit = new QSplitter(Qt::Vertical, this);
    chartsSplit->addWidget(histogram_);
    chartsSplit->addWidget(bottom);
    chartsSplit->setStretchFactor(0, 4);
    chartsSplit->setStretchFactor(1, 5);
    chartsSplit->setChildrenCollapsible(false);

    auto* body = new QSplitter(Qt::Horizontal, this);
    body->addWidget(controlsScroll);
    body->addWidget(chartsSplit);
    body->setStretchFactor(0, 0);
    body->setStretchFactor(1, 1);
    body->setChildrenCollapsible(false);
    setBody(body);
}

// ---- data -----------------------------------------------------------------------------------

void EarlyExitView::setData(std::shared_ptr<const ls::CaptureResult> capture,
                            std::shared_ptr<const ls::ExitResult> result) {
    capture_ = std::move(capture);
    result_ = capture_ ? std::move(result) : nullptr;
    ++generation_;
    pendingRebuild_ = false;
    dropSimulator();
    evalMs_ = rebuildMs_ = 0;
    fullPpl_ = std::nan("");

    updating_ = true;
    signalCombo_->clear();
    for (QCheckBox* check : layerChecks_)
        delete check;
    layerChecks_.clear();
    const int L = capture_ ? capture_->numLayers : 0;
    if (capture_) {
        for (const QString& name : availableSignals())
            signalCombo_->addItem(QStringLiteral("%1 — %2").arg(name, signalDescription(name)), name);
        QString signal = result_ ? QString::fromStdString(result_->params.signal) : QStringLiteral("confidence");
        int index = signalCombo_->findData(signal);
        signalCombo_->setCurrentIndex(index >= 0 ? index : 0);
        std::vector<int> allowed = result_ ? result_->params.layers : std::vector<int>{};
        if (allowed.empty())
            for (int l = 1; l < L; ++l)
                allowed.push_back(l);
        const int columns = L - 1 > 30 ? 8 : 6;
        for (int l = 1; l < L; ++l) {
            auto* check = new QCheckBox(QString::number(l), layersBox_);
            check->setChecked(std::find(allowed.begin(), allowed.end(), l) != allowed.end());
            check->setToolTip(tr("Tokens may exit after block %1").arg(l));
            layersGrid_->addWidget(check, (l - 1) / columns, (l - 1) % columns);
            connect(check, &QCheckBox::toggled, this, [this] {
                if (!updating_)
                    rebuild();
            });
            layerChecks_ << check;
        }
        controlsScroll_->setMinimumWidth(std::max(340, controlsScroll_->widget()->minimumSizeHint().width() + 16));
        policy_ = result_ && !result_->params.layerThresholds.empty() ? Policy::PerLayer : Policy::Single;
        threshold_ = result_ ? result_->params.threshold : std::nan("");
        layerThresholds_ = result_ ? result_->params.layerThresholds : std::vector<double>{};
        double sum = 0;
        for (float v : capture_->loss)
            sum += v;
        fullPpl_ = capture_->loss.empty() ? std::nan("") : std::exp(sum / double(capture_->loss.size()));
        if (result_) {  // the run's own numbers at once, while the simulator is built
            outcome_ = result_->policy;
            sweep_ = result_->sweep;
        }
    } else {
        policy_ = Policy::Single;
        threshold_ = std::nan("");
        layerThresholds_.clear();
    }
    policyCombo_->setCurrentIndex(policy_ == Policy::PerLayer ? 1 : 0);
    showPolicyPanel();
    updating_ = false;

    const bool any = capture_ != nullptr;
    for (QWidget* w : std::initializer_list<QWidget*>{signalCombo_, policyCombo_, layersBox_})
        w->setEnabled(any);
    exportButton()->setEnabled(any);
    slider_->setEnabled(false);
    spin_->setEnabled(false);
    rebuildLayerSliders();
    updateNumbers();
    updateHistogram();
    fillSweepCharts();
    updateCurrentPoint();
    if (!any) {
        messageLabel_->setText(tr("No early-exit result: run the layer analyses with “Early exit” checked."));
        messageLabel_->show();
        timingLabel_->clear();
        replotCharts();
        return;
    }
    if (L < 2) {
        messageLabel_->setText(tr("Early exit needs at least 2 layers."));
        messageLabel_->show();
        return;
    }
    rebuild();
}

QStringList EarlyExitView::availableSignals() const {
    QStringList names;
    if (!capture_)
        return names;
    if (!capture_->cossim.empty())
        names << QStringLiteral("cossim");
    if (!capture_->metrics.empty())
        for (const ls::MetricInfo& m : ls::separationMetrics())
            if (std::string(m.name) != "correct_prob")
                names << QString::fromLatin1(m.name);
    return names;
}

QString EarlyExitView::signalName() const { return signalCombo_->currentData().toString(); }

void EarlyExitView::setSignal(const QString& name) {
    const int index = signalCombo_->findData(name);
    if (index >= 0 && index != signalCombo_->currentIndex())
        signalCombo_->setCurrentIndex(index);  // rebuilds through the combo's signal
}

std::vector<int> EarlyExitView::allowedLayers() const {
    std::vector<int> layers;
    for (int i = 0; i < layerChecks_.size(); ++i)
        if (layerChecks_[i]->isChecked())
            layers.push_back(i + 1);
    return layers;
}

void EarlyExitView::setAllowedLayers(const std::vector<int>& layers) {
    updating_ = true;
    for (int i = 0; i < layerChecks_.size(); ++i)
        layerChecks_[i]->setChecked(std::find(layers.begin(), layers.end(), i + 1) != layers.end());
    updating_ = false;
    rebuild();
}

bool EarlyExitView::isRebuilding() const { return building_ || pendingRebuild_; }

void EarlyExitView::rebuild() {
    if (!capture_)
        return;
    ++generation_;
    if (allowedLayers().empty()) {
        pendingRebuild_ = false;
        dropSimulator();
        slider_->setEnabled(false);
        spin_->setEnabled(false);
        rebuildLayerSliders();
        messageLabel_->setText(tr("Check at least one allowed exit layer."));
        messageLabel_->show();
        updateNumbers();
        updateHistogram();
        fillSweepCharts();
        updateCurrentPoint();
        return;
    }
    startBuild();
}

// No simulator (yet): no grids, sweep or outcome.
void EarlyExitView::dropSimulator() {
    simulator_.reset();
    grid_.clear();
    layerGrids_.clear();
    sweep_.clear();
    builtLayers_.clear();
    outcome_ = {};
}

void EarlyExitView::startBuild() {
    auto b = std::make_shared<Built>();
    b->generation = generation_;
    b->signal = signalName().toStdString();
    b->layers = allowedLayers();
    const int64_t values = capture_->tokens() * int64_t(b->layers.size());
    if (values <= syncLimit_) {
        applyBuilt(build(capture_, result_, b));
        return;
    }
    if (building_) {
        pendingRebuild_ = true;  // started again when the running build returns
        return;
    }
    slider_->setEnabled(false);
    spin_->setEnabled(false);
    layerSliders_->setSlidersEnabled(false);
    messageLabel_->setStyleSheet(palette::textStyle(palette::mutedText(palette())));
    messageLabel_->setText(tr("Building the simulator for %1 tokens × %2 layers…")
                               .arg(formatCount(capture_->tokens()))
                               .arg(b->layers.size()));
    messageLabel_->show();
    building_ = true;
    watcher_->setFuture(QtConcurrent::run(&EarlyExitView::build, capture_, result_, b));
}

void EarlyExitView::applyBuilt(const std::shared_ptr<Built>& b) {
    if (b->generation != generation_)
        return;
    rebuildMs_ = b->ms;
    messageLabel_->setStyleSheet(palette::textStyle(palette::problemText(palette())));
    if (!b->simulator) {
        simulator_.reset();
        grid_.clear();
        layerGrids_.clear();
        sweep_.clear();
        messageLabel_->setText(b->error);
        messageLabel_->show();
        slider_->setEnabled(false);
        spin_->setEnabled(false);
        rebuildLayerSliders();
        fillSweepCharts();
        return;
    }
    messageLabel_->hide();
    const std::vector<int> previousLayers = builtLayers_;
    const std::vector<double> previousThresholds = layerThresholds_;
    simulator_ = b->simulator;
    grid_ = std::move(b->grid);
    layerGrids_ = std::move(b->layerGrids);
    sweep_ = std::move(b->sweep);
    builtLayers_ = b->layers;
    if (!std::isfinite(threshold_))
        threshold_ = grid_[kSliderSteps / 2];  // the median over the allowed layers
    // Per-layer thresholds follow their layers; new layers start at the common threshold.
    if (layerThresholds_.size() != builtLayers_.size() || previousLayers != builtLayers_) {
        std::vector<double> next(builtLayers_.size(), threshold_);
        const std::vector<int>& from = previousLayers.empty() && result_ ? result_->params.layers : previousLayers;
        for (size_t j = 0; j < builtLayers_.size(); ++j)
            for (size_t i = 0; i < from.size() && i < previousThresholds.size(); ++i)
                if (from[i] == builtLayers_[j])
                    next[j] = previousThresholds[i];
        layerThresholds_ = next;
    }
    const double lo = std::min(simulator_->minSignal(), grid_.front());
    const double hi = std::max(simulator_->maxSignal(), grid_.back());
    const double span = std::max(hi - lo, 1e-6);
    updating_ = true;
    spin_->setDecimals(span < 2 ? 4 : span < 50 ? 3 : 2);
    spin_->setSingleStep(span / 200);
    spin_->setRange(lo - span, hi + span);
    updating_ = false;
    slider_->setEnabled(true);
    spin_->setEnabled(true);
    rebuildLayerSliders();
    syncSliders();
    updateDirectionText();
    fillSweepCharts();
    evaluateNow();
    emit simulatorReady();
}

void EarlyExitView::rebuildLayerSliders() {
    if (simulator_)
        layerSliders_->setLayers(builtLayers_, &layerGrids_);
    else
        layerSliders_->setLayers({}, nullptr);
}

// The single slider's position for a threshold (the middle before there is a grid).
int EarlyExitView::nearestPosition(const std::vector<double>& grid, double value) const {
    return grid.empty() ? kSliderSteps / 2 : nearestGridPosition(grid, value);
}

void EarlyExitView::syncSliders() {
    updating_ = true;
    slider_->setValue(nearestPosition(grid_, threshold_));
    if (std::isfinite(threshold_))
        spin_->setValue(threshold_);
    updating_ = false;
    if (layerGrids_.size() == layerThresholds_.size())
        layerSliders_->setThresholds(layerThresholds_);
}

void EarlyExitView::updateDirectionText() {
    if (!simulator_) {
        directionLabel_->clear();
        return;
    }
    const QString s = signalName();
    directionLabel_->setText(simulator_->higherExits()
                                 ? tr("Exit iff %1 ≥ threshold\n◀ more tokens exit · fewer exit ▶").arg(s)
                                 : tr("Exit iff %1 ≤ threshold\n◀ fewer tokens exit · more exit ▶").arg(s));
}

// ---- policy and threshold ---------------------------------------------------------------

void EarlyExitView::showPolicyPanel() {
    singlePanel_->setVisible(policy_ == Policy::Single);
    layerSliders_->setVisible(policy_ == Policy::PerLayer);
}

void EarlyExitView::setPolicy(Policy policy) {
    policy_ = policy;
    updating_ = true;
    policyCombo_->setCurrentIndex(policy == Policy::PerLayer ? 1 : 0);
    updating_ = false;
    showPolicyPanel();
    if (simulator_ && layerThresholds_.size() != builtLayers_.size())
        layerThresholds_.assign(builtLayers_.size(), threshold_);
    syncSliders();
    evaluateNow();
}

void EarlyExitView::setThreshold(double threshold) {
    if (!std::isfinite(threshold))
        return;
    threshold_ = threshold;
    updating_ = true;
    slider_->setValue(nearestPosition(grid_, threshold_));
    spin_->setValue(threshold_);
    updating_ = false;
    evaluateNow();
}

void EarlyExitView::setLayerThreshold(int index, double threshold) {
    if (index < 0 || index >= int(layerThresholds_.size()) || !std::isfinite(threshold))
        return;
    layerThresholds_[size_t(index)] = threshold;
    syncSliders();
    evaluateNow();
}

double EarlyExitView::sliderThreshold(int position) const {
    if (grid_.empty())
        return std::nan("");
    return grid_[size_t(std::clamp(position, 0, kSliderSteps))];
}

double EarlyExitView::layerSliderThreshold(int index, int position) const {
    if (index < 0 || index >= int(layerGrids_.size()))
        return std::nan("");
    return layerGrids_[size_t(index)][size_t(std::clamp(position, 0, kSliderSteps))];
}

void EarlyExitView::evaluateNow() {
    if (!simulator_)
        return;
    QElapsedTimer timer;
    timer.start();
    if (policy_ == Policy::PerLayer && layerThresholds_.size() == builtLayers_.size())
        outcome_ = simulator_->evaluate(layerThresholds_);
    else
        outcome_ = simulator_->evaluate(threshold_);
    evalMs_ = timer.nsecsElapsed() / 1e6;
    updateNumbers();
    updateHistogram();
    updateCurrentPoint();
    replotCharts(true);
    emit outcomeChanged();
}

ls::ExitResult EarlyExitView::currentResult() const {
    ls::ExitResult r;
    if (!capture_)
        return r;
    r.numLayers = capture_->numLayers;
    r.params.signal = signalName().toStdString();
    r.params.layers = simulator_ ? builtLayers_ : (result_ ? result_->params.layers : std::vector<int>{});
    r.params.threshold = threshold_;
    if (policy_ == Policy::PerLayer)
        r.params.layerThresholds = layerThresholds_;
    for (const ls::SweepPoint& p : sweep_)
        r.params.thresholds.push_back(p.threshold);
    r.policy = outcome_;
    if (r.policy.exits.size() != size_t(r.numLayers))
        r.policy.exits.assign(size_t(r.numLayers), 0);
    r.sweep = sweep_;
    return r;
}

// ---- numbers and charts -------------------------------------------------------------------

QString EarlyExitView::numbersText() const {
    if (outcome_.tokens == 0)
        return {};
    const int L = capture_ ? capture_->numLayers : 0;
    return tr("exit early %1 · mean blocks %2 of %3 · compute saved %4 · top-1 agreement %5 · PPL %6 (full %7)")
        .arg(formatPercent(outcome_.exitFraction))
        .arg(outcome_.meanLayers, 0, 'f', 2)
        .arg(L)
        .arg(formatPercent(outcome_.computeSaved), formatPercent(outcome_.top1Agreement), formatPpl(outcome_.ppl), formatPpl(fullPpl_));
}

void EarlyExitView::updateNumbers() {
    numbersBox_->showOutcome(outcome_, capture_ ? capture_->numLayers : 0, fullPpl_);
    const bool any = outcome_.tokens > 0;
    if (simulator_)
        timingLabel_->setText(tr("Evaluated in %1\n(%2 tokens × %3 allowed layers, %4)\nsimulator built in %5 ms")
                                  .arg(evalMs_ < 0.1 ? tr("%1 µs").arg(evalMs_ * 1000, 0, 'f', 1)
                                                     : tr("%1 ms").arg(evalMs_, 0, 'f', evalMs_ < 10 ? 2 : 1))
                                  .arg(formatCount(outcome_.tokens))
                                  .arg(builtLayers_.size())
                                  .arg(policy_ == Policy::PerLayer ? tr("per-layer thresholds: O(N L)")
                                                                   : tr("one threshold: O(L log N)"))
                                  .arg(rebuildMs_, 0, 'f', 0));
    else if (any)
        timingLabel_->setText(tr("The run's own policy;\nthe sliders wait for the simulator."));
}

void EarlyExitView::updateHistogram() {
    const std::vector<int>& allowed = simulator_ ? builtLayers_ : (result_ ? result_->params.layers : builtLayers_);
    histogram_->setOutcome(outcome_, capture_ ? capture_->numLayers : 0, allowed);
}

void EarlyExitView::fillSweepCharts() {
    pareto_->setSweep(sweep_, fullPpl_);
    ppl_->setSweep(sweep_, fullPpl_);
}

void EarlyExitView::updateCurrentPoint() {
    pareto_->setCurrent(outcome_);
    ppl_->setCurrent(outcome_);
}

QString EarlyExitView::barToolTip(int layer) const {
    return ExitLayersChart::barText(outcome_, capture_ ? capture_->numLayers : 0, layer);
}

QString EarlyExitView::sweepToolTip(int index) const {
    return index >= 0 && index < int(sweep_.size()) ? ExitSweepChart::pointText(sweep_[size_t(index)]) : QString();
}

}  // namespace ls::widgets
