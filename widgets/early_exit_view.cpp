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
#include <QLocale>
#include <QMouseEvent>
#include <QPushButton>
#include <QScrollArea>
#include <QSlider>
#include <QSplitter>
#include <QToolTip>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>
#include <algorithm>
#include <cmath>
#include <exception>
#include <qcustomplot.h>

#include "analysis/capture_pass.h"
#include "analysis/losssep.h"
#include "export_menu.h"
#include "plot_style.h"
#include "stats/summary.h"

namespace ls::widgets {

namespace {

const QColor kExitColor(52, 101, 164);      // blue: tokens that exit early
const QColor kFinalColor(136, 138, 133);    // grey: tokens that ran every block
const QColor kSweepColor(136, 138, 133);
const QColor kFrontColor(78, 154, 6);       // green: the Pareto front
const QColor kCurrentColor(204, 0, 0);      // red: the current policy
const QColor kPplColor(117, 80, 123);       // purple

constexpr double kHoverReach = 14;  // pixels

QString percent(double fraction, int decimals = 1) {
    if (!std::isfinite(fraction))
        return QStringLiteral("–");
    return QStringLiteral("%1%").arg(100.0 * fraction, 0, 'f', decimals);
}

QString pplText(double ppl) {
    if (!std::isfinite(ppl))
        return QStringLiteral("–");
    return QString::number(ppl, 'f', ppl < 100 ? 2 : 1);
}

QString count(int64_t n) { return QLocale().toString(qint64(n)); }

QString signalDescription(const QString& name) {
    if (name == "cossim") return QObject::tr("cos(h_{l-1}, h_l): the block changed little");
    if (name == "confidence") return QObject::tr("max softmax(z_l)");
    if (name == "max_z") return QObject::tr("max z_l");
    if (name == "max_minus_mean") return QObject::tr("max z_l − mean z_l");
    if (name == "margin") return QObject::tr("z_(1) − z_(2) of the lens logits");
    if (name == "entropy") return QObject::tr("entropy of softmax(z_l), lower exits");
    return {};
}

QLabel* valueLabel(QWidget* parent) {
    auto* label = new QLabel(QStringLiteral("–"), parent);
    QFont f = label->font();
    f.setBold(true);
    f.setPointSizeF(f.pointSizeF() * 1.15);
    label->setFont(f);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    label->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    return label;
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

EarlyExitView::EarlyExitView(QWidget* parent) : QWidget(parent) {
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

    titleLabel_ = new QLabel(this);
    titleLabel_->setWordWrap(true);
    titleLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    titleLabel_->setText(tr("<b>Early exit.</b> A token exits at the first allowed layer whose signal passes the "
                            "threshold and uses that layer's logit-lens prediction; the others run all L blocks. "
                            "Compute saved = 1 − mean blocks / L; top-1 agreement with the final prediction; PPL of "
                            "the exit layer's logits on the true next tokens."));
    exportButton_ = new ExportButton(this);
    exportButton_->setTables([this] {
        return simulator_ || result_ ? ls::exitTables(currentResult()) : std::vector<ls::Table>{};
    });

    buildControls();
    buildCharts();
    exportButton_->setCharts(charts());
    clear();
}

EarlyExitView::~EarlyExitView() = default;

QList<QPair<QString, QCustomPlot*>> EarlyExitView::charts() const {
    return {{QStringLiteral("exit_histogram"), histPlot_},
            {QStringLiteral("exit_pareto"), paretoPlot_},
            {QStringLiteral("exit_ppl"), pplPlot_}};
}

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

    layerSliderArea_ = new QScrollArea(this);
    layerSliderArea_->setWidgetResizable(true);
    layerSliderArea_->setFrameShape(QFrame::NoFrame);
    layerSliderArea_->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    layerSliderPanel_ = new QWidget(layerSliderArea_);
    new QGridLayout(layerSliderPanel_);
    layerSliderArea_->setWidget(layerSliderPanel_);

    singlePanel_ = single;
    thresholdBox_ = new QGroupBox(tr("Threshold"), this);
    auto* thresholdLayout = new QVBoxLayout(thresholdBox_);
    thresholdLayout->setContentsMargins(6, 4, 6, 4);
    thresholdLayout->addWidget(singlePanel_);
    thresholdLayout->addWidget(layerSliderArea_);
    layerSliderArea_->hide();

    // The numbers of the policy.
    auto* numbersBox = new QGroupBox(tr("This policy"), this);
    numbersBox_ = numbersBox;
    auto* numbers = new QGridLayout(numbersBox);
    numbers->setContentsMargins(6, 4, 6, 4);
    numbers->setVerticalSpacing(2);
    exitFractionValue_ = valueLabel(numbersBox);
    meanLayersValue_ = valueLabel(numbersBox);
    computeSavedValue_ = valueLabel(numbersBox);
    agreementValue_ = valueLabel(numbersBox);
    pplValue_ = valueLabel(numbersBox);
    fullPplValue_ = new QLabel(numbersBox);
    fullPplValue_->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
    fullPplValue_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    const QList<QPair<QString, QLabel*>> rows{{tr("Tokens that exit early"), exitFractionValue_},
                                              {tr("Mean blocks computed"), meanLayersValue_},
                                              {tr("Compute saved"), computeSavedValue_},
                                              {tr("Top-1 agreement"), agreementValue_},
                                              {tr("PPL at the exit layer"), pplValue_},
                                              {tr("Full model PPL"), fullPplValue_}};
    for (int r = 0; r < rows.size(); ++r) {
        numbers->addWidget(new QLabel(rows[r].first, numbersBox), r, 0);
        numbers->addWidget(rows[r].second, r, 1);
    }
    computeSavedValue_->setStyleSheet(QStringLiteral("color: #204a87;"));
    agreementValue_->setStyleSheet(QStringLiteral("color: #4e9a06;"));
    timingLabel_ = new QLabel(this);
    QFont small = timingLabel_->font();
    small.setPointSizeF(small.pointSizeF() * 0.9);
    timingLabel_->setFont(small);
    timingLabel_->setStyleSheet(QStringLiteral("color: #555;"));
    timingLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    messageLabel_ = new QLabel(this);
    messageLabel_->setWordWrap(true);
    messageLabel_->setStyleSheet(QStringLiteral("color: #c00;"));
    messageLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
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
    histPlot_ = makeTitledPlot(this, tr("Where the tokens exit"), QSize(260, 180));
    histPlot_->xAxis->setLabel(tr("exit layer l (blocks computed)"));
    histPlot_->yAxis->setLabel(tr("tokens"));
    histPlot_->xAxis->grid()->setVisible(false);
    histPlot_->xAxis->setSubTicks(false);
    exitBars_ = new QCPBars(histPlot_->xAxis, histPlot_->yAxis);
    exitBars_->setName(tr("exit at an allowed layer"));
    exitBars_->setWidth(0.7);
    exitBars_->setPen(QPen(kExitColor.darker(130), 1));
    exitBars_->setBrush(QColor(kExitColor.red(), kExitColor.green(), kExitColor.blue(), 190));
    finalBars_ = new QCPBars(histPlot_->xAxis, histPlot_->yAxis);
    finalBars_->setName(tr("ran every block"));
    finalBars_->setWidth(0.7);
    finalBars_->setPen(QPen(kFinalColor.darker(130), 1));
    finalBars_->setBrush(QColor(kFinalColor.red(), kFinalColor.green(), kFinalColor.blue(), 190));
    legendBelow(histPlot_);
    connect(histPlot_, &QCustomPlot::mouseMove, this, &EarlyExitView::histogramMouseMove);

    paretoPlot_ = makeTitledPlot(this, tr("Compute saved vs top-1 agreement"), QSize(260, 180));
    paretoPlot_->xAxis->setLabel(tr("compute saved (%)"));
    paretoPlot_->yAxis->setLabel(tr("top-1 agreement (%)"));
    sweepGraph_ = paretoPlot_->addGraph();
    sweepGraph_->setName(tr("sweep of the threshold"));
    sweepGraph_->setLineStyle(QCPGraph::lsNone);
    sweepGraph_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(kSweepColor, 1.2), Qt::white, 6));
    frontGraph_ = paretoPlot_->addGraph();
    frontGraph_->setName(tr("Pareto front"));
    frontGraph_->setPen(QPen(kFrontColor, 2));
    frontGraph_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, kFrontColor, 4));
    currentGraph_ = paretoPlot_->addGraph();
    currentGraph_->setName(tr("this policy"));
    currentGraph_->setLineStyle(QCPGraph::lsNone);
    currentGraph_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(kCurrentColor.darker(150), 1.5),
                                                   kCurrentColor, 13));
    currentLabel_ = new QCPItemText(paretoPlot_);
    currentLabel_->position->setType(QCPItemPosition::ptPlotCoords);
    currentLabel_->setColor(kCurrentColor.darker(120));
    currentLabel_->setClipToAxisRect(true);
    currentLabel_->setVisible(false);
    paretoPlot_->legend->setVisible(true);
    paretoPlot_->legend->setBrush(QColor(255, 255, 255, 220));
    paretoPlot_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignLeft);
    connect(paretoPlot_, &QCustomPlot::mouseMove, this, &EarlyExitView::paretoMouseMove);
    connect(paretoPlot_, &QCustomPlot::mousePress, this, &EarlyExitView::paretoMousePress);

    pplPlot_ = makeTitledPlot(this, tr("PPL vs compute saved"), QSize(260, 180));
    pplPlot_->xAxis->setLabel(tr("compute saved (%)"));
    pplPlot_->yAxis->setLabel(tr("PPL at the exit layer"));
    pplGraph_ = pplPlot_->addGraph();
    pplGraph_->setName(tr("sweep"));
    pplGraph_->setPen(QPen(kPplColor, 1.8));
    pplGraph_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(kPplColor, 1.2), Qt::white, 5));
    pplCurrent_ = pplPlot_->addGraph();
    pplCurrent_->setName(tr("this policy"));
    pplCurrent_->setLineStyle(QCPGraph::lsNone);
    pplCurrent_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(kCurrentColor.darker(150), 1.5),
                                                 kCurrentColor, 13));
    fullPplLine_ = new QCPItemStraightLine(pplPlot_);
    fullPplLine_->setPen(QPen(kFinalColor.darker(130), 1, Qt::DashLine));
    fullPplLine_->setVisible(false);
    fullPplLabel_ = new QCPItemText(pplPlot_);
    fullPplLabel_->position->setTypeX(QCPItemPosition::ptAxisRectRatio);
    fullPplLabel_->position->setTypeY(QCPItemPosition::ptPlotCoords);
    fullPplLabel_->setPositionAlignment(Qt::AlignRight | Qt::AlignBottom);
    fullPplLabel_->setColor(kFinalColor.darker(160));
    fullPplLabel_->setClipToAxisRect(true);
    fullPplLabel_->setVisible(false);
    connect(pplPlot_, &QCustomPlot::mouseMove, this, &EarlyExitView::pplMouseMove);

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
    bottom->addWidget(paretoPlot_);
    bottom->addWidget(pplPlot_);
    bottom->setChildrenCollapsible(false);
    auto* chartsSplit = new QSplitter(Qt::Vertical, this);
    chartsSplit->addWidget(histPlot_);
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

    auto* top = new QHBoxLayout;
    top->setContentsMargins(6, 4, 6, 0);
    top->addWidget(titleLabel_, 1);
    top->addWidget(exportButton_, 0, Qt::AlignTop);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 4);
    layout->addLayout(top);
    layout->addWidget(body, 1);
}

// ---- data -----------------------------------------------------------------------------------

void EarlyExitView::setData(std::shared_ptr<const ls::CaptureResult> capture,
                            std::shared_ptr<const ls::ExitResult> result) {
    capture_ = std::move(capture);
    result_ = capture_ ? std::move(result) : nullptr;
    ++generation_;
    pendingRebuild_ = false;
    simulator_.reset();
    grid_.clear();
    layerGrids_.clear();
    sweep_.clear();
    builtLayers_.clear();
    outcome_ = {};
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
    exportButton_->setEnabled(any);
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
        for (QCustomPlot* plot : {histPlot_, paretoPlot_, pplPlot_})
            plot->replot();
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
        simulator_.reset();
        grid_.clear();
        layerGrids_.clear();
        sweep_.clear();
        builtLayers_.clear();
        outcome_ = {};
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
    for (QSlider* s : layerSliders_)
        s->setEnabled(false);
    messageLabel_->setStyleSheet(QStringLiteral("color: #555;"));
    messageLabel_->setText(tr("Building the simulator for %1 tokens × %2 layers…")
                               .arg(count(capture_->tokens()))
                               .arg(b->layers.size()));
    messageLabel_->show();
    building_ = true;
    watcher_->setFuture(QtConcurrent::run(&EarlyExitView::build, capture_, result_, b));
}

void EarlyExitView::applyBuilt(const std::shared_ptr<Built>& b) {
    if (b->generation != generation_)
        return;
    rebuildMs_ = b->ms;
    messageLabel_->setStyleSheet(QStringLiteral("color: #c00;"));
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
    for (QSlider* s : layerSliders_)
        s->deleteLater();
    layerSliders_.clear();
    layerSliderValues_.clear();
    auto* grid = static_cast<QGridLayout*>(layerSliderPanel_->layout());
    while (QLayoutItem* item = grid->takeAt(0)) {
        if (item->widget()) {
            item->widget()->hide();
            item->widget()->deleteLater();
        }
        delete item;
    }
    if (!simulator_)
        return;
    grid->setContentsMargins(0, 0, 0, 0);
    grid->setVerticalSpacing(2);
    for (size_t j = 0; j < builtLayers_.size(); ++j) {
        auto* name = new QLabel(tr("l = %1").arg(builtLayers_[j]), layerSliderPanel_);
        auto* slider = new QSlider(Qt::Horizontal, layerSliderPanel_);
        slider->setRange(0, kSliderSteps);
        slider->setToolTip(tr("Threshold at layer %1 (steps: quantiles of the signal at that layer)").arg(builtLayers_[j]));
        auto* value = new QLabel(layerSliderPanel_);
        value->setMinimumWidth(fontMetrics().horizontalAdvance(QStringLiteral("−00.0000")));
        value->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
        grid->addWidget(name, int(j), 0);
        grid->addWidget(slider, int(j), 1);
        grid->addWidget(value, int(j), 2);
        const int index = int(j);
        connect(slider, &QSlider::valueChanged, this, [this, index](int v) {
            if (updating_ || index >= int(layerGrids_.size()) || index >= int(layerThresholds_.size()))
                return;
            layerThresholds_[size_t(index)] = layerGrids_[size_t(index)][size_t(std::clamp(v, 0, kSliderSteps))];
            layerSliderValues_[index]->setText(QString::number(layerThresholds_[size_t(index)], 'g', 5));
            evaluateNow();
        });
        layerSliders_ << slider;
        layerSliderValues_ << value;
    }
    grid->setColumnStretch(1, 1);
    grid->setRowStretch(int(builtLayers_.size()), 1);
}

int EarlyExitView::nearestPosition(const std::vector<double>& grid, double value) const {
    if (grid.empty() || !std::isfinite(value))
        return kSliderSteps / 2;
    const auto it = std::lower_bound(grid.begin(), grid.end(), value);
    if (it == grid.end())
        return int(grid.size()) - 1;
    int i = int(it - grid.begin());
    if (i > 0 && std::abs(grid[size_t(i) - 1] - value) <= std::abs(grid[size_t(i)] - value))
        --i;
    return i;
}

void EarlyExitView::syncSliders() {
    updating_ = true;
    slider_->setValue(nearestPosition(grid_, threshold_));
    if (std::isfinite(threshold_))
        spin_->setValue(threshold_);
    for (int j = 0; j < layerSliders_.size() && j < int(layerGrids_.size()) && j < int(layerThresholds_.size()); ++j) {
        layerSliders_[j]->setValue(nearestPosition(layerGrids_[size_t(j)], layerThresholds_[size_t(j)]));
        layerSliderValues_[j]->setText(QString::number(layerThresholds_[size_t(j)], 'g', 5));
    }
    updating_ = false;
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
    layerSliderArea_->setVisible(policy_ == Policy::PerLayer);
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
    for (QCustomPlot* plot : {histPlot_, paretoPlot_, pplPlot_})
        plot->replot(QCustomPlot::rpQueuedReplot);
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
        .arg(percent(outcome_.exitFraction))
        .arg(outcome_.meanLayers, 0, 'f', 2)
        .arg(L)
        .arg(percent(outcome_.computeSaved), percent(outcome_.top1Agreement), pplText(outcome_.ppl), pplText(fullPpl_));
}

void EarlyExitView::updateNumbers() {
    const bool any = outcome_.tokens > 0;
    const int L = capture_ ? capture_->numLayers : 0;
    exitFractionValue_->setText(any ? percent(outcome_.exitFraction) : QStringLiteral("–"));
    meanLayersValue_->setText(any ? tr("%1 of %2").arg(outcome_.meanLayers, 0, 'f', 2).arg(L) : QStringLiteral("–"));
    computeSavedValue_->setText(any ? percent(outcome_.computeSaved) : QStringLiteral("–"));
    agreementValue_->setText(any ? percent(outcome_.top1Agreement) : QStringLiteral("–"));
    pplValue_->setText(any ? pplText(outcome_.ppl) : QStringLiteral("–"));
    if (any && std::isfinite(fullPpl_) && fullPpl_ > 0)
        fullPplValue_->setText(tr("%1 (exit: %2%3%)")
                                   .arg(pplText(fullPpl_), outcome_.ppl >= fullPpl_ ? QStringLiteral("+") : QStringLiteral("−"))
                                   .arg(std::abs(outcome_.ppl / fullPpl_ - 1) * 100, 0, 'f', 1));
    else
        fullPplValue_->setText(std::isfinite(fullPpl_) ? pplText(fullPpl_) : QStringLiteral("–"));
    if (simulator_)
        timingLabel_->setText(tr("Evaluated in %1\n(%2 tokens × %3 allowed layers, %4)\nsimulator built in %5 ms")
                                  .arg(evalMs_ < 0.1 ? tr("%1 µs").arg(evalMs_ * 1000, 0, 'f', 1)
                                                     : tr("%1 ms").arg(evalMs_, 0, 'f', evalMs_ < 10 ? 2 : 1))
                                  .arg(count(outcome_.tokens))
                                  .arg(builtLayers_.size())
                                  .arg(policy_ == Policy::PerLayer ? tr("per-layer thresholds: O(N L)")
                                                                   : tr("one threshold: O(L log N)"))
                                  .arg(rebuildMs_, 0, 'f', 0));
    else if (any)
        timingLabel_->setText(tr("The run's own policy;\nthe sliders wait for the simulator."));
}

void EarlyExitView::updateHistogram() {
    exitBars_->data()->clear();
    finalBars_->data()->clear();
    const int L = capture_ ? capture_->numLayers : 0;
    if (L < 1 || outcome_.exits.size() != size_t(L)) {
        histPlot_->xAxis->setRange(0.4, std::max(L, 1) + 0.6);
        histPlot_->yAxis->setRange(0, 1);
        return;
    }
    const std::vector<int>& allowed = simulator_ ? builtLayers_ : (result_ ? result_->params.layers : builtLayers_);
    int64_t top = 1;
    for (int l = 1; l < L; ++l)
        if (std::find(allowed.begin(), allowed.end(), l) != allowed.end() || outcome_.exits[size_t(l - 1)] > 0) {
            exitBars_->addData(l, double(outcome_.exits[size_t(l - 1)]));
            top = std::max(top, outcome_.exits[size_t(l - 1)]);
        }
    finalBars_->addData(L, double(outcome_.exits[size_t(L - 1)]));
    top = std::max(top, outcome_.exits[size_t(L - 1)]);
    histPlot_->xAxis->setRange(0.4, L + 0.6);
    histPlot_->yAxis->setRange(0, double(top) * 1.12);
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    const int step = L <= 16 ? 1 : L <= 40 ? 2 : 5;
    for (int l = 1; l <= L; ++l)
        if (l == 1 || l == L || l % step == 0)
            ticker->addTick(l, l == L ? tr("%1 (all)").arg(L) : QString::number(l));
    histPlot_->xAxis->setTicker(ticker);
}

void EarlyExitView::fillSweepCharts() {
    sweepGraph_->data()->clear();
    frontGraph_->data()->clear();
    pplGraph_->data()->clear();
    fullPplLine_->setVisible(false);
    fullPplLabel_->setVisible(false);
    if (sweep_.empty()) {
        paretoPlot_->xAxis->setRange(0, 100);
        paretoPlot_->yAxis->setRange(0, 100);
        pplPlot_->xAxis->setRange(0, 100);
        pplPlot_->yAxis->setRange(0, 10);
        return;
    }
    QVector<double> xs, ys, fx, fy, px, pp;
    double xmax = 1, ymin = 100, pmin = INFINITY, pmax = 0;
    for (const ls::SweepPoint& p : sweep_) {
        const double x = 100 * p.outcome.computeSaved, y = 100 * p.outcome.top1Agreement;
        xs << x;
        ys << y;
        if (p.pareto) {
            fx << x;
            fy << y;
        }
        xmax = std::max(xmax, x);
        ymin = std::min(ymin, y);
        if (std::isfinite(p.outcome.ppl) && p.outcome.ppl > 0) {
            px << x;
            pp << p.outcome.ppl;
            pmin = std::min(pmin, p.outcome.ppl);
            pmax = std::max(pmax, p.outcome.ppl);
        }
    }
    sweepGraph_->setData(xs, ys);
    frontGraph_->setData(fx, fy);
    pplGraph_->setData(px, pp);
    const double xhi = std::min(100.0, xmax * 1.08 + 1);
    paretoPlot_->xAxis->setRange(0, xhi);
    paretoPlot_->yAxis->setRange(std::max(0.0, ymin - 0.08 * (100 - ymin) - 1), 101);
    pplPlot_->xAxis->setRange(0, xhi);
    if (std::isfinite(fullPpl_) && fullPpl_ > 0) {
        pmin = std::min(pmin, fullPpl_);
        pmax = std::max(pmax, fullPpl_);
        fullPplLine_->point1->setCoords(0, fullPpl_);
        fullPplLine_->point2->setCoords(1, fullPpl_);
        fullPplLine_->setVisible(true);
        fullPplLabel_->position->setCoords(0.98, fullPpl_);
        fullPplLabel_->setText(tr("full model %1").arg(pplText(fullPpl_)));
        fullPplLabel_->setVisible(true);
    }
    if (std::isfinite(pmin) && pmax > 0) {
        // A log axis when the PPLs span more than a factor of 20 (early layers can be far worse).
        const bool log = pmax / std::max(pmin, 1e-12) > 20;
        pplPlot_->yAxis->setScaleType(log ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
        if (log) {
            pplPlot_->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
            pplPlot_->yAxis->setRange(pmin / 1.3, pmax * 1.3);
        } else {
            pplPlot_->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
            const double pad = std::max(0.06 * (pmax - pmin), 0.02 * pmax);
            pplPlot_->yAxis->setRange(std::max(0.0, pmin - pad), pmax + pad);
        }
        pplPlot_->yAxis->setLabel(log ? tr("PPL at the exit layer (log)") : tr("PPL at the exit layer"));
    }
}

void EarlyExitView::updateCurrentPoint() {
    currentGraph_->data()->clear();
    pplCurrent_->data()->clear();
    currentLabel_->setVisible(false);
    if (outcome_.tokens == 0)
        return;
    const double x = 100 * outcome_.computeSaved, y = 100 * outcome_.top1Agreement;
    currentGraph_->addData(x, y);
    if (std::isfinite(outcome_.ppl) && outcome_.ppl > 0)
        pplCurrent_->addData(x, outcome_.ppl);
    currentLabel_->position->setCoords(x, y);
    const bool right = x < 0.45 * paretoPlot_->xAxis->range().upper;
    currentLabel_->setPositionAlignment((right ? Qt::AlignLeft : Qt::AlignRight) | Qt::AlignBottom);
    currentLabel_->setPadding(right ? QMargins(9, 0, 0, 6) : QMargins(0, 0, 9, 6));
    currentLabel_->setText(tr("saved %1 · agree %2").arg(percent(outcome_.computeSaved), percent(outcome_.top1Agreement)));
    currentLabel_->setVisible(true);
}

// ---- hover --------------------------------------------------------------------------------

QString EarlyExitView::barToolTip(int layer) const {
    const int L = capture_ ? capture_->numLayers : 0;
    if (layer < 1 || layer > L || outcome_.exits.size() != size_t(L))
        return {};
    const int64_t n = outcome_.exits[size_t(layer - 1)];
    const double f = outcome_.tokens ? double(n) / double(outcome_.tokens) : 0;
    if (layer == L)
        return tr("Ran all %1 blocks: %2 tokens (%3)").arg(L).arg(count(n), percent(f, 2));
    return tr("Exit after block %1: %2 tokens (%3)").arg(layer).arg(count(n), percent(f, 2));
}

QString EarlyExitView::sweepToolTip(int index) const {
    if (index < 0 || index >= int(sweep_.size()))
        return {};
    const ls::SweepPoint& p = sweep_[size_t(index)];
    return tr("threshold %1%2\ncompute saved %3 · mean blocks %4\ntop-1 agreement %5 · PPL %6\n%7 of tokens exit early")
        .arg(QString::number(p.threshold, 'g', 6), p.pareto ? tr(" (Pareto front)") : QString(),
             percent(p.outcome.computeSaved))
        .arg(p.outcome.meanLayers, 0, 'f', 2)
        .arg(percent(p.outcome.top1Agreement), pplText(p.outcome.ppl), percent(p.outcome.exitFraction));
}

int EarlyExitView::sweepIndexAt(QCustomPlot* plot, const QPointF& pos, bool ppl) const {
    int best = -1;
    double bestDistance = kHoverReach;
    for (int i = 0; i < int(sweep_.size()); ++i) {
        const ls::ExitOutcome& o = sweep_[size_t(i)].outcome;
        const double x = plot->xAxis->coordToPixel(100 * o.computeSaved);
        const double y = plot->yAxis->coordToPixel(ppl ? o.ppl : 100 * o.top1Agreement);
        const double d = std::hypot(x - pos.x(), y - pos.y());
        if (d < bestDistance) {
            bestDistance = d;
            best = i;
        }
    }
    return best;
}

void EarlyExitView::paretoMouseMove(QMouseEvent* event) {
    const int i = sweepIndexAt(paretoPlot_, event->position(), false);
    if (i < 0)
        QToolTip::hideText();
    else
        QToolTip::showText(event->globalPosition().toPoint(), sweepToolTip(i) + tr("\n(click: use this threshold)"),
                           paretoPlot_);
}

void EarlyExitView::paretoMousePress(QMouseEvent* event) {
    if (event->button() != Qt::LeftButton || !simulator_)
        return;
    const int i = sweepIndexAt(paretoPlot_, event->position(), false);
    if (i < 0)
        return;
    if (policy_ != Policy::Single)
        setPolicy(Policy::Single);
    setThreshold(sweep_[size_t(i)].threshold);
}

void EarlyExitView::pplMouseMove(QMouseEvent* event) {
    const int i = sweepIndexAt(pplPlot_, event->position(), true);
    if (i < 0)
        QToolTip::hideText();
    else
        QToolTip::showText(event->globalPosition().toPoint(), sweepToolTip(i), pplPlot_);
}

void EarlyExitView::histogramMouseMove(QMouseEvent* event) {
    if (!histPlot_->axisRect()->rect().contains(event->position().toPoint())) {
        QToolTip::hideText();
        return;
    }
    const int layer = int(std::lround(histPlot_->xAxis->pixelToCoord(event->position().x())));
    const QString text = barToolTip(layer);
    if (text.isEmpty())
        QToolTip::hideText();
    else
        QToolTip::showText(event->globalPosition().toPoint(), text, histPlot_);
}

}  // namespace ls::widgets
