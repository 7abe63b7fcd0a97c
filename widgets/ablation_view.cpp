#include "ablation_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFrame>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLocale>
#include <QMouseEvent>
#include <QSignalBlocker>
#include <QTabWidget>
#include <QTableWidget>
#include <QToolTip>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <qcustomplot.h>

#include "export_menu.h"
#include "plot_style.h"

namespace ls::widgets {

namespace {

const QColor kTopColor(206, 92, 0);       // orange: the top heads in the scatter plots
const QColor kOtherColor(52, 101, 164);   // blue: every other head
const QColor kZeroColor(204, 0, 0);       // red: zero ablation
const QColor kMeanColor(52, 101, 164);    // blue: mean ablation
const QColor kSelectionColor(20, 20, 20);
const QColor kPartialColor(204, 0, 0);
const QColor kDiagonalColor(136, 138, 133);
const QColor kPendingColor(210, 210, 210);  // heads not evaluated yet
const QList<QColor> kLimitColors{QColor(78, 154, 6), QColor(196, 160, 0), QColor(204, 0, 0), QColor(117, 80, 123)};
const QList<QColor> kContextColors{QColor(46, 52, 54), QColor(52, 101, 164), QColor(206, 92, 0), QColor(117, 80, 123),
                                   QColor(78, 154, 6), QColor(204, 0, 0)};

// Diverging, white at 0: blue = ablating the head lowers the PPL, red = it raises it. Light
// tints start close to the centre so that small changes still show.
QCPColorGradient divergingGradient() {
    QCPColorGradient g;
    g.clearColorStops();
    g.setColorStopAt(0.0, QColor(5, 48, 97));
    g.setColorStopAt(0.15, QColor(33, 102, 172));
    g.setColorStopAt(0.3, QColor(103, 169, 207));
    g.setColorStopAt(0.44, QColor(209, 229, 240));
    g.setColorStopAt(0.5, QColor(250, 250, 250));
    g.setColorStopAt(0.56, QColor(253, 219, 199));
    g.setColorStopAt(0.7, QColor(239, 138, 98));
    g.setColorStopAt(0.85, QColor(178, 24, 43));
    g.setColorStopAt(1.0, QColor(103, 0, 31));
    g.setLevelCount(400);
    g.setNanHandling(QCPColorGradient::nhNanColor);
    g.setNanColor(kPendingColor);
    return g;
}

bool evaluated(const ls::HeadAblation& a) { return std::isfinite(a.zeroPpl) && a.zeroPpl > 0; }
bool evaluatedMean(const ls::HeadAblation& a) { return std::isfinite(a.meanPpl) && a.meanPpl > 0; }

QString dash() { return QStringLiteral("–"); }

// "+2.806", "-0.004" (relative dPPL, as in the seed's tables).
QString signedNumber(double v, int decimals = 3) {
    if (!std::isfinite(v))
        return dash();
    QString s = QString::number(v, 'f', decimals);
    if (s.startsWith('-') && QString::number(-v, 'f', decimals) == QString::number(0.0, 'f', decimals))
        s = s.mid(1);  // "-0.000" -> "+0.000"
    return s.startsWith('-') ? s : QStringLiteral("+") + s;
}

QString ppl(double v) { return std::isfinite(v) ? QString::number(v, 'f', 2) : dash(); }

// "303x", "12.7x", "1.08x" (the seed's zero/mean reduction).
QString ratioText(double r) {
    if (!std::isfinite(r))
        return dash();
    const double a = std::abs(r);
    if (a >= 100)  // halves to even, as the seed's 245 / 2 windows = "122x"
        return QString::number(std::nearbyint(r), 'f', 0) + QStringLiteral("x");
    return QString::number(r, 'f', a >= 10 ? 1 : 2) + QStringLiteral("x");
}

// The seed's V4 / P4 ratios: "1.023x", "11.75x".
QString curveRatio(double r) {
    return std::isfinite(r) ? QStringLiteral("%1x").arg(r, 0, 'f', std::abs(r) >= 10 ? 2 : 3) : dash();
}

QString limitText(double limit) { return QStringLiteral("%1x").arg(limit, 0, 'f', 1); }

QString rankText(int rank) { return rank > 0 ? QString::number(rank) : dash(); }

QString count(int64_t n) { return QLocale().toString(qint64(n)); }

// 2048 -> "2K", 250880 -> "251K" (the seed's column heads).
QString compactTokens(int64_t n) {
    if (n < 1000)
        return QString::number(n);
    if (n < 1000000)
        return QStringLiteral("%1K").arg(std::llround(n / 1000.0));
    return QStringLiteral("%1M").arg(n / 1e6, 0, 'f', n < 10000000 ? 1 : 0);
}

QString duration(double s) {
    if (!std::isfinite(s) || s <= 0)
        return QStringLiteral("0 s");
    if (s < 60)
        return QStringLiteral("%1 s").arg(s, 0, 'f', s < 10 ? 2 : 1);
    const qint64 t = std::llround(s);
    if (t < 3600)
        return QStringLiteral("%1 min %2 s").arg(t / 60).arg(t % 60);
    return QStringLiteral("%1 h %2 min").arg(t / 3600).arg((t % 3600) / 60, 2, 10, QLatin1Char('0'));
}

QString headName(int layer, int head) { return QStringLiteral("L%1H%2").arg(layer - 1).arg(head); }

QCPTextElement* titleOf(QCustomPlot* plot) { return qobject_cast<QCPTextElement*>(plot->plotLayout()->element(0, 0)); }

// A second, plain line under the title.
QCPTextElement* addSubtitle(QCustomPlot* plot, QFont font) {
    plot->plotLayout()->insertRow(1);
    font.setPointSize(9);
    auto* sub = new QCPTextElement(plot, QString(), font);
    sub->setTextColor(QColor(60, 60, 60));
    sub->setMargins(QMargins(0, 0, 0, 2));
    plot->plotLayout()->addElement(1, 0, sub);
    plot->plotLayout()->setRowSpacing(0);
    return sub;
}

QCPItemText* makeLabel(QCustomPlot* plot, const QFont& font) {
    auto* text = new QCPItemText(plot);
    text->setFont(font);
    text->setClipToAxisRect(true);
    text->setVisible(false);
    return text;
}

int labelStep(int count, int pixels, int pixelsPerLabel) {
    const int fit = std::max(1, pixels / std::max(1, pixelsPerLabel));
    if (count <= fit)
        return 1;
    for (int step : {2, 4, 5, 8, 10, 16, 20, 50, 100})
        if ((count + step - 1) / step <= fit)
            return step;
    return 200;
}

// Ticks of a scaled axis over [lo, hi], labelled with the unscaled dPPL: 0 and round values on
// each side, at least `gap` (scaled units) apart and from 0 (2 and 5 times a decade: twice that).
QSharedPointer<QCPAxisTicker> scaleTicker(AblationView::ColourScale scale, double lo, double hi, double gap) {
    if (scale == AblationView::ColourScale::Linear) {
        QSharedPointer<QCPAxisTicker> ticker(new QCPAxisTicker);
        ticker->setTickCount(5);
        return ticker;
    }
    // Decades first (the symmetric log's natural ticks), then 2 and 5 times them where there is room.
    static const double decades[] = {1000, 100, 10, 1, 0.1, 0.01, 0.001, 0.0001};
    static const double between[] = {500, 200, 50, 20, 5, 2, 0.5, 0.2, 0.05, 0.02, 0.005, 0.002, 0.0005, 0.0002};
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    ticker->addTick(0, QStringLiteral("0"));
    for (int sign : {1, -1}) {
        QList<double> kept{0.0};  // scaled positions taken on this side
        auto consider = [&](double v, double need) {
            const double f = AblationView::toScale(sign * v, scale);
            if (f > hi * 1.0001 + 1e-12 || f < lo * 1.0001 - 1e-12)
                return;
            for (double k : kept)
                if (std::abs(k - f) < need)
                    return;
            kept << f;
            ticker->addTick(f, (sign > 0 ? QStringLiteral("+") : QStringLiteral("-")) + QString::number(v, 'g', 3));
        };
        for (double v : decades)
            consider(v, gap);
        for (double v : between)  // only where there is plenty of room
            consider(v, 2 * gap);
    }
    ticker->setSubTickCount(0);
    return ticker;
}

QString scaleName(AblationView::ColourScale scale) {
    switch (scale) {
    case AblationView::ColourScale::Linear: return AblationView::tr("linear");
    case AblationView::ColourScale::SymmetricLog: return AblationView::tr("symmetric log");
    case AblationView::ColourScale::SignedSqrt: return AblationView::tr("signed sqrt");
    }
    return {};
}

QTableWidget* makeTable(QWidget* parent, const QStringList& headers) {
    auto* table = new QTableWidget(0, headers.size(), parent);
    table->setHorizontalHeaderLabels(headers);
    table->verticalHeader()->setVisible(false);
    table->verticalHeader()->setDefaultSectionSize(table->fontMetrics().height() + 6);
    table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table->setSelectionBehavior(QAbstractItemView::SelectRows);
    table->setSelectionMode(QAbstractItemView::SingleSelection);
    table->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    return table;
}

// Sets a cell's text, reusing its item (repeated updates neither flicker nor allocate).
void setCell(QTableWidget* table, int row, int col, const QString& text,
             Qt::Alignment align = Qt::AlignRight | Qt::AlignVCenter) {
    QTableWidgetItem* item = table->item(row, col);
    if (!item) {
        item = new QTableWidgetItem;
        item->setFlags(Qt::ItemIsEnabled | Qt::ItemIsSelectable);
        table->setItem(row, col, item);
    }
    if (item->text() != text)
        item->setText(text);
    item->setTextAlignment(align);
}

// Height of a table that shows `rows` rows without scrolling.
int tableHeight(QTableWidget* table, int rows) {
    return table->horizontalHeader()->sizeHint().height() + table->verticalHeader()->defaultSectionSize() * rows +
           2 * table->frameWidth() + 2;
}

QString relativeChange(double subset, double full) {
    if (!std::isfinite(subset) || !std::isfinite(full) || subset == 0)
        return dash();
    const double c = full / subset - 1;
    return QStringLiteral("%1%2%").arg(c >= 0 ? "+" : "").arg(c * 100, 0, 'f', std::abs(c) < 0.1 ? 1 : 0);
}

QString times(double subset, double full) {
    if (!std::isfinite(subset) || !std::isfinite(full) || subset <= 0)
        return dash();
    return ratioText(full / subset);
}

}  // namespace

// ---- scale ----------------------------------------------------------------------------------

double AblationView::toScale(double d, ColourScale scale) {
    if (!std::isfinite(d))
        return std::nan("");
    switch (scale) {
    case ColourScale::Linear: return d;
    case ColourScale::SymmetricLog: return std::copysign(std::log10(1 + std::abs(d) / kSymLogLinear), d);
    case ColourScale::SignedSqrt: return std::copysign(std::sqrt(std::abs(d)), d);
    }
    return d;
}

double AblationView::fromScale(double v, ColourScale scale) {
    if (!std::isfinite(v))
        return std::nan("");
    switch (scale) {
    case ColourScale::Linear: return v;
    case ColourScale::SymmetricLog: return std::copysign(kSymLogLinear * (std::pow(10.0, std::abs(v)) - 1), v);
    case ColourScale::SignedSqrt: return std::copysign(v * v, v);
    }
    return v;
}

// ---- construction -----------------------------------------------------------------------------

AblationView::AblationView(QWidget* parent) : QWidget(parent) {
    description_ = new QLabel(this);
    description_->setWordWrap(true);
    description_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    description_->setText(
        tr("<b>Attention-head ablation.</b> ΔPPL = PPL / base − 1 with one head's output set to 0 (zero) or to its "
           "mean over the evaluation tokens (mean). Red: the head helps; blue: removing it helps. "
           "L0H8 = block 1, head 8 (TransformerLens)."));
    summary_ = new QLabel(this);
    summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    summary_->setWordWrap(true);
    partial_ = new QLabel(this);
    partial_->setObjectName(QStringLiteral("partialLabel"));
    partial_->setWordWrap(true);
    partial_->setStyleSheet(QStringLiteral("QLabel { color: %1; font-weight: bold; }").arg(kPartialColor.name()));
    partial_->hide();

    logCheck_ = new QCheckBox(tr("Log-like colours:"), this);
    logCheck_->setChecked(true);
    logCheck_->setToolTip(tr("One head often dominates (L0H8 in GPT-2 small): compress large |ΔPPL| so that "
                             "the others show. Symmetric log: sign(d)·log10(1 + |d| / %1); signed sqrt: "
                             "sign(d)·√|d|. Also the axes of the attribution chart.")
                              .arg(kSymLogLinear));
    logCombo_ = new QComboBox(this);
    logCombo_->addItem(tr("symmetric log"));
    logCombo_->addItem(tr("signed sqrt"));
    logCombo_->setToolTip(logCheck_->toolTip());
    auto scaleFromControls = [this] {
        setColourScale(!logCheck_->isChecked()           ? ColourScale::Linear
                       : logCombo_->currentIndex() == 1 ? ColourScale::SignedSqrt
                                                        : ColourScale::SymmetricLog);
    };
    connect(logCheck_, &QCheckBox::toggled, this, scaleFromControls);
    connect(logCombo_, &QComboBox::currentIndexChanged, this, scaleFromControls);

    exportButton_ = new ExportButton(this);
    exportButton_->setTables([this] {
        std::vector<ls::Table> tables;
        if (result_)
            tables = ls::ablationTables(*result_);
        if (linear_)
            for (ls::Table& t : ls::linearizeTables(*linear_))
                tables.push_back(std::move(t));
        return tables;
    });

    buildHeatmap(Ablation::Zero);
    buildHeatmap(Ablation::Mean);
    buildStability();
    buildAttribution();

    // Details of the selected head, and subset vs full (the seed's V1).
    auto* side = new QFrame(this);
    side->setFrameShape(QFrame::StyledPanel);
    auto* sideLayout = new QVBoxLayout(side);
    sideLayout->setContentsMargins(8, 6, 8, 6);
    details_ = new QLabel(side);
    details_->setObjectName(QStringLiteral("headDetails"));
    details_->setWordWrap(true);
    details_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    details_->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    subsetTable_ = makeTable(this, {QString(), tr("subset"), tr("all"), tr("change")});
    subsetTable_->setSelectionMode(QAbstractItemView::NoSelection);
    subsetTable_->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    subsetTable_->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    subsetTable_->setRowCount(3);
    subsetTable_->setFixedHeight(tableHeight(subsetTable_, 3));
    sideLayout->addWidget(details_, 1);
    auto* hint = new QLabel(tr("Click a cell, a table row or a point to show another head; hover for the numbers."), side);
    hint->setWordWrap(true);
    hint->setStyleSheet(QStringLiteral("QLabel { color: #666; }"));
    sideLayout->addWidget(hint);
    side->setFixedWidth(std::max(300, fontMetrics().horizontalAdvance(QStringLiteral("M")) * 27));

    // Top 10 (the seed's V2).
    topCaption_ = new QLabel(this);
    topTable_ = makeTable(this, {tr("Rank"), tr("Rank\n(subset)"), tr("Head"), tr("ΔPPL\nzero"), tr("ΔPPL zero\n(subset)"),
                                 tr("ΔPPL\nmean"), tr("zero /\nmean")});
    topTable_->horizontalHeaderItem(0)->setToolTip(tr("Zero-ablation rank on all tokens (1 = most damaging)"));
    topTable_->horizontalHeaderItem(1)->setToolTip(tr("Zero-ablation rank on the subset (the first windows)"));
    topTable_->horizontalHeaderItem(3)->setToolTip(tr("Zero-ablation ΔPPL = PPL / base − 1 on all tokens"));
    topTable_->horizontalHeaderItem(4)->setToolTip(tr("Zero-ablation ΔPPL on the subset (the first windows)"));
    topTable_->horizontalHeaderItem(5)->setToolTip(tr("Mean-ablation ΔPPL on all tokens"));
    topTable_->horizontalHeaderItem(6)->setToolTip(tr("Zero ΔPPL / mean ΔPPL: large = the head mostly adds a "
                                                      "constant (its mean output)"));
    topTable_->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    topTable_->viewport()->installEventFilter(this);  // its width decides fitColumns
    topTable_->setFixedHeight(tableHeight(topTable_, kTopHeads));
    connect(topTable_, &QTableWidget::cellClicked, this, [this](int row, int) {
        const std::vector<const ls::HeadAblation*> top = topHeads();
        if (row >= 0 && row < int(top.size()))
            selectHead(top[row]->layer, top[row]->head);
    });

    auto* topBox = new QVBoxLayout;
    topBox->setContentsMargins(0, 0, 0, 0);
    topBox->addWidget(topCaption_);
    topBox->addWidget(topTable_);
    topBox->addWidget(new QLabel(tr("<b>Subset vs all tokens</b>"), this));
    topBox->addWidget(subsetTable_);
    topBox->addStretch(1);

    // The "Heads" page.
    pages_ = new QTabWidget(this);
    pages_->setDocumentMode(true);
    pages_->setTabBarAutoHide(true);
    headsPage_ = new QWidget(pages_);
    auto* maps = new QHBoxLayout;
    maps->setSpacing(4);
    maps->addWidget(zeroPlot_, 1);
    maps->addWidget(meanPlot_, 1);
    maps->addWidget(side);
    auto* lower = new QHBoxLayout;
    lower->setSpacing(4);
    lower->addLayout(topBox, 11);
    lower->addWidget(stabilityPlot_, 8);
    lower->addWidget(attributionPlot_, 8);
    auto* headsLayout = new QVBoxLayout(headsPage_);
    headsLayout->setContentsMargins(4, 2, 4, 2);
    headsLayout->addLayout(maps, 10);
    headsLayout->addLayout(lower, 9);
    addPage(headsPage_, tr("Heads"), {});

    buildLinearization();

    auto* top = new QHBoxLayout;
    top->setContentsMargins(6, 4, 6, 0);
    auto* texts = new QVBoxLayout;
    texts->setSpacing(2);
    texts->addWidget(description_);
    texts->addWidget(summary_);
    texts->addWidget(partial_);
    top->addLayout(texts, 1);
    auto* controls = new QHBoxLayout;
    controls->setSpacing(4);
    controls->addWidget(logCheck_);
    controls->addWidget(logCombo_);
    controls->addSpacing(8);
    controls->addWidget(exportButton_);
    top->addLayout(controls);
    top->setAlignment(controls, Qt::AlignTop);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 2);
    layout->setSpacing(2);
    layout->addLayout(top);
    layout->addWidget(pages_, 1);

    updateExportCharts();
    clear();
}

void AblationView::buildHeatmap(Ablation kind) {
    const bool zero = kind == Ablation::Zero;
    QCustomPlot* plot = makeTitledPlot(this, zero ? tr("Zero ablation: ΔPPL") : tr("Mean ablation: ΔPPL"), QSize(260, 200));
    plot->xAxis->setLabel(tr("head"));
    plot->yAxis->setLabel(tr("layer (L0 = block 1)"));
    plot->yAxis->setRangeReversed(true);  // L0 at the top
    plot->xAxis->grid()->setVisible(false);
    plot->yAxis->grid()->setVisible(false);
    plot->xAxis->setSubTicks(false);
    plot->yAxis->setSubTicks(false);
    plot->xAxis->setTickLength(0, 3);
    plot->yAxis->setTickLength(0, 3);

    auto* map = new QCPColorMap(plot->xAxis, plot->yAxis);
    map->setName(zero ? tr("zero ablation") : tr("mean ablation"));
    map->setInterpolate(false);
    map->setTightBoundary(false);
    map->setGradient(divergingGradient());

    auto* scale = new QCPColorScale(plot);
    plot->plotLayout()->addElement(1, 1, scale);
    scale->setType(QCPAxis::atRight);
    scale->setBarWidth(12);
    map->setColorScale(scale);
    scale->setGradient(divergingGradient());
    auto* margins = new QCPMarginGroup(plot);
    plot->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    scale->setMarginGroup(QCP::msBottom | QCP::msTop, margins);

    auto* marker = new QCPItemRect(plot);
    marker->setPen(QPen(kSelectionColor, 2.5));
    marker->setBrush(Qt::NoBrush);
    marker->setVisible(false);

    QFont small = font();
    small.setPointSize(8);
    small.setBold(true);
    QList<QCPItemText*> ranks;
    for (int i = 0; i < kTopHeads; ++i) {
        QCPItemText* t = makeLabel(plot, small);
        t->setPositionAlignment(Qt::AlignCenter);
        ranks << t;
    }

    (zero ? zeroPlot_ : meanPlot_) = plot;
    (zero ? zeroMap_ : meanMap_) = map;
    (zero ? zeroScale_ : meanScale_) = scale;
    (zero ? zeroMarker_ : meanMarker_) = marker;
    (zero ? zeroRanks_ : meanRanks_) = ranks;

    connect(plot, &QCustomPlot::afterLayout, this, [this, kind] { layoutHeatmap(kind); });
    connect(plot, &QCustomPlot::mouseMove, this, [this, kind](QMouseEvent* e) { heatmapMouseMove(kind, e); });
    connect(plot, &QCustomPlot::mousePress, this, &AblationView::heatmapMousePress);
}

void AblationView::buildStability() {
    stabilityPlot_ = makeTitledPlot(this, tr("Ranking stability (zero ablation)"), QSize(260, 200));
    addSubtitle(stabilityPlot_, font());
    stabilityPlot_->xAxis->setLabel(tr("rank, all tokens"));
    stabilityPlot_->yAxis->setLabel(tr("rank, subset"));
    stabilityDiagonal_ = new QCPItemStraightLine(stabilityPlot_);
    stabilityDiagonal_->setPen(QPen(kDiagonalColor, 1, Qt::DashLine));
    stabilityDiagonal_->point1->setCoords(1, 1);
    stabilityDiagonal_->point2->setCoords(2, 2);
    stabilityDiagonal_->setLayer(QStringLiteral("grid"));

    stabilityAll_ = stabilityPlot_->addGraph();
    stabilityAll_->setName(tr("head"));
    stabilityAll_->setLineStyle(QCPGraph::lsNone);
    stabilityAll_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc,
                                                   QColor(kOtherColor.red(), kOtherColor.green(), kOtherColor.blue(), 150), 5));
    stabilityTop_ = stabilityPlot_->addGraph();
    stabilityTop_->setName(tr("top %1 (all tokens)").arg(kTopHeads));
    stabilityTop_->setLineStyle(QCPGraph::lsNone);
    stabilityTop_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, kTopColor, 7));
    stabilitySel_ = stabilityPlot_->addGraph();
    stabilitySel_->setLineStyle(QCPGraph::lsNone);
    stabilitySel_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(kSelectionColor, 2), Qt::NoBrush, 13));
    stabilitySel_->removeFromLegend();
    legendBelow(stabilityPlot_, 3);

    QFont small = font();
    small.setPointSize(8);
    for (int i = 0; i < kTopHeads; ++i) {
        QCPItemText* t = makeLabel(stabilityPlot_, small);
        t->setColor(kTopColor.darker(150));
        stabilityLabels_ << t;
        auto* leader = new QCPItemLine(stabilityPlot_);
        leader->setPen(QPen(QColor(kTopColor.red(), kTopColor.green(), kTopColor.blue(), 140), 1));
        leader->setClipToAxisRect(true);
        leader->setVisible(false);
        stabilityLeaders_ << leader;
    }
    stabilityEmpty_ = makeLabel(stabilityPlot_, font());
    stabilityEmpty_->position->setType(QCPItemPosition::ptAxisRectRatio);
    stabilityEmpty_->position->setCoords(0.5, 0.5);
    stabilityEmpty_->setColor(QColor(100, 100, 100));
    stabilityEmpty_->setText(tr("No subset scan in this run"));

    connect(stabilityPlot_, &QCustomPlot::afterLayout, this, &AblationView::placeStabilityLabels);
    connect(stabilityPlot_, &QCustomPlot::mouseMove, this, &AblationView::scatterMouseMove);
    connect(stabilityPlot_, &QCustomPlot::mousePress, this, &AblationView::scatterMousePress);
}

void AblationView::buildAttribution() {
    attributionPlot_ = makeTitledPlot(this, tr("Attribution patching vs exact ΔPPL"), QSize(260, 200));
    addSubtitle(attributionPlot_, font());
    attrDiagonal_ = new QCPItemStraightLine(attributionPlot_);
    attrDiagonal_->setPen(QPen(kDiagonalColor, 1, Qt::DashLine));
    attrDiagonal_->point1->setCoords(0, 0);
    attrDiagonal_->point2->setCoords(1, 1);
    attrDiagonal_->setLayer(QStringLiteral("grid"));

    attrZero_ = attributionPlot_->addGraph();
    attrZero_->setName(tr("zero ablation"));
    attrZero_->setLineStyle(QCPGraph::lsNone);
    attrZero_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc,
                                               QColor(kZeroColor.red(), kZeroColor.green(), kZeroColor.blue(), 170), 6));
    attrMean_ = attributionPlot_->addGraph();
    attrMean_->setName(tr("mean ablation"));
    attrMean_->setLineStyle(QCPGraph::lsNone);
    attrMean_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssTriangle, QPen(kMeanColor, 1.3), Qt::NoBrush, 7));
    attrSel_ = attributionPlot_->addGraph();
    attrSel_->setLineStyle(QCPGraph::lsNone);
    attrSel_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(kSelectionColor, 2), Qt::NoBrush, 13));
    attrSel_->removeFromLegend();
    legendBelow(attributionPlot_, 3);

    attrEmpty_ = makeLabel(attributionPlot_, font());
    attrEmpty_->position->setType(QCPItemPosition::ptAxisRectRatio);
    attrEmpty_->position->setCoords(0.5, 0.5);
    attrEmpty_->setColor(QColor(100, 100, 100));
    attrEmpty_->setText(tr("No attribution estimates in this run"));

    connect(attributionPlot_, &QCustomPlot::afterLayout, this, &AblationView::updateAttributionTicks);
    connect(attributionPlot_, &QCustomPlot::mouseMove, this, &AblationView::scatterMouseMove);
    connect(attributionPlot_, &QCustomPlot::mousePress, this, &AblationView::scatterMousePress);
}

void AblationView::buildLinearization() {
    linearPage_ = new QWidget(pages_);
    linearSummary_ = new QLabel(linearPage_);
    linearSummary_->setWordWrap(true);
    linearSummary_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    curvePlot_ = makeTitledPlot(linearPage_, tr("Cumulative ReLU linearisation (least damaging heads first)"), QSize(260, 200));
    curvePlot_->xAxis->setLabel(tr("heads linearised N"));
    curvePlot_->yAxis->setLabel(tr("PPL / base (log scale)"));
    curvePlot_->yAxis->setScaleType(QCPAxis::stLogarithmic);
    curvePlot_->yAxis2->setVisible(true);
    curvePlot_->yAxis2->setScaleType(QCPAxis::stLogarithmic);
    curvePlot_->yAxis2->setLabel(tr("PPL"));
    curveGraph_ = curvePlot_->addGraph();
    curveGraph_->setName(tr("PPL ratio"));
    curveGraph_->setPen(QPen(kOtherColor, 2));
    curveGraph_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, kOtherColor, 6));
    curveMarks_ = curvePlot_->addGraph();
    curveMarks_->setName(tr("largest N within the limit"));
    curveMarks_->setLineStyle(QCPGraph::lsNone);
    curveMarks_->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDiamond, QPen(kSelectionColor, 1.5), QBrush(Qt::white), 11));
    legendBelow(curvePlot_, 2);
    connect(curvePlot_, &QCustomPlot::mouseMove, this, &AblationView::curveMouseMove);

    contextPlot_ = makeTitledPlot(linearPage_, tr("PPL by context length"), QSize(260, 200));
    contextPlot_->xAxis->setLabel(tr("seq_len (tokens per window)"));
    contextPlot_->yAxis->setLabel(tr("PPL"));
    contextPlot_->xAxis->setScaleType(QCPAxis::stLogarithmic);
    legendBelow(contextPlot_, 2);
    connect(contextPlot_, &QCustomPlot::mouseMove, this, &AblationView::contextMouseMove);

    curveTable_ = makeTable(linearPage_, {tr("N linearised"), tr("PPL"), tr("Ratio")});
    thresholdTable_ = makeTable(linearPage_, {tr("Threshold"), tr("N heads"), tr("PPL"), tr("Ratio")});
    thresholdTable_->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    contextTable_ = makeTable(linearPage_, {tr("seq_len"), tr("Baseline")});

    auto* tables = new QVBoxLayout;
    tables->addWidget(new QLabel(tr("<b>Cumulative curve</b>"), linearPage_));
    tables->addWidget(curveTable_, 1);
    tables->addWidget(new QLabel(tr("<b>Thresholds</b>: the most heads within each PPL ratio"), linearPage_));
    tables->addWidget(thresholdTable_);
    auto* upper = new QHBoxLayout;
    upper->addWidget(curvePlot_, 3);
    upper->addLayout(tables, 2);
    auto* contextBox = new QVBoxLayout;
    contextBox->addWidget(new QLabel(tr("<b>Context length</b>: PPL and ratio to the baseline at the same seq_len"),
                                     linearPage_));
    contextBox->addWidget(contextTable_, 1);
    auto* lowerRow = new QHBoxLayout;
    lowerRow->addWidget(contextPlot_, 3);
    lowerRow->addLayout(contextBox, 2);
    auto* layout = new QVBoxLayout(linearPage_);
    layout->setContentsMargins(4, 4, 4, 2);
    layout->addWidget(linearSummary_);
    layout->addLayout(upper, 1);
    layout->addLayout(lowerRow, 1);

    addPage(linearPage_, tr("Linearisation"),
            {{QStringLiteral("linearize_curve"), curvePlot_}, {QStringLiteral("linearize_context"), contextPlot_}});
}

void AblationView::addPage(QWidget* page, const QString& title, const QList<QPair<QString, QCustomPlot*>>& charts) {
    pageOrder_.append({page, title});
    pages_->addTab(page, title);
    extraCharts_ += charts;
    updateExportCharts();
}

bool AblationView::isPageShown(QWidget* page) const { return pages_->indexOf(page) >= 0; }

// Removed rather than hidden, so that the tab bar hides itself with a single page.
void AblationView::setPageShown(QWidget* page, bool shown) {
    const int index = pages_->indexOf(page);
    if (!shown) {
        if (index >= 0)
            pages_->removeTab(index);
        return;
    }
    if (index >= 0)
        return;
    int at = 0;
    for (const auto& [p, title] : pageOrder_) {
        if (p == page) {
            pages_->insertTab(at, page, title);
            return;
        }
        if (pages_->indexOf(p) >= 0)
            ++at;
    }
}

QList<QPair<QString, QCustomPlot*>> AblationView::charts() const {
    QList<QPair<QString, QCustomPlot*>> list;
    if (hasData()) {
        list << qMakePair(QStringLiteral("ablation_zero_heatmap"), zeroPlot_)
             << qMakePair(QStringLiteral("ablation_mean_heatmap"), meanPlot_);
        if (!result_->subsetHeads.empty())
            list << qMakePair(QStringLiteral("ablation_ranking_stability"), stabilityPlot_);
        if (result_->hasAttribution)
            list << qMakePair(QStringLiteral("ablation_attribution"), attributionPlot_);
    }
    for (const auto& chart : extraCharts_) {
        // The linearisation page's charts only with a linearisation; other pages' always.
        const bool linear = chart.second == curvePlot_ || chart.second == contextPlot_;
        if (!linear || linear_)
            list << chart;
    }
    return list;
}

void AblationView::updateExportCharts() {
    if (exportButton_)
        exportButton_->setCharts(charts());
}

// ---- data ---------------------------------------------------------------------------------

void AblationView::setResult(std::shared_ptr<const ls::AblationResult> result) {
    live_ = false;
    display(std::move(result), false);
}

void AblationView::updateResult(std::shared_ptr<const ls::AblationResult> snapshot) {
    live_ = true;
    display(std::move(snapshot), true);
}

void AblationView::display(std::shared_ptr<const ls::AblationResult> result, bool queued) {
    if (!result || result->heads.empty()) {
        result_.reset();
        layers_ = headsPerLayer_ = 0;
        full_.clear();
        subset_.clear();
        selLayer_ = 0;
        selHead_ = -1;
        std::shared_ptr<const ls::LinearizeResult> linear = linear_;
        clear();
        if (linear)
            setLinearization(std::move(linear));
        return;
    }
    setUpdatesEnabled(false);
    result_ = std::move(result);
    index();
    // Keep the selection when the head is still there, else the most damaging head.
    if (!headAt(selLayer_, selHead_)) {
        const std::vector<const ls::HeadAblation*> top = topHeads();
        selLayer_ = top.empty() ? result_->heads.front().layer : top.front()->layer;
        selHead_ = top.empty() ? result_->heads.front().head : top.front()->head;
    }
    setPageShown(headsPage_, true);
    fillHeatmaps();
    fillTopTable();
    fillSubsetTable();
    fillStability();
    fillAttribution();
    fillTexts();
    updateSelection();
    updateExportCharts();
    setUpdatesEnabled(true);
    replotAll(queued);
}

void AblationView::setLinearization(std::shared_ptr<const ls::LinearizeResult> result) {
    linear_ = std::move(result);
    fillLinearization();
    setPageShown(headsPage_, hasData() || !linear_);
    setPageShown(linearPage_, linear_ != nullptr);
    if (linear_ && !hasData())
        pages_->setCurrentWidget(linearPage_);
    updateExportCharts();
}

void AblationView::clear() {
    result_.reset();
    linear_.reset();
    live_ = false;
    layers_ = headsPerLayer_ = 0;
    full_.clear();
    subset_.clear();
    selLayer_ = 0;
    selHead_ = -1;
    summary_->setText(tr("No ablation result yet: run the analysis from the Analysis menu."));
    partial_->hide();
    for (Ablation kind : {Ablation::Zero, Ablation::Mean}) {
        QCustomPlot* plot = heatmapPlot(kind);
        colorMap(kind)->data()->clear();
        colorMap(kind)->data()->setSize(0, 0);
        plot->xAxis->setRange(-0.5, 0.5);
        plot->yAxis->setRange(-0.5, 0.5);
        plot->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
        plot->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
        colorScale(kind)->setDataRange(QCPRange(-1, 1));
        for (QCPItemText* t : rankLabels(kind))
            t->setVisible(false);
    }
    layerStep_[0] = layerStep_[1] = headStep_[0] = headStep_[1] = 0;
    zeroMarker_->setVisible(false);
    meanMarker_->setVisible(false);
    titleOf(zeroPlot_)->setText(tr("Zero ablation: ΔPPL"));
    titleOf(meanPlot_)->setText(tr("Mean ablation: ΔPPL"));
    details_->setText(tr("Click a head in a heatmap, a table row or a point for its numbers."));
    for (int r = 0; r < subsetTable_->rowCount(); ++r)
        for (int c = 0; c < subsetTable_->columnCount(); ++c)
            setCell(subsetTable_, r, c, QString());
    topTable_->setRowCount(0);
    topCaption_->setText(tr("<b>Top %1 heads</b> by zero-ablation ΔPPL").arg(kTopHeads));
    for (QCPGraph* g : {stabilityAll_, stabilityTop_, stabilitySel_, attrZero_, attrMean_, attrSel_})
        g->data()->clear();
    for (QCPItemText* t : stabilityLabels_)
        t->setVisible(false);
    for (QCPItemLine* line : stabilityLeaders_)
        line->setVisible(false);
    stabilityEmpty_->setVisible(false);
    attrEmpty_->setVisible(false);
    stabilityPlot_->xAxis->setScaleType(QCPAxis::stLinear);
    stabilityPlot_->yAxis->setScaleType(QCPAxis::stLinear);
    stabilityPlot_->xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    stabilityPlot_->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    stabilityPlot_->xAxis->setRange(0.5, 10.5);
    stabilityPlot_->yAxis->setRange(0.5, 10.5);
    attributionPlot_->xAxis->setRange(-1, 1);
    attributionPlot_->yAxis->setRange(-1, 1);
    qobject_cast<QCPTextElement*>(stabilityPlot_->plotLayout()->element(1, 0))->setText(QString());
    qobject_cast<QCPTextElement*>(attributionPlot_->plotLayout()->element(1, 0))->setText(QString());
    fillLinearization();
    setPageShown(headsPage_, true);
    setPageShown(linearPage_, false);
    pages_->setCurrentWidget(headsPage_);
    updateExportCharts();
    replotAll(false);
}

void AblationView::fitColumns(QTableWidget* table) {
    QHeaderView* header = table->horizontalHeader();
    int needed = 0;
    for (int c = 0; c < table->columnCount(); ++c)
        if (!table->isColumnHidden(c))
            needed += std::max(static_cast<QAbstractItemView*>(table)->sizeHintForColumn(c), header->sectionSizeHint(c)) + 4;
    const QHeaderView::ResizeMode mode =
        needed <= table->viewport()->width() ? QHeaderView::Stretch : QHeaderView::ResizeToContents;
    if (header->sectionResizeMode(0) != mode)
        header->setSectionResizeMode(mode);
}

bool AblationView::eventFilter(QObject* watched, QEvent* event) {
    if (watched == topTable_->viewport() && event->type() == QEvent::Resize)
        fitColumns(topTable_);
    return QWidget::eventFilter(watched, event);
}

void AblationView::replotAll(bool queued) {
    const QCustomPlot::RefreshPriority priority = queued ? QCustomPlot::rpQueuedReplot : QCustomPlot::rpRefreshHint;
    for (QCustomPlot* plot : {zeroPlot_, meanPlot_, stabilityPlot_, attributionPlot_})
        plot->replot(priority);
}

void AblationView::index() {
    int L = result_->numLayers, H = result_->numHeads;
    for (const ls::HeadAblation& a : result_->heads) {
        L = std::max(L, a.layer);
        H = std::max(H, a.head + 1);
    }
    layers_ = L;
    headsPerLayer_ = H;
    auto fill = [&](std::vector<int>& lookup, const std::vector<ls::HeadAblation>& heads) {
        lookup.assign(size_t(L) * size_t(H), -1);
        for (size_t i = 0; i < heads.size(); ++i) {
            const ls::HeadAblation& a = heads[i];
            if (a.layer >= 1 && a.layer <= L && a.head >= 0 && a.head < H)
                lookup[size_t(a.layer - 1) * H + a.head] = int(i);
        }
    };
    fill(full_, result_->heads);
    fill(subset_, result_->subsetHeads);
}

const ls::HeadAblation* AblationView::headAt(int layer, int head) const {
    if (!hasData() || layer < 1 || layer > layers_ || head < 0 || head >= headsPerLayer_)
        return nullptr;
    const int i = full_[size_t(layer - 1) * headsPerLayer_ + head];
    return i >= 0 ? &result_->heads[i] : nullptr;
}

const ls::HeadAblation* AblationView::subsetHeadAt(int layer, int head) const {
    if (!hasData() || layer < 1 || layer > layers_ || head < 0 || head >= headsPerLayer_)
        return nullptr;
    const int i = subset_[size_t(layer - 1) * headsPerLayer_ + head];
    return i >= 0 ? &result_->subsetHeads[i] : nullptr;
}

std::vector<const ls::HeadAblation*> AblationView::topHeads() const {
    std::vector<const ls::HeadAblation*> heads;
    if (!hasData())
        return heads;
    for (const ls::HeadAblation& a : result_->heads)
        if (evaluated(a) && a.zeroRank > 0 && std::isfinite(a.zeroDppl))
            heads.push_back(&a);
    std::stable_sort(heads.begin(), heads.end(),
                     [](const ls::HeadAblation* a, const ls::HeadAblation* b) { return a->zeroRank < b->zeroRank; });
    if (heads.size() > size_t(kTopHeads))
        heads.resize(kTopHeads);
    return heads;
}

void AblationView::fillHeatmaps() {
    const int L = layers_, H = headsPerLayer_;
    // QCPColorMap needs two cells per dimension to know a cell's size: a single head or layer
    // is drawn as two equal halves.
    const int nx = std::max(H, 2), ny = std::max(L, 2);
    const QCPRange keys = H >= 2 ? QCPRange(0, H - 1) : QCPRange(-0.25, 0.25);
    const QCPRange values = L >= 2 ? QCPRange(0, L - 1) : QCPRange(-0.25, 0.25);
    double limit = 0;
    for (const ls::HeadAblation& a : result_->heads) {
        if (evaluated(a))
            limit = std::max(limit, std::abs(toScale(a.zeroDppl, scale_)));
        if (evaluatedMean(a))
            limit = std::max(limit, std::abs(toScale(a.meanDppl, scale_)));
    }
    colourLimit_ = std::isfinite(limit) && limit > 0 ? limit : 1e-3;
    const QString partial = result_->complete ? QString() : tr(" · PARTIAL");
    for (Ablation kind : {Ablation::Zero, Ablation::Mean}) {
        const bool zero = kind == Ablation::Zero;
        QCPColorMap* map = colorMap(kind);
        QCPColorMapData* data = map->data();
        // Reused when the shape holds (snapshots of a running scan): no reallocation.
        if (data->keySize() != nx || data->valueSize() != ny || data->keyRange() != keys || data->valueRange() != values) {
            data->setSize(nx, ny);
            data->setRange(keys, values);
        }
        for (int y = 0; y < ny; ++y)
            for (int x = 0; x < nx; ++x) {
                const ls::HeadAblation* a = headAt(L >= 2 ? y + 1 : 1, H >= 2 ? x : 0);
                double v = std::nan("");
                if (a && (zero ? evaluated(*a) : evaluatedMean(*a)))
                    v = toScale(zero ? a->zeroDppl : a->meanDppl, scale_);
                data->setCell(x, y, v);
            }
        map->setDataRange(QCPRange(-colourLimit_, colourLimit_));
        QCPColorScale* scale = colorScale(kind);
        scale->axis()->setTicker(scaleTicker(scale_, -colourLimit_, colourLimit_, 0.12 * colourLimit_));
        scale->axis()->setLabel(scale_ == ColourScale::Linear ? tr("ΔPPL (relative)")
                                                              : tr("ΔPPL (relative, %1)").arg(scaleName(scale_)));
        QCustomPlot* plot = heatmapPlot(kind);
        plot->xAxis->setRange(-0.5, H - 0.5);
        plot->yAxis->setRange(-0.5, L - 0.5);
        titleOf(plot)->setText((zero ? tr("Zero ablation: ΔPPL") : tr("Mean ablation: ΔPPL")) + partial);

        // Rank labels of the top heads by this ablation's own rank.
        std::vector<const ls::HeadAblation*> top;
        for (const ls::HeadAblation& a : result_->heads)
            if ((zero ? evaluated(a) : evaluatedMean(a)) && (zero ? a.zeroRank : a.meanRank) > 0)
                top.push_back(&a);
        std::stable_sort(top.begin(), top.end(), [zero](const ls::HeadAblation* a, const ls::HeadAblation* b) {
            return (zero ? a->zeroRank : a->meanRank) < (zero ? b->zeroRank : b->meanRank);
        });
        const QList<QCPItemText*> labels = rankLabels(kind);
        for (int i = 0; i < labels.size(); ++i) {
            QCPItemText* t = labels[i];
            if (i >= int(top.size())) {
                t->setText(QString());
                continue;
            }
            const ls::HeadAblation* a = top[i];
            const double v = toScale(zero ? a->zeroDppl : a->meanDppl, scale_);
            const QColor c = QColor::fromRgb(map->gradient().color(v, map->dataRange(), false));
            t->setColor(c.lightnessF() < 0.55 ? Qt::white : Qt::black);
            t->setText(QString::number(zero ? a->zeroRank : a->meanRank));
            t->position->setCoords(a->head, a->layer - 1);
        }
    }
    layerStep_[0] = layerStep_[1] = headStep_[0] = headStep_[1] = 0;
    layoutHeatmap(Ablation::Zero);
    layoutHeatmap(Ablation::Mean);
}

void AblationView::layoutHeatmap(Ablation kind) {
    if (!hasData())
        return;
    const int k = kind == Ablation::Zero ? 0 : 1;
    QCustomPlot* plot = heatmapPlot(kind);
    const int L = layers_, H = headsPerLayer_;
    // Before the first layout the axis rect is tiny: assume a usual size.
    const int width = plot->axisRect()->width() > 50 ? plot->axisRect()->width() : 400;
    const int height = plot->axisRect()->height() > 50 ? plot->axisRect()->height() : 300;
    const int layerStep = labelStep(L, height, fontMetrics().height() + 2);
    const int headStep = labelStep(H, width, fontMetrics().horizontalAdvance(QStringLiteral("000")) + 6);
    // A new ticker takes effect at the next replot (ticks are made before afterLayout).
    const bool changed = layerStep != layerStep_[k] || headStep != headStep_[k];
    if (layerStep != layerStep_[k]) {
        layerStep_[k] = layerStep;
        QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
        for (int l = 0; l < L; l += layerStep)
            ticker->addTick(l, QStringLiteral("L%1").arg(l));
        plot->yAxis->setTicker(ticker);
    }
    if (headStep != headStep_[k]) {
        headStep_[k] = headStep;
        QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
        for (int h = 0; h < H; h += headStep)
            ticker->addTick(h, QString::number(h));
        plot->xAxis->setTicker(ticker);
    }
    if (changed && plot->axisRect()->width() > 50)
        plot->replot(QCustomPlot::rpQueuedReplot);
    // Rank numbers only in cells that hold them.
    const double cellWidth = double(width) / std::max(H, 1), cellHeight = double(height) / std::max(L, 1);
    QFont f = rankLabels(kind).front()->font();
    const QFontMetrics fm(f);
    const bool fits = cellWidth >= fm.horizontalAdvance(QStringLiteral("10")) + 4 && cellHeight >= fm.height();
    for (QCPItemText* t : rankLabels(kind))
        t->setVisible(fits && !t->text().isEmpty());
}

void AblationView::fillTopTable() {
    const std::vector<const ls::HeadAblation*> top = topHeads();
    const bool subset = !result_->subsetHeads.empty();
    const QString sub = compactTokens(result_->subsetTokens);
    topTable_->horizontalHeaderItem(1)->setText(tr("Rank\n(%1)").arg(sub));
    topTable_->horizontalHeaderItem(4)->setText(tr("ΔPPL zero\n(%1)").arg(sub));
    topTable_->setColumnHidden(1, !subset);
    topTable_->setColumnHidden(4, !subset);
    topTable_->setRowCount(int(top.size()));
    for (int row = 0; row < int(top.size()); ++row) {
        const ls::HeadAblation& a = *top[row];
        const ls::HeadAblation* s = subsetHeadAt(a.layer, a.head);
        setCell(topTable_, row, 0, rankText(a.zeroRank), Qt::AlignCenter);
        setCell(topTable_, row, 1, s ? rankText(s->zeroRank) : dash(), Qt::AlignCenter);
        setCell(topTable_, row, 2, QString::fromStdString(a.name()), Qt::AlignCenter);
        setCell(topTable_, row, 3, signedNumber(a.zeroDppl));
        setCell(topTable_, row, 4, s ? signedNumber(s->zeroDppl) : dash());
        setCell(topTable_, row, 5, evaluatedMean(a) ? signedNumber(a.meanDppl) : dash());
        setCell(topTable_, row, 6, evaluatedMean(a) ? ratioText(a.zeroMeanRatio) : dash());
        const QString tip = cellToolTip(Ablation::Zero, a.layer, a.head);
        for (int c = 0; c < topTable_->columnCount(); ++c)
            topTable_->item(row, c)->setToolTip(tip);
    }
    fitColumns(topTable_);
    topCaption_->setText(subset ? tr("<b>Top %1 heads</b> by zero-ablation ΔPPL on all %2 tokens; subset: the first %3")
                                      .arg(kTopHeads)
                                      .arg(count(result_->tokens), count(result_->subsetTokens))
                                : tr("<b>Top %1 heads</b> by zero-ablation ΔPPL (%2 tokens)").arg(kTopHeads).arg(count(result_->tokens)));
}

void AblationView::fillSubsetTable() {
    const ls::AblationResult& r = *result_;
    const bool subset = !r.subsetHeads.empty();
    subsetTable_->horizontalHeaderItem(1)->setText(subset ? compactTokens(r.subsetTokens) : tr("subset"));
    subsetTable_->horizontalHeaderItem(2)->setText(tr("all (%1)").arg(compactTokens(r.tokens)));
    const QString none = dash();
    setCell(subsetTable_, 0, 0, tr("Windows"), Qt::AlignLeft | Qt::AlignVCenter);
    setCell(subsetTable_, 0, 1, subset ? count(r.subsetWindows) : none);
    setCell(subsetTable_, 0, 2, count(r.windows));
    setCell(subsetTable_, 0, 3, subset ? times(double(r.subsetWindows), double(r.windows)) : none);
    setCell(subsetTable_, 1, 0, tr("Tokens"), Qt::AlignLeft | Qt::AlignVCenter);
    setCell(subsetTable_, 1, 1, subset ? count(r.subsetTokens) : none);
    setCell(subsetTable_, 1, 2, count(r.tokens));
    setCell(subsetTable_, 1, 3, subset ? times(double(r.subsetTokens), double(r.tokens)) : none);
    setCell(subsetTable_, 2, 0, tr("Base PPL"), Qt::AlignLeft | Qt::AlignVCenter);
    setCell(subsetTable_, 2, 1, subset ? ppl(r.subsetBasePpl) : none);
    setCell(subsetTable_, 2, 2, ppl(r.basePpl));
    setCell(subsetTable_, 2, 3, subset ? relativeChange(r.subsetBasePpl, r.basePpl) : none);
}

void AblationView::fillStability() {
    const ls::AblationResult& r = *result_;
    QVector<double> xs, ys, topX, topY;
    int n = 0;
    const std::vector<const ls::HeadAblation*> topList = topHeads();
    for (const ls::HeadAblation& a : r.heads) {
        const ls::HeadAblation* s = subsetHeadAt(a.layer, a.head);
        if (!s || a.zeroRank <= 0 || s->zeroRank <= 0 || !evaluated(a))
            continue;
        ++n;
        const bool top = std::find(topList.begin(), topList.end(), &a) != topList.end();
        (top ? topX : xs) << a.zeroRank;
        (top ? topY : ys) << s->zeroRank;
    }
    stabilityAll_->setData(xs, ys);
    stabilityTop_->setData(topX, topY);
    stabilityEmpty_->setVisible(n == 0);
    stabilityDiagonal_->setVisible(n > 0);
    const int heads = std::max<int>(int(r.heads.size()), 2);
    const bool log = heads > 20;
    for (QCPAxis* axis : {stabilityPlot_->xAxis, stabilityPlot_->yAxis}) {
        axis->setScaleType(log ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
        if (log) {
            QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
            for (int base = 1; base <= heads * 10; base *= 10)
                for (int m : {1, 2, 5})
                    if (base * m <= heads)
                        ticker->addTick(base * m, QString::number(base * m));
            ticker->setSubTickCount(0);
            axis->setTicker(ticker);
            axis->setRange(0.8, heads * 1.25);
        } else {
            QSharedPointer<QCPAxisTickerFixed> ticker(new QCPAxisTickerFixed);  // whole ranks
            ticker->setTickStep(heads <= 10 ? 1 : heads <= 20 ? 2 : 5);
            ticker->setScaleStrategy(QCPAxisTickerFixed::ssNone);
            axis->setSubTicks(false);
            axis->setTicker(ticker);
            axis->setRange(0.3, heads + 0.7);
        }
    }
    const QString sub = compactTokens(r.subsetTokens);
    stabilityPlot_->xAxis->setLabel(tr("rank, all %1 tokens").arg(compactTokens(r.tokens)));
    stabilityPlot_->yAxis->setLabel(tr("rank, first %1 tokens").arg(sub));
    qobject_cast<QCPTextElement*>(stabilityPlot_->plotLayout()->element(1, 0))->setText(stabilityText());

    // Names of the top heads, placed beside their points after each layout.
    const std::vector<const ls::HeadAblation*> top = topHeads();
    stabilityAnchors_.clear();
    for (int i = 0; i < stabilityLabels_.size(); ++i) {
        QCPItemText* t = stabilityLabels_[i];
        const ls::HeadAblation* a = i < int(top.size()) ? top[i] : nullptr;
        const ls::HeadAblation* s = a ? subsetHeadAt(a->layer, a->head) : nullptr;
        const QPointF anchor = a && s ? QPointF(a->zeroRank, s->zeroRank) : QPointF();
        stabilityAnchors_ << anchor;
        if (!a || !s || s->zeroRank <= 0) {
            t->setVisible(false);
            stabilityLeaders_[i]->setVisible(false);
            continue;
        }
        t->setText(QString::fromStdString(a->name()));
        t->position->setCoords(anchor);
        t->setVisible(true);
    }
    placeStabilityLabels();
}

void AblationView::placeStabilityLabels() {
    if (!hasData())
        return;
    QCustomPlot* plot = stabilityPlot_;
    const QRectF area = plot->axisRect()->rect();
    auto pixel = [plot](const QPointF& c) {
        return QPointF(plot->xAxis->coordToPixel(c.x()), plot->yAxis->coordToPixel(c.y()));
    };
    // The top heads' points and, label by label in rank order, the rects taken so far.
    QList<QRectF> taken;
    for (int i = 0; i < stabilityLabels_.size() && i < stabilityAnchors_.size(); ++i)
        if (stabilityLabels_[i]->visible()) {
            const QPointF p = pixel(stabilityAnchors_[i]);
            taken << QRectF(p.x() - 4, p.y() - 4, 8, 8);
        }
    for (int i = 0; i < stabilityLabels_.size() && i < stabilityAnchors_.size(); ++i) {
        QCPItemText* t = stabilityLabels_[i];
        if (!t->visible())
            continue;
        const QPointF p = pixel(stabilityAnchors_[i]);
        const QFontMetricsF fm(t->font());
        const QSizeF s(fm.horizontalAdvance(t->text()) + 2, fm.height());
        // Right below, left above (off the diagonal), then the other sides; further out if crowded.
        QList<QPointF> offsets;
        for (double g : {5.0, 14.0, 24.0, 36.0, 50.0})
            offsets << QPointF(g, g - 4) << QPointF(-g - s.width(), 3 - g - s.height()) << QPointF(g, -s.height() / 2)
                    << QPointF(-g - s.width(), -s.height() / 2) << QPointF(g, 3 - g - s.height())
                    << QPointF(-g - s.width(), g - 4) << QPointF(-s.width() / 2, -g - s.height())
                    << QPointF(-s.width() / 2, g);
        QRectF chosen;
        bool found = false;
        for (const QPointF& o : offsets) {
            const QRectF r(p + o, s);
            if (!area.contains(r))
                continue;
            bool clash = false;
            for (const QRectF& q : taken)  // a pixel apart: the drawn text may be a little larger
                clash = clash || q.intersects(r.adjusted(-1.5, -1.5, 1.5, 1.5));
            if (!clash) {
                chosen = r;
                found = true;
                break;
            }
        }
        if (!found) {  // crowded: the first place inside the chart
            chosen = QRectF(p + offsets[0], s);
            for (const QPointF& o : offsets)
                if (area.contains(QRectF(p + o, s))) {
                    chosen = QRectF(p + o, s);
                    break;
                }
        }
        taken << chosen;
        // A label away from its point gets a line to it.
        const QPointF nearest(std::clamp(p.x(), chosen.left(), chosen.right()), std::clamp(p.y(), chosen.top(), chosen.bottom()));
        QCPItemLine* leader = stabilityLeaders_[i];
        leader->setVisible(std::hypot(nearest.x() - p.x(), nearest.y() - p.y()) > 9);
        leader->start->setPixelPosition(p);
        leader->end->setPixelPosition(nearest);
        t->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
        t->setPadding(QMargins());
        t->position->setPixelPosition(chosen.topLeft());
    }
}

// The attribution axes' ticks keep their labels apart at the chart's current size.
void AblationView::updateAttributionTicks() {
    QCPAxisRect* rect = attributionPlot_->axisRect();
    const QSize pixels(rect->width() > 50 ? rect->width() : 300, rect->height() > 50 ? rect->height() : 250);
    if (pixels == attributionTickPixels_)
        return;
    const bool laidOut = attributionTickPixels_.isValid() && rect->width() > 50;
    attributionTickPixels_ = pixels;
    const QFontMetrics fm(attributionPlot_->xAxis->tickLabelFont());
    const QCPRange x = attributionPlot_->xAxis->range(), y = attributionPlot_->yAxis->range();
    attributionPlot_->xAxis->setTicker(
        scaleTicker(scale_, x.lower, x.upper, x.size() * (fm.horizontalAdvance(QStringLiteral("+0.01")) + 12) / pixels.width()));
    attributionPlot_->yAxis->setTicker(scaleTicker(scale_, y.lower, y.upper, y.size() * (fm.height() + 8) / pixels.height()));
    if (laidOut)  // a new ticker takes effect at the next replot
        attributionPlot_->replot(QCustomPlot::rpQueuedReplot);
}

void AblationView::fillAttribution() {
    const ls::AblationResult& r = *result_;
    QVector<double> zx, zy, mx, my;
    double lo = 0, hi = 0;
    if (r.hasAttribution)
        for (const ls::HeadAblation& a : r.heads) {
            if (evaluated(a) && std::isfinite(a.estZeroDloss)) {
                zx << toScale(a.zeroDppl, scale_);
                zy << toScale(std::expm1(a.estZeroDloss), scale_);
            }
            if (evaluatedMean(a) && std::isfinite(a.estMeanDloss)) {
                mx << toScale(a.meanDppl, scale_);
                my << toScale(std::expm1(a.estMeanDloss), scale_);
            }
        }
    for (const QVector<double>* v : {&zx, &zy, &mx, &my})
        for (double x : *v)
            if (std::isfinite(x)) {
                lo = std::min(lo, x);
                hi = std::max(hi, x);
            }
    attrZero_->setData(zx, zy);
    attrMean_->setData(mx, my);
    const bool any = !zx.isEmpty() || !mx.isEmpty();
    attrEmpty_->setVisible(!any);
    attrDiagonal_->setVisible(any);
    if (hi - lo <= 0)
        hi = lo + 1;
    const double pad = 0.06 * (hi - lo);
    for (QCPAxis* axis : {attributionPlot_->xAxis, attributionPlot_->yAxis})
        axis->setRange(lo - pad, hi + pad);
    attributionTickPixels_ = QSize();
    updateAttributionTicks();
    const QString suffix = scale_ == ColourScale::Linear ? QString() : tr(" (%1)").arg(scaleName(scale_));
    attributionPlot_->xAxis->setLabel(tr("exact ΔPPL") + suffix);
    attributionPlot_->yAxis->setLabel(tr("estimated ΔPPL") + suffix);
    qobject_cast<QCPTextElement*>(attributionPlot_->plotLayout()->element(1, 0))->setText(attributionText());
}

QString AblationView::stabilityText() const {
    if (!hasData())
        return {};
    const ls::AblationResult& r = *result_;
    if (r.subsetHeads.empty())
        return tr("no subset scan");
    auto corr = [](double v) { return std::isfinite(v) ? QString::number(v, 'f', 3) : dash(); };
    return tr("first %1 tokens (PPL %2) vs all %3\nSpearman ρ = %4 · Kendall τ = %5")
        .arg(count(r.subsetTokens), ppl(r.subsetBasePpl), count(r.tokens), corr(r.spearman), corr(r.kendall));
}

QString AblationView::attributionText() const {
    if (!hasData())
        return {};
    const ls::AblationResult& r = *result_;
    if (!r.hasAttribution)
        return tr("not estimated in this run");
    auto corr = [](double v) { return std::isfinite(v) ? QString::number(v, 'f', 3) : dash(); };
    return tr("Spearman ρ: zero %1 · mean %2\n(estimate vs exact, %3)")
        .arg(corr(r.attributionSpearmanZero), corr(r.attributionSpearmanMean), duration(r.attributionSeconds));
}

QString AblationView::summaryText() const {
    if (!hasData())
        return {};
    const ls::AblationResult& r = *result_;
    int done = 0;
    for (const ls::HeadAblation& a : r.heads)
        done += evaluated(a) ? 1 : 0;
    const int total = layers_ * headsPerLayer_;
    QString status;
    if (r.complete)
        status = tr("complete");
    else
        status = live_ ? tr("PARTIAL (scan running)") : tr("PARTIAL (canceled)");
    QString heads = tr("%1 heads (%2 layers × %3)").arg(total).arg(layers_).arg(headsPerLayer_);
    if (done < total)
        heads = tr("%1 of %2 heads (%3 layers × %4) evaluated").arg(done).arg(total).arg(layers_).arg(headsPerLayer_);
    QString timing = duration(r.seconds);
    QStringList parts;
    if (r.baselineSeconds > 0)
        parts << tr("baseline %1").arg(duration(r.baselineSeconds));
    if (r.hasAttribution && r.attributionSeconds > 0)
        parts << tr("attribution %1").arg(duration(r.attributionSeconds));
    if (!parts.isEmpty())
        timing += QStringLiteral(" (%1)").arg(parts.join(QStringLiteral(", ")));
    return tr("Base PPL %1 (loss %2 nats) · %3 tokens · %4 windows · %5 · %6 · %7")
        .arg(ppl(r.basePpl), QString::number(r.baseLoss, 'f', 4), count(r.tokens), count(r.windows), heads, status,
             timing);
}

void AblationView::fillTexts() {
    const ls::AblationResult& r = *result_;
    const QString text = summaryText().toHtmlEscaped();
    const QString status = r.complete ? tr("complete") : live_ ? tr("PARTIAL (scan running)") : tr("PARTIAL (canceled)");
    QString html = text;
    html.replace(status.toHtmlEscaped(), QStringLiteral("<b style='color:%1'>%2</b>")
                                             .arg(r.complete ? QStringLiteral("#4e9a06") : kPartialColor.name(),
                                                  status.toHtmlEscaped()));
    summary_->setText(html);
    if (r.complete) {
        partial_->hide();
    } else {
        int pending = 0;
        for (const ls::HeadAblation& a : r.heads)
            pending += evaluated(a) ? 0 : 1;
        pending += std::max(0, layers_ * headsPerLayer_ - int(r.heads.size()));
        partial_->setText(live_ ? tr("PARTIAL: scan in progress, the heads evaluated so far on the first %1 windows (%2 "
                                     "tokens)%3.")
                                      .arg(count(r.windows), count(r.tokens),
                                           pending == 1  ? tr("; grey: 1 head not evaluated yet")
                                           : pending > 1 ? tr("; grey: %1 heads not evaluated yet").arg(pending)
                                                         : QString())
                                : tr("PARTIAL (canceled): every head was evaluated on the first %1 windows (%2 "
                                     "tokens) only.")
                                      .arg(count(r.windows), count(r.tokens)));
        partial_->show();
    }
}

// ---- selection --------------------------------------------------------------------------------

void AblationView::selectHead(int layer, int head) {
    if (!headAt(layer, head)) {
        layer = 0;
        head = -1;
    }
    const bool changed = layer != selLayer_ || head != selHead_;
    selLayer_ = layer;
    selHead_ = head;
    if (!hasData())
        return;
    updateSelection();
    replotAll(false);
    if (changed && layer > 0)
        emit headSelected(layer, head);
}

void AblationView::updateSelection() {
    const ls::HeadAblation* a = headAt(selLayer_, selHead_);
    for (QCPItemRect* marker : {zeroMarker_, meanMarker_}) {
        marker->setVisible(a != nullptr);
        if (a) {
            marker->topLeft->setCoords(a->head - 0.5, a->layer - 1 - 0.5);
            marker->bottomRight->setCoords(a->head + 0.5, a->layer - 1 + 0.5);
        }
    }
    stabilitySel_->data()->clear();
    attrSel_->data()->clear();
    if (a) {
        if (const ls::HeadAblation* s = subsetHeadAt(a->layer, a->head); s && s->zeroRank > 0 && a->zeroRank > 0)
            stabilitySel_->addData(a->zeroRank, s->zeroRank);
        if (result_->hasAttribution) {
            if (evaluated(*a))
                attrSel_->addData(toScale(a->zeroDppl, scale_), toScale(std::expm1(a->estZeroDloss), scale_));
            if (evaluatedMean(*a))
                attrSel_->addData(toScale(a->meanDppl, scale_), toScale(std::expm1(a->estMeanDloss), scale_));
        }
    }
    // The table row, if the head is in the top 10.
    const std::vector<const ls::HeadAblation*> top = topHeads();
    const auto it = std::find(top.begin(), top.end(), a);
    {
        const QSignalBlocker block(topTable_);
        if (a && it != top.end())
            topTable_->selectRow(int(it - top.begin()));
        else
            topTable_->clearSelection();
    }

    if (!a) {
        details_->setText(tr("Click a head in a heatmap, a table row or a point for its numbers."));
        return;
    }
    const ls::HeadAblation* s = subsetHeadAt(a->layer, a->head);
    const ls::AblationResult& r = *result_;
    const bool subset = s != nullptr;
    struct Row {
        QString label, all, sub;
    };
    auto abs = [](double p, double base) {
        return std::isfinite(p) && p > 0 ? signedNumber(p - base, 2) : dash();
    };
    const bool zeroDone = evaluated(*a), meanDone = evaluatedMean(*a);
    QList<Row> rows{
        {tr("Zero-ablation PPL"), zeroDone ? ppl(a->zeroPpl) : dash(), subset ? ppl(s->zeroPpl) : QString()},
        {tr("  ΔPPL (relative)"), zeroDone ? signedNumber(a->zeroDppl) : dash(), subset ? signedNumber(s->zeroDppl) : QString()},
        {tr("  ΔPPL (absolute)"), abs(a->zeroPpl, r.basePpl), subset ? abs(s->zeroPpl, r.subsetBasePpl) : QString()},
        {tr("  rank"), rankText(a->zeroRank), subset ? rankText(s->zeroRank) : QString()},
        {tr("Mean-ablation PPL"), meanDone ? ppl(a->meanPpl) : dash(), subset ? ppl(s->meanPpl) : QString()},
        {tr("  ΔPPL (relative)"), meanDone ? signedNumber(a->meanDppl) : dash(), subset ? signedNumber(s->meanDppl) : QString()},
        {tr("  ΔPPL (absolute)"), abs(a->meanPpl, r.basePpl), subset ? abs(s->meanPpl, r.subsetBasePpl) : QString()},
        {tr("  rank"), rankText(a->meanRank), subset ? rankText(s->meanRank) : QString()},
        {tr("zero / mean"), zeroDone && meanDone ? ratioText(a->zeroMeanRatio) : dash(),
         subset ? ratioText(s->zeroMeanRatio) : QString()},
    };
    if (r.hasAttribution) {
        rows.append({tr("Estimate, zero: ΔPPL"), signedNumber(std::expm1(a->estZeroDloss)), QString()});
        rows.append({tr("  Δloss (nats)"), signedNumber(a->estZeroDloss, 4), QString()});
        rows.append({tr("Estimate, mean: ΔPPL"), signedNumber(std::expm1(a->estMeanDloss)), QString()});
        rows.append({tr("  Δloss (nats)"), signedNumber(a->estMeanDloss, 4), QString()});
    }
    const QString subName = compactTokens(r.subsetTokens);
    QString html = tr("<b style='font-size:large'>%1</b> &nbsp;block %2, head %3<br>base PPL %4")
                       .arg(QString::fromStdString(a->name()))
                       .arg(a->layer)
                       .arg(a->head)
                       .arg(ppl(r.basePpl));
    html += QStringLiteral("<table cellspacing='0' cellpadding='1' width='100%'><tr><th></th><th align='right'>%1</th>%2</tr>")
                .arg(tr("all"), subset ? QStringLiteral("<th align='right'>%1</th>").arg(subName) : QString());
    for (const Row& row : rows) {
        QString label = row.label.toHtmlEscaped();
        if (label.startsWith(QStringLiteral("  ")))
            label = QStringLiteral("&nbsp;&nbsp;&nbsp;") + label.mid(2);
        html += QStringLiteral("<tr><td>%1</td><td align='right'>%2</td>%3</tr>")
                    .arg(label, row.all.toHtmlEscaped(),
                         subset ? QStringLiteral("<td align='right'>%1</td>").arg(row.sub.toHtmlEscaped()) : QString());
    }
    html += QStringLiteral("</table>");
    details_->setText(html);
}

QString AblationView::detailsText() const {
    const ls::HeadAblation* a = headAt(selLayer_, selHead_);
    if (!a)
        return {};
    const ls::HeadAblation* s = subsetHeadAt(a->layer, a->head);
    const ls::AblationResult& r = *result_;
    QStringList lines;
    lines << tr("%1: block %2, head %3").arg(QString::fromStdString(a->name())).arg(a->layer).arg(a->head);
    lines << tr("zero: PPL %1, ΔPPL %2 (%3 PPL), rank %4")
                 .arg(ppl(a->zeroPpl), signedNumber(a->zeroDppl), signedNumber(a->zeroPpl - r.basePpl, 2),
                      rankText(a->zeroRank));
    lines << tr("mean: PPL %1, ΔPPL %2 (%3 PPL), rank %4")
                 .arg(ppl(a->meanPpl), signedNumber(a->meanDppl), signedNumber(a->meanPpl - r.basePpl, 2),
                      rankText(a->meanRank));
    lines << tr("zero / mean: %1").arg(ratioText(a->zeroMeanRatio));
    if (s)
        lines << tr("subset (first %1 tokens): zero ΔPPL %2, rank %3; mean ΔPPL %4; zero / mean %5")
                     .arg(count(r.subsetTokens), signedNumber(s->zeroDppl), rankText(s->zeroRank),
                          signedNumber(s->meanDppl), ratioText(s->zeroMeanRatio));
    if (r.hasAttribution)
        lines << tr("estimate: zero ΔPPL %1 (Δloss %2), mean ΔPPL %3 (Δloss %4)")
                     .arg(signedNumber(std::expm1(a->estZeroDloss)), signedNumber(a->estZeroDloss, 4),
                          signedNumber(std::expm1(a->estMeanDloss)), signedNumber(a->estMeanDloss, 4));
    return lines.join('\n');
}

QString AblationView::cellToolTip(Ablation kind, int layer, int head) const {
    const ls::HeadAblation* a = headAt(layer, head);
    if (!hasData() || layer < 1 || layer > layers_ || head < 0 || head >= headsPerLayer_)
        return {};
    const QString title = tr("%1 (block %2, head %3)").arg(headName(layer, head)).arg(layer).arg(head);
    if (!a || !evaluated(*a))
        return tr("%1\nnot evaluated yet").arg(title);
    const ls::AblationResult& r = *result_;
    const int total = int(r.heads.size());
    auto line = [&](bool zero) {
        const double p = zero ? a->zeroPpl : a->meanPpl;
        if (!(std::isfinite(p) && p > 0))
            return tr("%1 ablation: not evaluated yet").arg(zero ? tr("zero") : tr("mean"));
        return tr("%1 ablation: PPL %2 (base %3)\n  ΔPPL %4 relative, %5 PPL absolute\n  rank %6 of %7")
            .arg(zero ? tr("Zero") : tr("Mean"), ppl(p), ppl(r.basePpl),
                 signedNumber(zero ? a->zeroDppl : a->meanDppl, 4), signedNumber(p - r.basePpl, 2),
                 rankText(zero ? a->zeroRank : a->meanRank))
            .arg(total);
    };
    const bool zeroFirst = kind == Ablation::Zero;
    QStringList lines{title, line(zeroFirst), line(!zeroFirst)};
    lines << tr("zero / mean: %1").arg(ratioText(a->zeroMeanRatio));
    if (r.hasAttribution)
        lines << tr("estimate: ΔPPL %1 zero, %2 mean")
                     .arg(signedNumber(std::expm1(a->estZeroDloss), 4), signedNumber(std::expm1(a->estMeanDloss), 4));
    if (const ls::HeadAblation* s = subsetHeadAt(layer, head))
        lines << tr("first %1 tokens: zero ΔPPL %2, rank %3").arg(count(r.subsetTokens), signedNumber(s->zeroDppl, 4),
                                                                   rankText(s->zeroRank));
    return lines.join('\n');
}

void AblationView::setColourScale(ColourScale scale) {
    {
        const QSignalBlocker b1(logCheck_), b2(logCombo_);
        logCheck_->setChecked(scale != ColourScale::Linear);
        if (scale != ColourScale::Linear)
            logCombo_->setCurrentIndex(scale == ColourScale::SignedSqrt ? 1 : 0);
        logCombo_->setEnabled(scale != ColourScale::Linear);
    }
    if (scale == scale_)
        return;
    scale_ = scale;
    if (!hasData())
        return;
    fillHeatmaps();
    fillAttribution();
    updateSelection();
    replotAll(false);
}

// ---- hover and click -------------------------------------------------------------------------

bool AblationView::cellAt(QCustomPlot* plot, const QPointF& pos, int* layer, int* head) const {
    if (!hasData() || !plot->axisRect()->rect().contains(pos.toPoint()))
        return false;
    const int h = int(std::lround(plot->xAxis->pixelToCoord(pos.x())));
    const int l = int(std::lround(plot->yAxis->pixelToCoord(pos.y()))) + 1;
    if (l < 1 || l > layers_ || h < 0 || h >= headsPerLayer_)
        return false;
    *layer = l;
    *head = h;
    return true;
}

void AblationView::heatmapMouseMove(Ablation kind, QMouseEvent* event) {
    int layer = 0, head = 0;
    QCustomPlot* plot = heatmapPlot(kind);
    if (cellAt(plot, event->position(), &layer, &head))
        QToolTip::showText(event->globalPosition().toPoint(), cellToolTip(kind, layer, head), plot);
    else
        QToolTip::hideText();
}

void AblationView::heatmapMousePress(QMouseEvent* event) {
    if (event->button() != Qt::LeftButton)
        return;
    auto* plot = qobject_cast<QCustomPlot*>(sender());
    int layer = 0, head = 0;
    if (plot && cellAt(plot, event->position(), &layer, &head))
        selectHead(layer, head);
}

const ls::HeadAblation* AblationView::nearestPoint(QCustomPlot* plot, const QPointF& pos, Ablation* kind) const {
    if (!hasData() || !plot->axisRect()->rect().contains(pos.toPoint()))
        return nullptr;
    double best = 12.0 * 12.0;
    const ls::HeadAblation* found = nullptr;
    auto consider = [&](const ls::HeadAblation& a, double x, double y, Ablation k) {
        if (!std::isfinite(x) || !std::isfinite(y))
            return;
        const double dx = plot->xAxis->coordToPixel(x) - pos.x(), dy = plot->yAxis->coordToPixel(y) - pos.y();
        if (dx * dx + dy * dy < best) {
            best = dx * dx + dy * dy;
            found = &a;
            if (kind)
                *kind = k;
        }
    };
    for (const ls::HeadAblation& a : result_->heads) {
        if (plot == stabilityPlot_) {
            const ls::HeadAblation* s = subsetHeadAt(a.layer, a.head);
            if (s && a.zeroRank > 0 && s->zeroRank > 0)
                consider(a, a.zeroRank, s->zeroRank, Ablation::Zero);
        } else if (plot == attributionPlot_ && result_->hasAttribution) {
            if (evaluated(a))
                consider(a, toScale(a.zeroDppl, scale_), toScale(std::expm1(a.estZeroDloss), scale_), Ablation::Zero);
            if (evaluatedMean(a))
                consider(a, toScale(a.meanDppl, scale_), toScale(std::expm1(a.estMeanDloss), scale_), Ablation::Mean);
        }
    }
    return found;
}

void AblationView::scatterMouseMove(QMouseEvent* event) {
    auto* plot = qobject_cast<QCustomPlot*>(sender());
    Ablation kind = Ablation::Zero;
    const ls::HeadAblation* a = plot ? nearestPoint(plot, event->position(), &kind) : nullptr;
    if (!a) {
        QToolTip::hideText();
        return;
    }
    QString text;
    if (plot == stabilityPlot_) {
        const ls::HeadAblation* s = subsetHeadAt(a->layer, a->head);
        text = tr("%1: rank %2 on all tokens (ΔPPL %3), %4 on the first %5 (ΔPPL %6)")
                   .arg(QString::fromStdString(a->name()), rankText(a->zeroRank), signedNumber(a->zeroDppl, 4),
                        rankText(s->zeroRank), count(result_->subsetTokens), signedNumber(s->zeroDppl, 4));
    } else {
        const bool zero = kind == Ablation::Zero;
        text = tr("%1, %2 ablation\nexact ΔPPL %3\nestimated ΔPPL %4 (Δloss %5 nats)")
                   .arg(QString::fromStdString(a->name()), zero ? tr("zero") : tr("mean"),
                        signedNumber(zero ? a->zeroDppl : a->meanDppl, 4),
                        signedNumber(std::expm1(zero ? a->estZeroDloss : a->estMeanDloss), 4),
                        signedNumber(zero ? a->estZeroDloss : a->estMeanDloss, 4));
    }
    QToolTip::showText(event->globalPosition().toPoint(), text, plot);
}

void AblationView::scatterMousePress(QMouseEvent* event) {
    if (event->button() != Qt::LeftButton)
        return;
    auto* plot = qobject_cast<QCustomPlot*>(sender());
    if (const ls::HeadAblation* a = plot ? nearestPoint(plot, event->position(), nullptr) : nullptr)
        selectHead(a->layer, a->head);
}

// ---- linearisation ---------------------------------------------------------------------------

void AblationView::fillLinearization() {
    for (QCPItemStraightLine* line : limitLines_)
        curvePlot_->removeItem(line);
    for (QCPItemText* text : limitLabels_)
        curvePlot_->removeItem(text);
    limitLines_.clear();
    limitLabels_.clear();
    for (QCPGraph* g : contextGraphs_)
        contextPlot_->removeGraph(g);
    contextGraphs_.clear();
    contextHeads_.clear();
    curveGraph_->data()->clear();
    curveMarks_->data()->clear();
    if (!linear_) {
        linearSummary_->clear();
        curveTable_->setRowCount(0);
        thresholdTable_->setRowCount(0);
        contextTable_->setRowCount(0);
        curvePlot_->replot();
        contextPlot_->replot();
        return;
    }
    const ls::LinearizeResult& r = *linear_;
    linearSummary_->setText(
        tr("<b>ReLU linearisation.</b> A head's softmax weights become relu(q·k / √d) under the causal mask, divided "
           "by %1; heads are linearised cumulatively in order of increasing damage alone. Base PPL %2 · %3 tokens · "
           "%4 unprotected heads · %5")
            .arg(r.normalize == "rowsum" ? tr("the row sum") : tr("the number of attended positions"))
            .arg(ppl(r.basePpl), count(r.tokens))
            .arg(r.heads.size())
            .arg(duration(r.seconds)));

    // The curve: ratio on the left (log), PPL on the right (the same curve, base x ratio).
    QVector<double> ns, ratios;
    double lo = 1, hi = 1;
    int maxN = 1;
    for (const ls::CurvePoint& p : r.curve) {
        if (!std::isfinite(p.ratio) || p.ratio <= 0)
            continue;
        ns << p.nHeads;
        ratios << p.ratio;
        lo = std::min(lo, p.ratio);
        hi = std::max(hi, p.ratio);
        maxN = std::max(maxN, p.nHeads);
    }
    curveGraph_->setData(ns, ratios, true);
    QVector<double> markN, markRatio;
    QFont small = font();
    small.setPointSize(8);
    for (int i = 0; i < int(r.thresholds.size()); ++i) {
        const ls::LinearizeThreshold& t = r.thresholds[i];
        const QColor color = kLimitColors[i % kLimitColors.size()];
        auto* line = new QCPItemStraightLine(curvePlot_);
        line->setPen(QPen(color, 1.2, Qt::DashLine));
        line->point1->setCoords(0, t.limit);
        line->point2->setCoords(1, t.limit);
        limitLines_ << line;
        auto* label = new QCPItemText(curvePlot_);
        label->setFont(small);
        label->setColor(color.darker(130));
        label->position->setTypeX(QCPItemPosition::ptAxisRectRatio);
        label->position->setTypeY(QCPItemPosition::ptPlotCoords);
        label->position->setCoords(0.01, t.limit);
        label->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
        label->setText(tr("%1: N = %2").arg(limitText(t.limit)).arg(t.nHeads));
        limitLabels_ << label;
        hi = std::max(hi, t.limit);
        if (std::isfinite(t.ratio) && t.ratio > 0) {
            markN << t.nHeads;
            markRatio << t.ratio;
        }
    }
    curveMarks_->setData(markN, markRatio);
    QSharedPointer<QCPAxisTickerText> ratioTicker(new QCPAxisTickerText);
    for (double v : {1.0, 1.1, 1.5, 2.0, 3.0, 5.0, 10.0, 20.0, 50.0, 100.0, 1000.0})
        if (v >= lo * 0.999 && v <= hi * 1.2)
            ratioTicker->addTick(v, QStringLiteral("%1x").arg(v, 0, 'g', 4));
    ratioTicker->setSubTickCount(0);
    curvePlot_->yAxis->setTicker(ratioTicker);
    curvePlot_->yAxis->setRange(lo / 1.04, hi * 1.12);
    QSharedPointer<QCPAxisTickerText> pplTicker(new QCPAxisTickerText);
    const double pplLo = lo / 1.04 * r.basePpl, pplHi = hi * 1.12 * r.basePpl;
    for (double decade = 1; decade <= 1e6; decade *= 10)
        for (double m : {1.0, 1.5, 2.0, 3.0, 5.0, 7.0})
            if (m * decade >= pplLo && m * decade <= pplHi)
                pplTicker->addTick(m * decade, QString::number(m * decade, 'g', 6));
    pplTicker->setSubTickCount(0);
    curvePlot_->yAxis2->setTicker(pplTicker);
    curvePlot_->yAxis2->setRange(lo / 1.04 * r.basePpl, hi * 1.12 * r.basePpl);
    QSharedPointer<QCPAxisTicker> nTicker(new QCPAxisTicker);
    nTicker->setTickStepStrategy(QCPAxisTicker::tssReadability);
    curvePlot_->xAxis->setTicker(nTicker);
    curvePlot_->xAxis->setRange(-maxN * 0.02, maxN * 1.03);

    curveTable_->setRowCount(int(r.curve.size()));
    for (int row = 0; row < int(r.curve.size()); ++row) {
        const ls::CurvePoint& p = r.curve[row];
        setCell(curveTable_, row, 0, QString::number(p.nHeads), Qt::AlignCenter);
        setCell(curveTable_, row, 1, ppl(p.ppl));
        setCell(curveTable_, row, 2, curveRatio(p.ratio));
    }
    thresholdTable_->setRowCount(int(r.thresholds.size()));
    for (int row = 0; row < int(r.thresholds.size()); ++row) {
        const ls::LinearizeThreshold& t = r.thresholds[row];
        setCell(thresholdTable_, row, 0, QStringLiteral("PPL ≤ %1").arg(limitText(t.limit)), Qt::AlignCenter);
        setCell(thresholdTable_, row, 1, QString::number(t.nHeads));
        setCell(thresholdTable_, row, 2, ppl(t.ppl));
        setCell(thresholdTable_, row, 3, curveRatio(t.ratio));
    }
    thresholdTable_->setFixedHeight(tableHeight(thresholdTable_, std::max<int>(1, int(r.thresholds.size()))));

    // Context: one line per N (0 = baseline), x = seq_len.
    std::map<int, std::map<int, const ls::ContextPoint*>> byN;  // N -> seq_len -> point
    std::vector<int> seqLens;
    for (const ls::ContextPoint& p : r.context) {
        byN[p.nHeads][p.seqLen] = &p;
        if (std::find(seqLens.begin(), seqLens.end(), p.seqLen) == seqLens.end())
            seqLens.push_back(p.seqLen);
    }
    std::sort(seqLens.begin(), seqLens.end());
    double pLo = std::numeric_limits<double>::infinity(), pHi = 0;
    int colour = 0;
    for (const auto& [n, points] : byN) {
        QCPGraph* g = contextPlot_->addGraph();
        const QColor c = kContextColors[colour++ % kContextColors.size()];
        g->setName(n == 0 ? tr("baseline (softmax)") : tr("ReLU-%1").arg(n));
        g->setPen(QPen(c, 2));
        g->setScatterStyle(QCPScatterStyle(n == 0 ? QCPScatterStyle::ssSquare : QCPScatterStyle::ssDisc, c, 7));
        QVector<double> xs, ys;
        for (const auto& [len, p] : points)
            if (std::isfinite(p->ppl) && p->ppl > 0) {
                xs << len;
                ys << p->ppl;
                pLo = std::min(pLo, p->ppl);
                pHi = std::max(pHi, p->ppl);
            }
        g->setData(xs, ys, true);
        contextGraphs_ << g;
        contextHeads_ << n;
    }
    QSharedPointer<QCPAxisTickerText> lenTicker(new QCPAxisTickerText);
    for (int len : seqLens)
        lenTicker->addTick(len, QString::number(len));
    lenTicker->setSubTickCount(0);
    contextPlot_->xAxis->setTicker(lenTicker);
    if (!seqLens.empty())
        contextPlot_->xAxis->setRange(seqLens.front() / 1.25, seqLens.back() * 1.25);
    if (pHi > 0)
        contextPlot_->yAxis->setRange(std::max(0.0, pLo - 0.08 * (pHi - pLo) - 1e-9), pHi + 0.08 * (pHi - pLo) + 1e-9);
    contextPlot_->legend->setVisible(!contextGraphs_.isEmpty());

    // The P4 table: seq_len, Baseline, then ReLU-N and its ratio for each N.
    QStringList headers{tr("seq_len"), tr("Baseline")};
    QList<int> relus;
    for (const auto& [n, points] : byN)
        if (n != 0) {
            relus << n;
            headers << tr("ReLU-%1").arg(n) << tr("Ratio");
        }
    contextTable_->setColumnCount(headers.size());
    contextTable_->setHorizontalHeaderLabels(headers);
    contextTable_->setRowCount(int(seqLens.size()));
    for (int row = 0; row < int(seqLens.size()); ++row) {
        const int len = seqLens[row];
        auto at = [&](int n) -> const ls::ContextPoint* {
            const auto it = byN.find(n);
            if (it == byN.end())
                return nullptr;
            const auto jt = it->second.find(len);
            return jt == it->second.end() ? nullptr : jt->second;
        };
        setCell(contextTable_, row, 0, QString::number(len), Qt::AlignCenter);
        const ls::ContextPoint* base = at(0);
        setCell(contextTable_, row, 1, base ? ppl(base->ppl) : dash());
        for (int i = 0; i < relus.size(); ++i) {
            const ls::ContextPoint* p = at(relus[i]);
            setCell(contextTable_, row, 2 + 2 * i, p ? ppl(p->ppl) : dash());
            setCell(contextTable_, row, 3 + 2 * i, p ? curveRatio(p->ratio) : dash());
        }
    }
    curvePlot_->replot();
    contextPlot_->replot();
}

QString AblationView::curveToolTip(int index) const {
    if (!linear_ || index < 0 || index >= int(linear_->curve.size()))
        return {};
    const ls::CurvePoint& p = linear_->curve[index];
    QString text = tr("%1 heads linearised\nPPL %2 (base %3)\nratio %4x").arg(p.nHeads).arg(ppl(p.ppl), ppl(linear_->basePpl))
                       .arg(p.ratio, 0, 'f', 3);
    for (const ls::LinearizeThreshold& t : linear_->thresholds)
        if (t.nHeads == p.nHeads)
            text += tr("\nthe most heads within %1").arg(limitText(t.limit));
    return text;
}

void AblationView::curveMouseMove(QMouseEvent* event) {
    if (!linear_ || !curvePlot_->axisRect()->rect().contains(event->position().toPoint())) {
        QToolTip::hideText();
        return;
    }
    int best = -1;
    double bestDist = 30;
    for (int i = 0; i < int(linear_->curve.size()); ++i) {
        const double dx = std::abs(curvePlot_->xAxis->coordToPixel(linear_->curve[i].nHeads) - event->position().x());
        if (dx < bestDist) {
            bestDist = dx;
            best = i;
        }
    }
    if (best < 0)
        QToolTip::hideText();
    else
        QToolTip::showText(event->globalPosition().toPoint(), curveToolTip(best), curvePlot_);
}

void AblationView::contextMouseMove(QMouseEvent* event) {
    if (!linear_ || !contextPlot_->axisRect()->rect().contains(event->position().toPoint())) {
        QToolTip::hideText();
        return;
    }
    const ls::ContextPoint* best = nullptr;
    double bestDist = 15.0 * 15.0;
    for (const ls::ContextPoint& p : linear_->context) {
        const double dx = contextPlot_->xAxis->coordToPixel(p.seqLen) - event->position().x();
        const double dy = contextPlot_->yAxis->coordToPixel(p.ppl) - event->position().y();
        if (dx * dx + dy * dy < bestDist) {
            bestDist = dx * dx + dy * dy;
            best = &p;
        }
    }
    if (!best) {
        QToolTip::hideText();
        return;
    }
    QToolTip::showText(event->globalPosition().toPoint(),
                       tr("seq_len %1, %2\nPPL %3 · ratio to the baseline %4x\n%5 tokens")
                           .arg(best->seqLen)
                           .arg(best->nHeads == 0 ? tr("baseline") : tr("%1 heads linearised").arg(best->nHeads))
                           .arg(ppl(best->ppl))
                           .arg(best->ratio, 0, 'f', 3)
                           .arg(count(best->tokens)),
                       contextPlot_);
}

}  // namespace ls::widgets
