#include "losssep_view.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QMouseEvent>
#include <QResizeEvent>
#include <QScrollBar>
#include <QSplitter>
#include <QTabWidget>
#include <QTableWidget>
#include <QToolTip>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <qcustomplot.h>

#include "export_menu.h"
#include "plot_style.h"

namespace ls::widgets {

namespace {

const QColor kEasyColor(78, 154, 6);        // green: easy tokens
const QColor kHardColor(206, 92, 0);        // orange: hard tokens
const QColor kSplitColor(46, 52, 54);       // the Oracle split (median)
const QColor kMetricColor(52, 101, 164);    // blue: inference-time metrics
const QColor kProbeColor(206, 92, 0);       // orange: learned probes
const QColor kAnswerColor(117, 80, 123);    // purple: needs the answer
const QColor kOracleColor(46, 52, 54);      // dark grey: the Oracle

QString fixed(double v, int decimals) {
    if (!std::isfinite(v))
        return QStringLiteral("–");
    return QString::number(v, 'f', decimals);
}
QString lossText(double v) { return fixed(v, 2); }
QString corrText(double v) { return fixed(v, 3); }
QString percentText(double v, int decimals = 1) {  // v in percent already
    if (!std::isfinite(v))
        return QStringLiteral("–");
    return QStringLiteral("%1%").arg(v, 0, 'f', decimals);
}
QString ratioText(double ratio) { return percentText(100.0 * ratio); }
QString count(int64_t n) { return QLocale().toString(qint64(n)); }
QString full(double v) { return std::isfinite(v) ? QString::number(v, 'g', 9) : QStringLiteral("nan"); }

QString architectureLabel(const std::string& a) {
    if (a == "linear") return QStringLiteral("Linear");
    if (a == "mlp2_128") return QStringLiteral("MLP-2 (128)");
    if (a == "mlp3_128") return QStringLiteral("MLP-3 (128)");
    if (a == "mlp2_256") return QStringLiteral("MLP-2-wide (256)");
    return QString::fromStdString(a);
}

bool isProbe(const std::string& method) { return method.rfind("probe:", 0) == 0 || method.rfind("probe_", 0) == 0; }

// "probe:mlp2_128:regression" or "probe_mlp2_128_regression" -> {"mlp2_128", "regression"};
// false if not a probe.
bool splitProbe(const std::string& method, std::string* arch, std::string* task) {
    if (!isProbe(method))
        return false;
    const std::string rest = method.substr(6);
    const size_t sep = method[5] == ':' ? rest.find(':') : rest.rfind('_');
    *arch = rest.substr(0, sep);
    *task = sep == std::string::npos ? std::string() : rest.substr(sep + 1);
    return true;
}

QColor methodColor(const std::string& method) {
    if (method == "oracle") return kOracleColor;
    if (method == "correct_prob") return kAnswerColor;
    if (isProbe(method)) return kProbeColor;
    return kMetricColor;
}

// The short axis label of a bar.
QString shortLabel(const std::string& method) {
    std::string arch, task;
    if (splitProbe(method, &arch, &task))
        return QStringLiteral("%1 · %2").arg(architectureLabel(arch),
                                              task == "regression" ? QStringLiteral("reg")
                                              : task == "classification" ? QStringLiteral("cls")
                                                                         : QString::fromStdString(task));
    if (method == "oracle") return QStringLiteral("Oracle");
    if (method == "correct_prob") return QStringLiteral("p(correct)");
    return QString::fromStdString(method);
}

QTableWidgetItem* cell(const QString& text, const QString& tip = {},
                       Qt::Alignment align = Qt::AlignRight | Qt::AlignVCenter) {
    auto* item = new QTableWidgetItem(text);
    item->setTextAlignment(align);
    item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
    if (!tip.isEmpty())
        item->setToolTip(tip);
    return item;
}
QTableWidgetItem* textCell(const QString& text, const QString& tip = {}) {
    return cell(text, tip, Qt::AlignLeft | Qt::AlignVCenter);
}
QTableWidgetItem* numberCell(const QString& text, double exact) { return cell(text, full(exact)); }

QTableWidget* makeTable(QWidget* parent, const QStringList& headers, const QStringList& tips = {}) {
    auto* table = new QTableWidget(0, headers.size(), parent);
    table->setHorizontalHeaderLabels(headers);
    for (int c = 0; c < tips.size() && c < headers.size(); ++c)
        if (!tips[c].isEmpty())
            table->horizontalHeaderItem(c)->setToolTip(tips[c]);
    table->verticalHeader()->setVisible(false);
    table->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);
    table->verticalHeader()->setDefaultSectionSize(table->fontMetrics().height() + 6);
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table->setSelectionBehavior(QAbstractItemView::SelectRows);
    table->setSelectionMode(QAbstractItemView::SingleSelection);
    table->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    table->setWordWrap(false);
    return table;
}

// Each column as wide as its contents plus an equal share of the spare width; when the
// contents alone are too wide, as wide as the contents (and the table scrolls).
// available: the viewport's width (during a resize the viewport has not followed yet).
void fitColumns(QTableWidget* table, int available = -1) {
    if (available < 0)
        available = table->viewport()->width();
    QHeaderView* header = table->horizontalHeader();
    std::vector<int> need(size_t(table->columnCount()), 0);
    int needed = 0, shown = 0;
    for (int c = 0; c < table->columnCount(); ++c) {
        if (table->isColumnHidden(c))
            continue;
        need[size_t(c)] = std::max(static_cast<QAbstractItemView*>(table)->sizeHintForColumn(c), header->sectionSizeHint(c));
        needed += need[size_t(c)];
        ++shown;
    }
    header->setSectionResizeMode(QHeaderView::Interactive);
    const int spare = shown > 0 && needed < available ? (available - needed) / shown : 0;
    for (int c = 0; c < table->columnCount(); ++c)
        if (!table->isColumnHidden(c))
            header->resizeSection(c, need[size_t(c)] + spare);
}

// A short table: exactly as high as its rows (the page's stretch takes the rest).
void fitHeight(QTableWidget* table) {
    const int h = table->horizontalHeader()->sizeHint().height() +
                  table->verticalHeader()->defaultSectionSize() * table->rowCount() + 2 * table->frameWidth() + 4;
    table->setMaximumHeight(h);
}

QWidget* page(QWidget* parent, QLabel* caption, const QList<QWidget*>& widgets, bool stretch = true) {
    auto* w = new QWidget(parent);
    auto* layout = new QVBoxLayout(w);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->setSpacing(4);
    if (caption)
        layout->addWidget(caption);
    for (QWidget* widget : widgets)
        layout->addWidget(widget, stretch ? 1 : 0);
    if (!stretch)
        layout->addStretch(1);
    return w;
}

QLabel* captionLabel(QWidget* parent, const QString& text = {}) {
    auto* label = new QLabel(text, parent);
    label->setWordWrap(true);
    label->setTextInteractionFlags(Qt::TextSelectableByMouse);
    return label;
}

// White at 0, red below, greens to dark blue up to the top: any separation at all shows.
QCPColorGradient ratioGradient(double lo, double hi) {
    QCPColorGradient g;
    g.clearColorStops();
    const double span = std::max(hi - lo, 1e-9);
    const double zero = std::clamp((0.0 - lo) / span, 0.0, 1.0);
    if (zero > 0)
        g.setColorStopAt(0.0, QColor(204, 0, 0));
    g.setColorStopAt(zero, QColor(255, 255, 255));
    auto at = [&](double f) { return zero + (1.0 - zero) * f; };
    g.setColorStopAt(at(0.15), QColor(253, 231, 37));
    g.setColorStopAt(at(0.4), QColor(94, 201, 98));
    g.setColorStopAt(at(0.7), QColor(33, 145, 140));
    g.setColorStopAt(1.0, QColor(59, 82, 139));
    g.setLevelCount(300);
    g.setNanHandling(QCPColorGradient::nhNanColor);
    g.setNanColor(QColor(220, 220, 220));
    return g;
}

QCPItemText* makeText(QCustomPlot* plot, const QColor& color) {
    auto* text = new QCPItemText(plot);
    text->position->setTypeX(QCPItemPosition::ptPlotCoords);
    text->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
    text->setColor(color);
    text->setClipToAxisRect(true);
    text->setVisible(false);
    return text;
}

}  // namespace

QString LossSepView::methodLabel(const std::string& method) {
    std::string arch, task;
    if (splitProbe(method, &arch, &task)) {
        QString t = QString::fromStdString(task);
        if (task == "classification")
            t = tr("classification (easy iff loss ≤ threshold)");
        return tr("probe %1 · %2").arg(architectureLabel(arch), t);
    }
    if (method == "oracle") return tr("Oracle (actual loss)");
    if (method == "correct_prob") return tr("p(correct token) — needs the answer");
    if (method == "confidence") return tr("confidence = max softmax(z)");
    if (method == "max_z") return tr("max_z = max z");
    if (method == "max_minus_mean") return tr("max_minus_mean = max z − mean z");
    if (method == "margin") return tr("margin = z(1) − z(2)");
    if (method == "entropy") return tr("entropy of softmax(z) (lower = easier)");
    return QString::fromStdString(method);
}

LossSepView::LossSepView(QWidget* parent) : QWidget(parent) {
    titleLabel_ = captionLabel(this, tr("<b>Loss separation.</b> A score splits the tokens at its median into easy "
                                        "and hard (higher = easier; entropy: lower = easier). Loss Diff = mean "
                                        "loss(hard) − mean loss(easy); Oracle ratio = Loss Diff(score) / Loss "
                                        "Diff(Oracle), the Oracle splitting at the median of the loss itself. "
                                        "Metrics from the logit lens z_l = W norm_f(h_l)."));
    summaryLabel_ = captionLabel(this);
    exportButton_ = new ExportButton(this);
    exportButton_->setTables([this] { return result_ ? ls::lossSepTables(*result_) : std::vector<ls::Table>{}; });

    buildHistogram();
    buildRatioChart();
    buildGrid();
    exportButton_->setCharts(charts());

    // ---- tables, one tab each
    tableTabs_ = new QTabWidget(this);
    tableTabs_->setDocumentMode(true);
    comparisonCaption_ = captionLabel(this);
    comparisonTable_ = makeTable(this, {tr("Method"), tr("Layer"), tr("Pearson r"), tr("Easy %"), tr("Easy loss"),
                                        tr("Hard loss"), tr("Loss Diff"), tr("Oracle ratio"), tr("Note")},
                                 {tr("The score (metrics through the logit lens at the final layer)"),
                                  tr("The lens layer (metrics) or the hidden states' layer (probes)"),
                                  tr("Pearson r of the score with the loss (probes: of the prediction)"),
                                  tr("Share of the tokens on the easy side of the split"),
                                  tr("Mean loss of the easy tokens (nats)"), tr("Mean loss of the hard tokens (nats)"),
                                  tr("Hard loss − easy loss"), tr("Loss Diff / the Oracle's Loss Diff"), QString()});
    thresholdCaption_ = captionLabel(this);
    thresholdTable_ = makeTable(this, {tr("Method"), tr("Threshold"), tr("Easy%"), tr("Hard%"), tr("Easy Loss"),
                                       tr("Hard Loss"), tr("Diff"), tr("Oracle ratio")},
                                {tr("Easy iff the score ≥ the threshold"), tr("A fixed threshold, or the median"),
                                 QString(), QString(), QString(), QString(), tr("Hard loss − easy loss"),
                                 tr("Diff / the Oracle's Loss Diff")});
    subsetCaption_ = captionLabel(this);
    QStringList subsetHeaders{tr("conf ≥"), tr("N tokens"), tr("%"), tr("mean loss")};
    for (const ls::MetricInfo& m : ls::separationMetrics())
        if (std::string(m.name) != "correct_prob")
            subsetHeaders << QString::fromLatin1(m.name);
    subsetTable_ = makeTable(this, subsetHeaders,
                             {tr("Tokens with max softmax(z_L) ≥ this"), QString(), tr("Share of all tokens"),
                              tr("Mean loss inside the subset")});
    for (int c = 4; c < subsetHeaders.size(); ++c)
        subsetTable_->horizontalHeaderItem(c)->setToolTip(
            tr("Pearson r of %1 with the loss inside the subset").arg(subsetHeaders[c]));

    probesCaption_ = captionLabel(this);
    probeRegression_ = makeTable(this, {tr("Model"), tr("MSE"), tr("Corr"), tr("R²"), tr("Easy loss"), tr("Hard loss"),
                                        tr("Loss Diff"), tr("Oracle ratio"), tr("Epochs")},
                                 {tr("Regression on the loss (MSE), test tokens"), QString(),
                                  tr("Pearson r of the predicted with the actual loss"), QString(),
                                  tr("Split at the median of the predicted loss")});
    probeClassification_ = makeTable(this, {tr("Model"), tr("Accuracy"), tr("F1"), tr("F1 (hard)"), tr("Easy Loss"),
                                            tr("Hard Loss"), tr("Loss Diff"), tr("Oracle ratio"), tr("Epochs")},
                                     {tr("Classification: easy iff loss ≤ the threshold (BCE), test tokens"),
                                      QString(), tr("F1 of the easy class"), tr("F1 of the hard class"),
                                      tr("Easy = p(easy) ≥ 0.5")});
    probeMetric_ = makeTable(this, {tr("Metric"), tr("Model"), tr("Corr(pred, actual)"), tr("MSE"), tr("R²"),
                                    tr("Epochs")},
                             {tr("The inference-time metric the probe predicts from h")});
    auto* regCaption = captionLabel(this, tr("<b>Regression</b> (predict the loss)"));
    auto* clsCaption = captionLabel(this, tr("<b>Classification</b> (easy iff loss ≤ threshold)"));
    auto* metCaption = captionLabel(this, tr("<b>Metric probes</b> (predict each metric from h)"));
    {
        probesPage_ = new QWidget(this);
        auto* layout = new QVBoxLayout(probesPage_);
        layout->setContentsMargins(4, 4, 4, 4);
        layout->setSpacing(3);
        layout->addWidget(probesCaption_);
        auto* row = new QHBoxLayout;
        auto* left = new QVBoxLayout;
        left->addWidget(regCaption);
        left->addWidget(probeRegression_);
        left->addWidget(clsCaption);
        left->addWidget(probeClassification_);
        left->addStretch(1);
        auto* right = new QVBoxLayout;
        right->addWidget(metCaption);
        right->addWidget(probeMetric_);
        right->addStretch(1);
        row->addLayout(left, 3);
        row->addLayout(right, 2);
        layout->addLayout(row, 1);
    }
    lowRankTable_ = makeTable(this, {tr("Rank"), tr("Metric"), tr("Corr with exact"), tr("Pearson r"), tr("Easy loss"),
                                     tr("Hard loss"), tr("Loss Diff"), tr("Oracle ratio")},
                              {tr("r: singular values of the output head kept (W_r)"),
                               tr("The metric from z = W_r norm_f(h_L)"),
                               tr("Pearson r of the rank-r metric with the exact one"),
                               tr("Pearson r of the rank-r metric with the loss")});
    distributionTable_ = makeTable(this, {tr("Statistic"), tr("Value")});

    comparisonPage_ = page(this, comparisonCaption_, {comparisonTable_});
    thresholdPage_ = page(this, thresholdCaption_, {thresholdTable_});
    subsetPage_ = page(this, subsetCaption_, {subsetTable_});
    lowRankPage_ = page(this, captionLabel(this, tr("<b>Low-rank metrics</b>: the metrics from the rank-r head "
                                                     "W_r at the final layer, their correlation with the exact "
                                                     "metric and their Easy/Hard separation")),
                        {lowRankTable_});
    distributionPage_ = page(this, captionLabel(this, tr("<b>Loss distribution</b> (std with ddof 0, quantiles "
                                                          "linear as numpy) and the Oracle split")),
                             {distributionTable_});
    tableTabs_->addTab(comparisonPage_, tr("Final comparison"));
    tableTabs_->addTab(thresholdPage_, tr("Threshold table"));
    tableTabs_->addTab(subsetPage_, tr("High-confidence subsets"));
    tableTabs_->addTab(probesPage_, tr("Probes"));
    tableTabs_->addTab(lowRankPage_, tr("Low-rank metrics"));
    tableTabs_->addTab(distributionPage_, tr("Loss distribution"));
    for (QTableWidget* table : {comparisonTable_, thresholdTable_, subsetTable_, probeRegression_,
                                probeClassification_, probeMetric_, lowRankTable_, distributionTable_})
        table->installEventFilter(this);

    // ---- layout: the three charts over the tables
    auto* charts = new QSplitter(Qt::Horizontal, this);
    charts->addWidget(histPlot_);
    charts->addWidget(ratioPlot_);
    charts->addWidget(gridPlot_);
    charts->setStretchFactor(0, 1);
    charts->setStretchFactor(1, 1);
    charts->setStretchFactor(2, 1);
    charts->setSizes({310, 350, 370});  // proportions until shown
    charts->setChildrenCollapsible(false);

    auto* splitter = new QSplitter(Qt::Vertical, this);
    splitter->addWidget(charts);
    splitter->addWidget(tableTabs_);
    splitter->setStretchFactor(0, 11);
    splitter->setStretchFactor(1, 9);
    splitter->setSizes({560, 440});  // proportions until shown: the charts get more than their hint
    splitter->setChildrenCollapsible(false);

    auto* top = new QHBoxLayout;
    top->setContentsMargins(6, 4, 6, 0);
    auto* texts = new QVBoxLayout;
    texts->addWidget(titleLabel_);
    texts->addWidget(summaryLabel_);
    top->addLayout(texts, 1);
    top->addWidget(exportButton_, 0, Qt::AlignTop);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 4);
    layout->addLayout(top);
    layout->addWidget(splitter, 1);

    clear();
}

QList<QPair<QString, QCustomPlot*>> LossSepView::charts() const {
    return {{QStringLiteral("losssep_loss_histogram"), histPlot_},
            {QStringLiteral("losssep_oracle_ratio"), ratioPlot_},
            {QStringLiteral("losssep_layer_grid"), gridPlot_}};
}

// ---- charts ---------------------------------------------------------------------------------

void LossSepView::buildHistogram() {
    histPlot_ = makeTitledPlot(this, tr("Per-token loss and the Oracle split"), QSize(260, 200));
    histPlot_->xAxis->setLabel(tr("loss (nats)"));
    histPlot_->yAxis->setLabel(tr("tokens"));
    auto makeBars = [this](const QColor& color, const QString& name) {
        auto* bars = new QCPBars(histPlot_->xAxis, histPlot_->yAxis);
        bars->setName(name);
        bars->setWidthType(QCPBars::wtPlotCoords);
        bars->setPen(QPen(color.darker(130), 1));
        bars->setBrush(QColor(color.red(), color.green(), color.blue(), 160));
        return bars;
    };
    histBars_ = makeBars(kEasyColor, tr("easy (loss ≤ median)"));
    histHardBars_ = makeBars(kHardColor, tr("hard"));
    auto makeLine = [this](const QColor& color, Qt::PenStyle style) {
        auto* line = new QCPItemStraightLine(histPlot_);
        line->setPen(QPen(color, 2, style));
        line->setVisible(false);
        return line;
    };
    medianLine_ = makeLine(kSplitColor, Qt::DashLine);
    easyLine_ = makeLine(kEasyColor.darker(120), Qt::DotLine);
    hardLine_ = makeLine(kHardColor.darker(120), Qt::DotLine);
    medianLabel_ = makeText(histPlot_, kSplitColor);
    QFont bold = font();
    bold.setBold(true);
    medianLabel_->setFont(bold);
    easyLabel_ = makeText(histPlot_, kEasyColor.darker(140));
    hardLabel_ = makeText(histPlot_, kHardColor.darker(120));
    diffArrow_ = new QCPItemLine(histPlot_);
    diffArrow_->setPen(QPen(kSplitColor, 1.5));
    diffArrow_->setHead(QCPLineEnding::esSpikeArrow);
    diffArrow_->setTail(QCPLineEnding::esSpikeArrow);
    diffArrow_->setVisible(false);
    diffLabel_ = new QCPItemText(histPlot_);
    diffLabel_->position->setType(QCPItemPosition::ptPlotCoords);
    diffLabel_->setPositionAlignment(Qt::AlignHCenter | Qt::AlignBottom);
    diffLabel_->setColor(kSplitColor);
    diffLabel_->setClipToAxisRect(true);
    diffLabel_->setVisible(false);
    connect(histPlot_, &QCustomPlot::afterLayout, this, &LossSepView::placeHistogramLabels);
    connect(histPlot_, &QCustomPlot::mouseMove, this, &LossSepView::histogramMouseMove);
}

void LossSepView::buildRatioChart() {
    ratioPlot_ = makeTitledPlot(this, tr("Oracle ratio at the final layer (Oracle = 100%)"), QSize(260, 200));
    // Horizontal bars: methods down the y axis (first at the top), ratio along x.
    ratioPlot_->yAxis->setRangeReversed(true);
    ratioPlot_->yAxis->grid()->setVisible(false);
    ratioPlot_->yAxis->setTickLength(0, 0);
    ratioPlot_->yAxis->setSubTicks(false);
    ratioPlot_->xAxis->setLabel(tr("Oracle ratio (%)"));
    const QList<QPair<QColor, QString>> kinds{{kMetricColor, tr("inference-time metric")},
                                              {kProbeColor, tr("learned probe")},
                                              {kAnswerColor, tr("needs the answer")},
                                              {kOracleColor, tr("Oracle")}};
    for (const auto& [color, name] : kinds) {
        auto* bars = new QCPBars(ratioPlot_->yAxis, ratioPlot_->xAxis);
        bars->setName(name);
        bars->setWidth(0.7);
        bars->setPen(QPen(color.darker(130), 1));
        bars->setBrush(QColor(color.red(), color.green(), color.blue(), 200));
        ratioBars_ << bars;
    }
    hundredLine_ = new QCPItemStraightLine(ratioPlot_);
    hundredLine_->setPen(QPen(kOracleColor, 1, Qt::DashLine));
    hundredLine_->point1->setCoords(100, 0);
    hundredLine_->point2->setCoords(100, 1);
    hundredLine_->setVisible(false);
    connect(ratioPlot_, &QCustomPlot::mouseMove, this, &LossSepView::ratioMouseMove);
}

void LossSepView::buildGrid() {
    gridPlot_ = makeTitledPlot(this, tr("Oracle ratio (%) per lens layer"), QSize(260, 200));
    gridPlot_->xAxis->setLabel(tr("layer l"));
    gridPlot_->yAxis->setRangeReversed(true);
    gridPlot_->xAxis->grid()->setVisible(false);
    gridPlot_->yAxis->grid()->setVisible(false);
    gridPlot_->yAxis->setTickLength(0, 0);
    gridPlot_->yAxis->setSubTicks(false);
    gridPlot_->xAxis->setSubTicks(false);
    gridMap_ = new QCPColorMap(gridPlot_->xAxis, gridPlot_->yAxis);
    gridMap_->setName(tr("Oracle ratio"));
    gridMap_->setInterpolate(false);
    gridMap_->setTightBoundary(false);
    gridScale_ = new QCPColorScale(gridPlot_);
    gridPlot_->plotLayout()->addElement(1, 1, gridScale_);
    gridScale_->setType(QCPAxis::atRight);
    gridScale_->setBarWidth(10);
    gridScale_->axis()->setLabel(tr("Oracle ratio (%)"));
    gridMap_->setColorScale(gridScale_);
    auto* margins = new QCPMarginGroup(gridPlot_);
    gridPlot_->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    gridScale_->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    connect(gridPlot_, &QCustomPlot::afterLayout, this, &LossSepView::placeGridLabels);
    connect(gridPlot_, &QCustomPlot::mouseMove, this, &LossSepView::gridMouseMove);
}

void LossSepView::setResult(std::shared_ptr<const ls::LossSepResult> result) {
    result_ = std::move(result);
    barRows_.clear();
    if (result_) {
        const int L = result_->numLayers;
        for (const ls::MetricInfo& m : ls::separationMetrics())
            if (std::string(m.name) != "correct_prob")
                if (const ls::PredictorRow* row = predictor(m.name, L))
                    barRows_.push_back(*row);
        for (const ls::PredictorRow& row : result_->predictors)
            if (isProbe(row.method) && std::isfinite(row.split.oracleRatio))
                barRows_.push_back(row);
        if (const ls::PredictorRow* row = predictor("correct_prob", L))
            barRows_.push_back(*row);
        for (const ls::PredictorRow& row : result_->predictors)
            if (row.method == "oracle") {
                barRows_.push_back(row);
                break;
            }
    }
    summaryLabel_->setText(summaryText());
    exportButton_->setEnabled(hasData());
    fillHistogram();
    fillRatioChart();
    fillGrid();
    fillTables();
    for (QCustomPlot* plot : {histPlot_, ratioPlot_, gridPlot_})
        plot->replot();
}

const ls::PredictorRow* LossSepView::predictor(const std::string& method, int layer) const {
    if (!result_)
        return nullptr;
    for (const ls::PredictorRow& row : result_->predictors)
        if (row.method == method && row.layer == layer)
            return &row;
    return nullptr;
}

QString LossSepView::summaryText() const {
    if (!result_)
        return tr("No loss-separation result: run the layer analyses with “Loss separation” checked.");
    const ls::LossDistribution& d = result_->distribution;
    const ls::Summary& s = d.summary;
    return tr("%1 tokens · loss mean %2, std %3, range [%4, %5], quartiles %6 / %7 / %8 · Oracle split at the "
              "median: easy %9, hard %10, <b>Loss Diff %11</b>, Cohen's d %12")
        .arg(count(s.count), lossText(s.mean), lossText(s.std), lossText(s.min), lossText(s.max), lossText(s.p25),
             lossText(s.p50), lossText(s.p75), lossText(d.oracle.easyLoss))
        .arg(lossText(d.oracle.hardLoss), lossText(d.oracle.lossDiff), lossText(d.cohensD));
}

void LossSepView::fillHistogram() {
    for (QCPBars* bars : {histBars_, histHardBars_})
        bars->data()->clear();
    for (QCPAbstractItem* item : std::initializer_list<QCPAbstractItem*>{
             medianLine_, easyLine_, hardLine_, medianLabel_, easyLabel_, hardLabel_, diffArrow_, diffLabel_})
        item->setVisible(false);
    if (!result_ || result_->distribution.histogram.counts.empty()) {
        histPlot_->xAxis->setRange(0, 10);
        histPlot_->yAxis->setRange(0, 1);
        return;
    }
    const ls::LossDistribution& d = result_->distribution;
    const ls::Histogram& h = d.histogram;
    QVector<double> easyKeys, easyCounts, hardKeys, hardCounts;
    int64_t top = 1;
    for (int i = 0; i < int(h.counts.size()); ++i) {
        const double centre = 0.5 * (h.edge(i) + h.edge(i + 1));
        (centre <= d.median ? easyKeys : hardKeys) << centre;
        (centre <= d.median ? easyCounts : hardCounts) << double(h.counts[i]);
        top = std::max(top, h.counts[i]);
    }
    histBars_->setData(easyKeys, easyCounts, true);
    histHardBars_->setData(hardKeys, hardCounts, true);
    histBars_->setWidth(h.binWidth());
    histHardBars_->setWidth(h.binWidth());
    const double pad = 0.02 * std::max(h.hi - h.lo, 1e-9);
    histPlot_->xAxis->setRange(h.lo - pad, h.hi + pad);

    auto mark = [](QCPItemStraightLine* line, QCPItemText* label, double x, const QString& text) {
        line->point1->setCoords(x, 0);
        line->point2->setCoords(x, 1);
        label->setText(text);
        line->setVisible(true);
        label->setVisible(true);
    };
    mark(medianLine_, medianLabel_, d.median, tr("Oracle split: median %1").arg(lossText(d.median)));
    mark(easyLine_, easyLabel_, d.oracle.easyLoss, tr("easy mean %1").arg(lossText(d.oracle.easyLoss)));
    mark(hardLine_, hardLabel_, d.oracle.hardLoss, tr("hard mean %1").arg(lossText(d.oracle.hardLoss)));
    // The Loss Diff as an arrow between the two means, above the bars.
    const double y = top * 1.12;
    diffArrow_->start->setCoords(d.oracle.easyLoss, y);
    diffArrow_->end->setCoords(d.oracle.hardLoss, y);
    diffLabel_->position->setCoords(0.5 * (d.oracle.easyLoss + d.oracle.hardLoss), y);
    diffLabel_->setText(tr("Loss Diff %1").arg(lossText(d.oracle.lossDiff)));
    diffArrow_->setVisible(std::isfinite(d.oracle.lossDiff));
    diffLabel_->setVisible(std::isfinite(d.oracle.lossDiff));
    histPlot_->yAxis->setRange(0, top * 1.55);  // room for the arrow and the labels
    placeHistogramLabels();
}

// Each marker's label goes on the side of its line with room for it (the median's on the
// side away from the middle), in its own row. Runs after every layout: room depends on width.
void LossSepView::placeHistogramLabels() {
    if (!result_ || !medianLine_->visible())
        return;
    const QCPRange range = histPlot_->xAxis->range();
    const int width = histPlot_->axisRect()->width() > 50 ? histPlot_->axisRect()->width() : 300;
    auto place = [&](QCPItemStraightLine* line, QCPItemText* label, double yRatio, int preferred) {
        const double x = line->point1->key();
        const double where = std::clamp((x - range.lower) / range.size(), 0.0, 1.0);
        const double room[2] = {where * width, (1.0 - where) * width};
        const int needed = QFontMetrics(label->font()).horizontalAdvance(label->text()) + 8;
        int side = preferred;
        if (room[side] < needed && room[1 - side] > room[side])
            side = 1 - side;
        label->position->setCoords(x, yRatio);
        label->setPositionAlignment((side == 0 ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignTop);
        label->setPadding(side == 0 ? QMargins(0, 0, 4, 0) : QMargins(4, 0, 0, 0));
    };
    place(medianLine_, medianLabel_, 0.01, 1);
    place(easyLine_, easyLabel_, 0.075, 0);
    place(hardLine_, hardLabel_, 0.14, 1);
}

void LossSepView::fillRatioChart() {
    for (QCPBars* bars : ratioBars_)
        bars->data()->clear();
    for (QCPItemText* label : ratioLabels_)
        ratioPlot_->removeItem(label);
    ratioLabels_.clear();
    hundredLine_->setVisible(false);
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    if (barRows_.empty()) {
        ratioPlot_->yAxis->setTicker(ticker);
        ratioPlot_->yAxis->setRange(-0.5, 3.5);
        ratioPlot_->xAxis->setRange(0, 110);
        return;
    }
    QVector<double> values;
    double lo = 0, hi = 100;
    for (int i = 0; i < int(barRows_.size()); ++i) {
        const std::string& method = barRows_[size_t(i)].method;
        const double v = 100.0 * barRows_[size_t(i)].split.oracleRatio;
        values << v;
        if (std::isfinite(v)) {
            lo = std::min(lo, v);
            hi = std::max(hi, v);
        }
        const int kind = method == "oracle" ? 3 : method == "correct_prob" ? 2 : isProbe(method) ? 1 : 0;
        ratioBars_[kind]->addData(i, v);
        ticker->addTick(i, shortLabel(method));
    }
    ratioPlot_->yAxis->setTicker(ticker);
    ratioPlot_->yAxis->setRange(-0.6, barRows_.size() - 0.4);
    ratioPlot_->xAxis->setRange(lo < 0 ? lo - 0.08 * (hi - lo) : 0, hi + 0.06 * (hi - lo));
    hundredLine_->setVisible(true);
    for (int i = 0; i < int(barRows_.size()); ++i) {
        const double v = values[i];
        auto* label = new QCPItemText(ratioPlot_);
        label->position->setType(QCPItemPosition::ptPlotCoords);
        label->position->setCoords(std::isfinite(v) ? std::max(v, 0.0) : 0, i);
        // Long bars carry their value inside (no clipping at the right edge), short ones after.
        const bool inside = std::isfinite(v) && v > 0.3 * hi;
        label->setPositionAlignment((inside ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignVCenter);
        label->setPadding(inside ? QMargins(0, 0, 4, 0) : QMargins(4, 0, 0, 0));
        label->setText(percentText(v));
        label->setColor(inside ? QColor(Qt::white) : methodColor(barRows_[size_t(i)].method).darker(120));
        label->setClipToAxisRect(true);
        ratioLabels_ << label;
    }
}

void LossSepView::fillGrid() {
    for (QCPItemText* label : gridLabels_)
        gridPlot_->removeItem(label);
    gridLabels_.clear();
    const std::vector<ls::MetricInfo>& metrics = ls::separationMetrics();
    const int M = int(metrics.size());
    QSharedPointer<QCPAxisTickerText> methods(new QCPAxisTickerText);
    for (int m = 0; m < M; ++m)
        methods->addTick(m, QString::fromLatin1(metrics[size_t(m)].name));
    gridPlot_->yAxis->setTicker(methods);
    gridPlot_->yAxis->setRange(-0.5, M - 0.5);
    if (!result_ || result_->numLayers < 1) {
        gridMap_->data()->clear();
        gridMap_->setVisible(false);
        gridPlot_->xAxis->setRange(0.5, 1.5);
        return;
    }
    const int L = result_->numLayers;
    gridMap_->setVisible(true);
    gridMap_->data()->setSize(L, M);
    gridMap_->data()->setRange(QCPRange(1, std::max(L, 2)), QCPRange(0, std::max(M - 1, 1)));
    if (L == 1)
        gridMap_->data()->setKeyRange(QCPRange(0.5, 1.5));  // a single column of width 1
    double lo = 0, hi = 100;
    for (int l = 1; l <= L; ++l)
        for (int m = 0; m < M; ++m) {
            const ls::PredictorRow* row = predictor(metrics[size_t(m)].name, l);
            const double v = row ? 100.0 * row->split.oracleRatio : std::nan("");
            gridMap_->data()->setCell(l - 1, m, v);
            if (std::isfinite(v)) {
                lo = std::min(lo, v);
                hi = std::max(hi, v);
            }
        }
    QCPColorGradient gradient = ratioGradient(lo, hi);
    gridMap_->setGradient(gradient);
    gridMap_->setDataRange(QCPRange(lo, hi));
    gridScale_->setGradient(gradient);
    gridScale_->setDataRange(QCPRange(lo, hi));
    gridPlot_->xAxis->setRange(0.5, L + 0.5);
    QSharedPointer<QCPAxisTickerText> layers(new QCPAxisTickerText);
    const int step = L <= 12 ? 1 : L <= 30 ? 5 : 10;
    for (int l = 1; l <= L; ++l)
        if (l == 1 || l == L || l % step == 0)
            layers->addTick(l, QString::number(l));
    gridPlot_->xAxis->setTicker(layers);
    for (int l = 1; l <= L; ++l)
        for (int m = 0; m < M; ++m) {
            const double v = gridMap_->data()->cell(l - 1, m);
            auto* label = new QCPItemText(gridPlot_);
            label->position->setType(QCPItemPosition::ptPlotCoords);
            label->position->setCoords(l, m);
            label->setText(std::isfinite(v) ? QString::number(std::lround(v)) : QStringLiteral("–"));
            QColor colour = gradient.color(v, QCPRange(lo, hi));
            label->setColor(qGray(colour.rgb()) < 130 ? Qt::white : Qt::black);
            label->setClipToAxisRect(true);
            label->setVisible(false);
            gridLabels_ << label;
        }
    placeGridLabels();
}

void LossSepView::placeGridLabels() {
    if (gridLabels_.isEmpty() || !result_)
        return;
    const int L = result_->numLayers;
    const int M = int(ls::separationMetrics().size());
    const QRect rect = gridPlot_->axisRect()->rect();
    const double cellW = rect.width() / double(std::max(L, 1));
    const double cellH = rect.height() / double(std::max(M, 1));
    const QFontMetrics fm(gridLabels_.front()->font());
    const bool fits = cellW >= fm.horizontalAdvance(QStringLiteral("100")) + 6 && cellH >= fm.height() + 2;
    for (QCPItemText* label : gridLabels_)
        label->setVisible(fits);
}

double LossSepView::drawnRatio(int index) const {
    for (QCPBars* bars : ratioBars_)
        for (auto it = bars->data()->constBegin(); it != bars->data()->constEnd(); ++it)
            if (int(std::lround(it->key)) == index)
                return it->value;
    return std::nan("");
}

// ---- tables ---------------------------------------------------------------------------------

void LossSepView::setTabVisible(QWidget* page, bool visible, const QString&) {
    const int index = tableTabs_->indexOf(page);
    if (index >= 0)
        tableTabs_->setTabVisible(index, visible);
}

void LossSepView::fillTables() {
    fillComparison();
    fillThresholds();
    fillSubsets();
    fillProbes();
    fillLowRank();
    fillDistribution();
    for (QTableWidget* table : {comparisonTable_, thresholdTable_, subsetTable_, probeRegression_,
                                probeClassification_, probeMetric_, lowRankTable_, distributionTable_})
        fitColumns(table);
}

void LossSepView::fillComparison() {
    comparisonTable_->setRowCount(int(barRows_.size()));
    if (result_)
        comparisonCaption_->setText(
            tr("<b>Final comparison</b> at the final layer (L = %1), split at each score's median; probes on their "
               "test tokens. The rows of the Oracle-ratio chart.")
                .arg(result_->numLayers));
    else
        comparisonCaption_->clear();
    for (int row = 0; row < int(barRows_.size()); ++row) {
        const ls::PredictorRow& p = barRows_[size_t(row)];
        QString note;
        if (p.method == "oracle")
            note = tr("ideal upper bound");
        else if (p.method == "correct_prob")
            note = tr("needs the answer");
        else if (isProbe(p.method))
            note = tr("learned on h_%1").arg(p.layer);
        else
            note = tr("inference time");
        const ls::SplitStats& s = p.split;
        auto* name = textCell(methodLabel(p.method), QString::fromStdString(p.method));
        name->setForeground(methodColor(p.method).darker(120));
        comparisonTable_->setItem(row, 0, name);
        comparisonTable_->setItem(row, 1, cell(QString::number(p.layer)));
        comparisonTable_->setItem(row, 2, numberCell(corrText(p.pearson), p.pearson));
        comparisonTable_->setItem(row, 3, numberCell(percentText(s.easyPct), s.easyPct));
        comparisonTable_->setItem(row, 4, numberCell(lossText(s.easyLoss), s.easyLoss));
        comparisonTable_->setItem(row, 5, numberCell(lossText(s.hardLoss), s.hardLoss));
        comparisonTable_->setItem(row, 6, numberCell(lossText(s.lossDiff), s.lossDiff));
        auto* ratio = numberCell(ratioText(s.oracleRatio), s.oracleRatio);
        QFont bold = ratio->font();
        bold.setBold(true);
        ratio->setFont(bold);
        comparisonTable_->setItem(row, 7, ratio);
        comparisonTable_->setItem(row, 8, textCell(note));
    }
}

void LossSepView::fillThresholds() {
    const int rows = result_ ? int(result_->thresholds.size()) : 0;
    thresholdTable_->setRowCount(rows);
    thresholdCaption_->setText(
        result_ ? tr("<b>Threshold table</b>: easy iff the score ≥ the threshold, at the final layer. "
                     "p(correct) is the notes' “softmax confidence” (the answer's probability); confidence "
                     "is max softmax(z), usable at inference time.")
                : QString());
    for (int row = 0; row < rows; ++row) {
        const ls::ThresholdRow& t = result_->thresholds[size_t(row)];
        const ls::SplitStats& s = t.split;
        const bool median = t.rule == "median";
        thresholdTable_->setItem(row, 0, textCell(shortLabel(t.method), methodLabel(t.method)));
        thresholdTable_->setItem(
            row, 1,
            cell(median ? tr("Median (%1)").arg(QString::number(t.threshold, 'g', 4)) : QString::fromStdString(t.rule),
                 full(t.threshold)));
        thresholdTable_->setItem(row, 2, numberCell(percentText(s.easyPct), s.easyPct));
        thresholdTable_->setItem(row, 3, numberCell(percentText(s.hardPct), s.hardPct));
        thresholdTable_->setItem(row, 4, numberCell(lossText(s.easyLoss), s.easyLoss));
        thresholdTable_->setItem(row, 5, numberCell(lossText(s.hardLoss), s.hardLoss));
        auto* diff = numberCell(lossText(s.lossDiff), s.lossDiff);
        if (median) {
            QFont bold = diff->font();
            bold.setBold(true);
            diff->setFont(bold);
        }
        thresholdTable_->setItem(row, 6, diff);
        thresholdTable_->setItem(row, 7, numberCell(ratioText(s.oracleRatio), s.oracleRatio));
    }
}

void LossSepView::fillSubsets() {
    const int rows = result_ ? int(result_->subsets.size()) : 0;
    subsetTable_->setRowCount(rows);
    subsetCaption_->setText(result_ ? tr("<b>High-confidence subsets</b>: tokens with max softmax(z_L) ≥ the "
                                         "threshold; Pearson r of each metric with the loss inside the subset")
                                    : QString());
    for (int row = 0; row < rows; ++row) {
        const ls::SubsetRow& s = result_->subsets[size_t(row)];
        subsetTable_->setItem(row, 0, numberCell(QString::number(s.minConfidence, 'g', 4), s.minConfidence));
        subsetTable_->setItem(row, 1, cell(count(s.tokens)));
        subsetTable_->setItem(row, 2, numberCell(percentText(s.pct), s.pct));
        subsetTable_->setItem(row, 3, numberCell(lossText(s.meanLoss), s.meanLoss));
        for (int c = 4; c < subsetTable_->columnCount(); ++c) {
            const size_t i = size_t(c - 4);
            const double r = i < s.pearson.size() ? s.pearson[i] : std::nan("");
            subsetTable_->setItem(row, c, numberCell(fixed(r, 4), r));
        }
    }
}

void LossSepView::fillProbes() {
    const bool present = result_ && result_->probes && !result_->probes->rows.empty();
    setTabVisible(probesPage_, present, tr("Probes"));
    probeRegression_->setRowCount(0);
    probeClassification_->setRowCount(0);
    probeMetric_->setRowCount(0);
    probesCaption_->clear();
    if (!present)
        return;
    const ls::ProbeResult& p = *result_->probes;
    const ls::ProbeRow& first = p.rows.front();
    probesCaption_->setText(tr("<b>Probes</b> on h_%1 (%2): %3 sampled tokens, train / validation / test = "
                               "%4 / %5 / %6; every number on the test tokens")
                                .arg(p.layer)
                                .arg(p.layer == 0 ? tr("the embeddings") : tr("block %1's output").arg(p.layer))
                                .arg(count(p.sampleTokens), count(first.trainTokens), count(first.validationTokens),
                                     count(first.testTokens)));
    auto add = [](QTableWidget* table, const QList<QTableWidgetItem*>& items) {
        const int row = table->rowCount();
        table->insertRow(row);
        for (int c = 0; c < items.size(); ++c)
            table->setItem(row, c, items[c]);
    };
    for (const ls::ProbeRow& r : p.rows) {
        const QString arch = architectureLabel(r.architecture);
        if (r.task == "regression")
            add(probeRegression_, {textCell(arch), numberCell(fixed(r.mse, 2), r.mse),
                                   numberCell(corrText(r.pearson), r.pearson), numberCell(corrText(r.r2), r.r2),
                                   numberCell(lossText(r.easyLoss), r.easyLoss),
                                   numberCell(lossText(r.hardLoss), r.hardLoss),
                                   numberCell(lossText(r.lossDiff), r.lossDiff),
                                   numberCell(ratioText(r.oracleRatio), r.oracleRatio), cell(QString::number(r.epochs))});
        else if (r.task == "classification")
            add(probeClassification_,
                {textCell(arch), numberCell(percentText(100 * r.accuracy), r.accuracy),
                 numberCell(corrText(r.f1Easy), r.f1Easy), numberCell(corrText(r.f1Hard), r.f1Hard),
                 numberCell(lossText(r.easyLoss), r.easyLoss), numberCell(lossText(r.hardLoss), r.hardLoss),
                 numberCell(lossText(r.lossDiff), r.lossDiff), numberCell(ratioText(r.oracleRatio), r.oracleRatio),
                 cell(QString::number(r.epochs))});
        else
            add(probeMetric_, {textCell(QString::fromStdString(r.task)), textCell(arch),
                               numberCell(fixed(r.pearson, 4), r.pearson), numberCell(fixed(r.mse, 4), r.mse),
                               numberCell(corrText(r.r2), r.r2), cell(QString::number(r.epochs))});
    }
    for (QTableWidget* table : {probeRegression_, probeClassification_, probeMetric_})
        fitHeight(table);
}

void LossSepView::fillLowRank() {
    const bool present = result_ && !result_->lowRank.empty();
    setTabVisible(lowRankPage_, present, tr("Low-rank metrics"));
    const int rows = present ? int(result_->lowRank.size()) : 0;
    lowRankTable_->setRowCount(rows);
    for (int row = 0; row < rows; ++row) {
        const ls::LowRankMetricRow& r = result_->lowRank[size_t(row)];
        lowRankTable_->setItem(row, 0, cell(QString::number(r.rank)));
        lowRankTable_->setItem(row, 1, textCell(QString::fromStdString(r.method)));
        lowRankTable_->setItem(row, 2, numberCell(fixed(r.corrWithExact, 4), r.corrWithExact));
        lowRankTable_->setItem(row, 3, numberCell(fixed(r.pearson, 4), r.pearson));
        lowRankTable_->setItem(row, 4, numberCell(lossText(r.split.easyLoss), r.split.easyLoss));
        lowRankTable_->setItem(row, 5, numberCell(lossText(r.split.hardLoss), r.split.hardLoss));
        lowRankTable_->setItem(row, 6, numberCell(lossText(r.split.lossDiff), r.split.lossDiff));
        lowRankTable_->setItem(row, 7, numberCell(ratioText(r.split.oracleRatio), r.split.oracleRatio));
    }
}

void LossSepView::fillDistribution() {
    distributionTable_->setRowCount(0);
    if (!result_)
        return;
    const ls::LossDistribution& d = result_->distribution;
    const ls::Summary& s = d.summary;
    const QList<QPair<QString, double>> rows{
        {tr("Loss mean"), s.mean},        {tr("Loss std"), s.std},       {tr("Loss min"), s.min},
        {tr("25%"), s.p25},               {tr("50% (median)"), s.p50},   {tr("75%"), s.p75},
        {tr("Loss max"), s.max},          {tr("Easy loss mean (Oracle)"), d.oracle.easyLoss},
        {tr("Hard loss mean (Oracle)"), d.oracle.hardLoss},              {tr("Loss Diff"), d.oracle.lossDiff},
        {tr("Cohen's d"), d.cohensD}};
    distributionTable_->setRowCount(rows.size() + 1);
    distributionTable_->setItem(0, 0, textCell(tr("Tokens")));
    distributionTable_->setItem(0, 1, cell(count(s.count)));
    for (int i = 0; i < rows.size(); ++i) {
        distributionTable_->setItem(i + 1, 0, textCell(rows[i].first));
        distributionTable_->setItem(i + 1, 1, numberCell(lossText(rows[i].second), rows[i].second));
    }
}

bool LossSepView::eventFilter(QObject* watched, QEvent* event) {
    if (event->type() == QEvent::Resize)
        if (auto* table = qobject_cast<QTableWidget*>(watched)) {
            const int scrollBar = table->verticalScrollBar()->isVisible() ? table->verticalScrollBar()->width() : 0;
            fitColumns(table, static_cast<QResizeEvent*>(event)->size().width() - 2 * table->frameWidth() - scrollBar);
        }
    return QWidget::eventFilter(watched, event);
}

// ---- hover ----------------------------------------------------------------------------------

QString LossSepView::barToolTip(int index) const {
    if (index < 0 || index >= int(barRows_.size()))
        return {};
    const ls::PredictorRow& p = barRows_[size_t(index)];
    const ls::SplitStats& s = p.split;
    return tr("%1\nOracle ratio %2 · Loss Diff %3\neasy %4 (%5 of tokens) · hard %6\nPearson r with the loss %7")
        .arg(methodLabel(p.method), ratioText(s.oracleRatio), lossText(s.lossDiff), lossText(s.easyLoss),
             percentText(s.easyPct), lossText(s.hardLoss), corrText(p.pearson));
}

QString LossSepView::cellToolTip(int method, int layer) const {
    const std::vector<ls::MetricInfo>& metrics = ls::separationMetrics();
    if (!result_ || method < 0 || method >= int(metrics.size()) || layer < 1 || layer > result_->numLayers)
        return {};
    const std::string name = metrics[size_t(method)].name;
    const ls::PredictorRow* p = predictor(name, layer);
    if (!p)
        return tr("%1 at layer %2: not computed").arg(QString::fromStdString(name)).arg(layer);
    return tr("%1 at layer %2\nOracle ratio %3 · Pearson r %4\nLoss Diff %5 (easy %6, hard %7)")
        .arg(QString::fromStdString(name))
        .arg(layer)
        .arg(ratioText(p->split.oracleRatio), corrText(p->pearson), lossText(p->split.lossDiff),
             lossText(p->split.easyLoss), lossText(p->split.hardLoss));
}

void LossSepView::ratioMouseMove(QMouseEvent* event) {
    if (!hasData() || !ratioPlot_->axisRect()->rect().contains(event->position().toPoint())) {
        QToolTip::hideText();
        return;
    }
    const int i = int(std::lround(ratioPlot_->yAxis->pixelToCoord(event->position().y())));
    const QString text = barToolTip(i);
    if (text.isEmpty())
        QToolTip::hideText();
    else
        QToolTip::showText(event->globalPosition().toPoint(), text, ratioPlot_);
}

void LossSepView::gridMouseMove(QMouseEvent* event) {
    if (!hasData() || !gridPlot_->axisRect()->rect().contains(event->position().toPoint())) {
        QToolTip::hideText();
        return;
    }
    const int layer = int(std::lround(gridPlot_->xAxis->pixelToCoord(event->position().x())));
    const int method = int(std::lround(gridPlot_->yAxis->pixelToCoord(event->position().y())));
    const QString text = cellToolTip(method, layer);
    if (text.isEmpty())
        QToolTip::hideText();
    else
        QToolTip::showText(event->globalPosition().toPoint(), text, gridPlot_);
}

void LossSepView::histogramMouseMove(QMouseEvent* event) {
    if (!hasData() || result_->distribution.histogram.counts.empty() ||
        !histPlot_->axisRect()->rect().contains(event->position().toPoint())) {
        QToolTip::hideText();
        return;
    }
    const ls::Histogram& h = result_->distribution.histogram;
    const double key = histPlot_->xAxis->pixelToCoord(event->position().x());
    if (key < h.lo || key > h.hi) {
        QToolTip::hideText();
        return;
    }
    const int bins = int(h.counts.size());
    const int bin = std::clamp(int(std::floor((key - h.lo) / h.binWidth())), 0, bins - 1);
    const double total = std::max<double>(h.total(), 1);
    QToolTip::showText(event->globalPosition().toPoint(),
                       tr("loss in [%1, %2%3\n%4 tokens (%5)")
                           .arg(h.edge(bin), 0, 'f', 3)
                           .arg(h.edge(bin + 1), 0, 'f', 3)
                           .arg(bin + 1 == bins ? QStringLiteral("]") : QStringLiteral(")"))
                           .arg(count(h.counts[bin]))
                           .arg(percentText(100.0 * h.counts[bin] / total, 2)),
                       histPlot_);
}

}  // namespace ls::widgets
