#include "ablation_view.h"

#include <QCheckBox>
#include <QComboBox>
#include <QFrame>
#include <QHBoxLayout>
#include <QLabel>
#include <QSignalBlocker>
#include <QTabWidget>
#include <QTableWidget>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>

#include "ablation_parts.h"
#include "kit/format.h"
#include "kit/hover.h"
#include "kit/palette.h"
#include "kit/tables.h"
#include "head_importance_page.h"
#include "linearize_page.h"

namespace ls::widgets {

namespace {

QString ppl(double v) { return formatNumber(v, 2); }
QString corr(double v) { return formatNumber(v, 3); }

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

AblationView::AblationView(QWidget* parent)
    : ResultView(tr("<b>Attention-head ablation.</b> ΔPPL = PPL / base − 1 with one head's output set to 0 (zero) or "
                    "to its mean over the evaluation tokens (mean). Red: the head helps; blue: removing it helps. "
                    "L0H8 = block 1, head 8 (TransformerLens)."),
                 parent),
      index_(std::make_unique<AblationIndex>()) {
    partial_ = new QLabel(this);
    partial_->setObjectName(QStringLiteral("partialLabel"));
    partial_->setWordWrap(true);
    partial_->setStyleSheet(
        QStringLiteral("QLabel { color: %1; font-weight: bold; }").arg(palette::css(palette::problemText(palette()))));
    partial_->hide();
    addHeaderLine(partial_);

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
    addHeaderControl(logCheck_);
    addHeaderControl(logCombo_);
    auto scaleFromControls = [this] {
        setColourScale(!logCheck_->isChecked()           ? ColourScale::Linear
                       : logCombo_->currentIndex() == 1 ? ColourScale::SignedSqrt
                                                        : ColourScale::SymmetricLog);
    };
    connect(logCheck_, &QCheckBox::toggled, this, scaleFromControls);
    connect(logCombo_, &QComboBox::currentIndexChanged, this, scaleFromControls);

    pages_ = new QTabWidget(this);
    pages_->setDocumentMode(true);
    pages_->setTabBarAutoHide(true);
    buildHeadsPage();
    addPage(heads_.page, tr("Heads"), {});
    importancePage_ = new HeadImportancePage(pages_);
    addPage(importancePage_, tr("Importance by rank"), {{QStringLiteral("ablation_zipf"), importancePage_->plot()}});
    linearPage_ = new LinearizationPage(pages_);
    addPage(linearPage_, tr("Linearisation"),
            {{QStringLiteral("linearize_curve"), linearPage_->curvePlot()},
             {QStringLiteral("linearize_context"), linearPage_->contextPlot()}});
    setBody(pages_);
    clear();
}

AblationView::~AblationView() = default;

// The heatmaps and the selected head's details over the top-10 table and the two scatters.
void AblationView::buildHeadsPage() {
    auto* page = heads_.page = new QWidget(pages_);
    for (Ablation kind : {Ablation::Zero, Ablation::Mean}) {
        auto* map = new HeadHeatmap(kind, page);
        heads_.maps[kind == Ablation::Zero ? 0 : 1] = map;
        connect(map, &HeadHeatmap::cellClicked, this, &AblationView::selectHead);
        addHoverText(map, [this, map, kind](const QPointF& pos) {
            int layer = 0, head = 0;
            return map->cellAt(pos, &layer, &head) ? cellToolTip(kind, layer, head) : QString();
        });
    }
    heads_.stability = new StabilityChart(page);
    heads_.attribution = new AttributionChart(page);
    addHoverText(heads_.stability, [this](const QPointF& pos) { return scatterToolTip(pos, true); });
    addHoverText(heads_.attribution, [this](const QPointF& pos) { return scatterToolTip(pos, false); });
    for (QCustomPlot* plot : std::initializer_list<QCustomPlot*>{heads_.stability, heads_.attribution})
        connect(plot, &QCustomPlot::mousePress, this, [this, plot](QMouseEvent* event) {
            if (event->button() != Qt::LeftButton)
                return;
            const ls::HeadAblation* a =
                plot == heads_.stability ? heads_.stability->headAt(*index_, event->position())
                                         : heads_.attribution->headAt(*index_, event->position(), nullptr);
            if (a)
                selectHead(a->layer, a->head);
        });

    // Details of the selected head.
    auto* side = new QFrame(page);
    side->setFrameShape(QFrame::StyledPanel);
    auto* sideLayout = new QVBoxLayout(side);
    sideLayout->setContentsMargins(8, 6, 8, 6);
    heads_.details = makeNote(side);
    heads_.details->setObjectName(QStringLiteral("headDetails"));
    heads_.details->setAlignment(Qt::AlignLeft | Qt::AlignTop);
    sideLayout->addWidget(heads_.details, 1);
    auto* hint = new QLabel(tr("Click a cell, a table row or a point to show another head; hover for the numbers."), side);
    hint->setWordWrap(true);
    hint->setStyleSheet(QStringLiteral("QLabel { color: %1; }").arg(palette::css(palette::mutedText(palette()))));
    sideLayout->addWidget(hint);
    side->setFixedWidth(std::max(300, fontMetrics().horizontalAdvance(QStringLiteral("M")) * 27));

    // Top 10 (the seed's V2) and subset vs full (V1).
    heads_.top = {new QLabel(page), makeTopTable(page)};
    heads_.subset = {new QLabel(tr("<b>Subset vs all tokens</b>"), page), makeSubsetTable(page)};
    connect(heads_.top.table, &QTableWidget::cellClicked, this, [this](int row, int) {
        const std::vector<const ls::HeadAblation*> top = topHeads();
        if (row >= 0 && row < int(top.size()))
            selectHead(top[size_t(row)]->layer, top[size_t(row)]->head);
    });
    auto* topBox = new QVBoxLayout;
    topBox->setContentsMargins(0, 0, 0, 0);
    addCaptionedTable(topBox, heads_.top);
    addCaptionedTable(topBox, heads_.subset);
    topBox->addStretch(1);

    auto* maps = new QHBoxLayout;
    maps->setSpacing(4);
    for (HeadHeatmap* map : heads_.maps)
        maps->addWidget(map, 1);
    maps->addWidget(side);
    auto* lower = new QHBoxLayout;
    lower->setSpacing(4);
    lower->addLayout(topBox, 11);
    lower->addWidget(heads_.stability, 8);
    lower->addWidget(heads_.attribution, 8);
    auto* layout = new QVBoxLayout(page);
    layout->setContentsMargins(4, 2, 4, 2);
    layout->addLayout(maps, 10);
    layout->addLayout(lower, 9);
}

void AblationView::addPage(QWidget* page, const QString& title, const QList<QPair<QString, QCustomPlot*>>& charts) {
    pageOrder_.append({page, title});
    pages_->addTab(page, title);
    extraCharts_ += charts;
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
        list << qMakePair(QStringLiteral("ablation_zero_heatmap"), heatmapPlot(Ablation::Zero))
             << qMakePair(QStringLiteral("ablation_mean_heatmap"), heatmapPlot(Ablation::Mean));
        if (!result_->subsetHeads.empty())
            list << qMakePair(QStringLiteral("ablation_ranking_stability"), stabilityPlot());
        if (result_->hasAttribution)
            list << qMakePair(QStringLiteral("ablation_attribution"), attributionPlot());
    }
    for (const auto& chart : extraCharts_) {
        // The linearisation page's charts only with a linearisation, the importance chart with a scan.
        const bool linear = chart.second == curvePlot() || chart.second == contextPlot();
        const bool ofScan = chart.second == importancePage_->plot();
        if (linear ? linear_ != nullptr : !ofScan || hasData())
            list << chart;
    }
    return list;
}

std::vector<ls::Table> AblationView::tables() const {
    std::vector<ls::Table> tables;
    if (result_)
        tables = ls::ablationTables(*result_);
    if (linear_)
        for (ls::Table& t : ls::linearizeTables(*linear_))
            tables.push_back(std::move(t));
    return tables;
}

// ---- parts, for tests and the app -------------------------------------------------------------

QCustomPlot* AblationView::heatmapPlot(Ablation kind) const { return heatmap(kind); }
QCPColorMap* AblationView::colorMap(Ablation kind) const { return heatmap(kind)->colorMap(); }
QCPColorScale* AblationView::colorScale(Ablation kind) const { return heatmap(kind)->colorScale(); }
QList<QCPItemText*> AblationView::rankLabels(Ablation kind) const { return heatmap(kind)->rankLabels(); }
QCustomPlot* AblationView::stabilityPlot() const { return heads_.stability; }
QCPGraph* AblationView::stabilityGraph() const { return heads_.stability->allGraph(); }
QCPGraph* AblationView::stabilityTopGraph() const { return heads_.stability->topGraph(); }
QList<QCPItemText*> AblationView::stabilityLabels() const { return heads_.stability->labels(); }
QCustomPlot* AblationView::attributionPlot() const { return heads_.attribution; }
QCPGraph* AblationView::attributionGraph(Ablation kind) const { return heads_.attribution->graph(kind); }
QWidget* AblationView::linearizationPage() const { return linearPage_; }
QCustomPlot* AblationView::curvePlot() const { return linearPage_->curvePlot(); }
QCPGraph* AblationView::curveGraph() const { return linearPage_->curveGraph(); }
QCPGraph* AblationView::curveThresholdGraph() const { return linearPage_->curveThresholdGraph(); }
QTableWidget* AblationView::curveTable() const { return linearPage_->curveTable(); }
QTableWidget* AblationView::thresholdTable() const { return linearPage_->thresholdTable(); }
QCustomPlot* AblationView::contextPlot() const { return linearPage_->contextPlot(); }
QList<QCPGraph*> AblationView::contextGraphs() const { return linearPage_->contextGraphs(); }
QTableWidget* AblationView::contextTable() const { return linearPage_->contextTable(); }
QString AblationView::curveToolTip(int index) const { return linearPage_->curveToolTip(index); }

// ---- data ---------------------------------------------------------------------------------

bool AblationView::hasData() const { return result_ && !result_->heads.empty(); }

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
        std::shared_ptr<const ls::LinearizeResult> linear = linear_;
        clear();
        if (linear)
            setLinearization(std::move(linear));
        return;
    }
    setUpdatesEnabled(false);
    result_ = std::move(result);
    index_->reset(result_.get());
    // Keep the selection when the head is still there, else the most damaging head.
    if (!headAt(selLayer_, selHead_)) {
        const std::vector<const ls::HeadAblation*> top = topHeads();
        selLayer_ = top.empty() ? result_->heads.front().layer : top.front()->layer;
        selHead_ = top.empty() ? result_->heads.front().head : top.front()->head;
    }
    setPageShown(heads_.page, true);
    fillCharts();
    fillTopTable();
    fillSubsetTable(heads_.subset.table, result_.get());
    heads_.stability->fill(*index_, stabilityText());
    importancePage_->setResult(result_.get());
    setPageShown(importancePage_, true);
    fillTexts();
    updateSelection();
    setUpdatesEnabled(true);
    replotAll(queued);
}

void AblationView::setLinearization(std::shared_ptr<const ls::LinearizeResult> result) {
    linear_ = std::move(result);
    linearPage_->setResult(linear_.get());
    setPageShown(heads_.page, hasData() || !linear_);
    setPageShown(importancePage_, hasData());
    setPageShown(linearPage_, linear_ != nullptr);
    if (linear_ && !hasData())
        pages_->setCurrentWidget(linearPage_);
}

void AblationView::clear() {
    result_.reset();
    linear_.reset();
    index_->reset(nullptr);
    live_ = false;
    selLayer_ = 0;
    selHead_ = -1;
    setSummary(tr("No ablation result yet: run the analysis from the Analysis menu."));
    partial_->hide();
    for (HeadHeatmap* map : heads_.maps)
        map->clear();
    heads_.details->setText(tr("Click a head in a heatmap, a table row or a point for its numbers."));
    fillSubsetTable(heads_.subset.table, nullptr);
    heads_.top.table->setRowCount(0);
    heads_.top.caption->setText(tr("<b>Top %1 heads</b> by zero-ablation ΔPPL").arg(kTopHeads));
    heads_.stability->clear();
    heads_.attribution->clear();
    linearPage_->setResult(nullptr);
    importancePage_->setResult(nullptr);
    setPageShown(heads_.page, true);
    setPageShown(importancePage_, false);
    setPageShown(linearPage_, false);
    pages_->setCurrentWidget(heads_.page);
    replotAll(false);
}

void AblationView::replotAll(bool queued) {
    const QCustomPlot::RefreshPriority priority = queued ? QCustomPlot::rpQueuedReplot : QCustomPlot::rpRefreshHint;
    for (QCustomPlot* plot :
         std::initializer_list<QCustomPlot*>{heads_.maps[0], heads_.maps[1], heads_.stability, heads_.attribution})
        plot->replot(priority);
}

const ls::HeadAblation* AblationView::headAt(int layer, int head) const { return index_->at(layer, head); }
const ls::HeadAblation* AblationView::subsetHeadAt(int layer, int head) const { return index_->subsetAt(layer, head); }
std::vector<const ls::HeadAblation*> AblationView::topHeads() const { return index_->top(kTopHeads); }

// The heatmaps share one colour range: the largest |f(dPPL)| of either ablation.
void AblationView::fillCharts() {
    double limit = 0;
    for (const ls::HeadAblation& a : result_->heads) {
        if (zeroEvaluated(a))
            limit = std::max(limit, std::abs(toScale(a.zeroDppl, scale_)));
        if (meanEvaluated(a))
            limit = std::max(limit, std::abs(toScale(a.meanDppl, scale_)));
    }
    colourLimit_ = std::isfinite(limit) && limit > 0 ? limit : 1e-3;
    for (HeadHeatmap* map : heads_.maps)
        map->fill(*index_, scale_, colourLimit_, !result_->complete);
    heads_.attribution->fill(*index_, scale_, attributionText());
}

void AblationView::fillTopTable() {
    widgets::fillTopTable(heads_.top.table, *index_, topHeads(),
                 [this](const ls::HeadAblation& a) { return cellToolTip(Ablation::Zero, a.layer, a.head); });
    const ls::AblationResult& r = *result_;
    heads_.top.caption->setText(!r.subsetHeads.empty()
                             ? tr("<b>Top %1 heads</b> by zero-ablation ΔPPL on all %2 tokens; subset: the first %3 "
                                  "(%4)")
                                   .arg(kTopHeads)
                                   .arg(formatCount(r.tokens), formatCount(r.subsetTokens), subsetWindowsText())
                             : tr("<b>Top %1 heads</b> by zero-ablation ΔPPL (%2 tokens)").arg(kTopHeads).arg(formatCount(r.tokens)));
}

// ---- texts ------------------------------------------------------------------------------------

QString AblationView::stabilityText() const {
    if (!hasData())
        return {};
    const ls::AblationResult& r = *result_;
    if (r.subsetHeads.empty())
        return tr("no subset scan");
    return tr("first %1 tokens, %2 (PPL %3) vs all %4\nSpearman ρ = %5 · Kendall τ = %6")
        .arg(formatCount(r.subsetTokens), subsetWindowsText(), ppl(r.subsetBasePpl), formatCount(r.tokens),
             corr(r.spearman), corr(r.kendall));
}

QString AblationView::subsetWindowsText() const {
    const int64_t n = result_->subsetWindows;
    return n == 1 ? tr("window 0") : tr("windows 0–%1").arg(n - 1);
}

QString AblationView::attributionText() const {
    if (!hasData())
        return {};
    const ls::AblationResult& r = *result_;
    if (!r.hasAttribution)
        return tr("not estimated in this run");
    const QString agreement = tr("Spearman ρ: zero %1 · mean %2\nestimate vs exact, %3")
                                  .arg(corr(r.attributionSpearmanZero), corr(r.attributionSpearmanMean),
                                       formatDuration(r.attributionSeconds));
    // A first-order (linear) estimate: right for small effects, not a ranking of heads whose
    // ablation costs nats. Say so where it ranks them poorly.
    constexpr double kPoorRanking = 0.5;
    const bool poor = !(r.attributionSpearmanZero >= kPoorRanking) || !(r.attributionSpearmanMean >= kPoorRanking);
    return agreement + "\n" +
           (poor ? tr("⚠ ranks poorly (ρ < %1): trust the exact scan").arg(kPoorRanking)
                 : tr("a first-order estimate"));
}

QString AblationView::summaryText() const {
    if (!hasData())
        return {};
    const ls::AblationResult& r = *result_;
    int done = 0;
    for (const ls::HeadAblation& a : r.heads)
        done += zeroEvaluated(a) ? 1 : 0;
    const int L = index_->layers(), H = index_->headsPerLayer(), total = L * H;
    QString status;
    if (r.complete)
        status = tr("complete");
    else
        status = live_ ? tr("PARTIAL (scan running)") : tr("PARTIAL (canceled)");
    QString heads = tr("%1 heads (%2 layers × %3)").arg(total).arg(L).arg(H);
    if (done < total)
        heads = tr("%1 of %2 heads (%3 layers × %4) evaluated").arg(done).arg(total).arg(L).arg(H);
    QString timing = formatDuration(r.seconds);
    QStringList parts;
    if (r.baselineSeconds > 0)
        parts << tr("baseline %1").arg(formatDuration(r.baselineSeconds));
    if (r.hasAttribution && r.attributionSeconds > 0)
        parts << tr("attribution %1").arg(formatDuration(r.attributionSeconds));
    if (!parts.isEmpty())
        timing += QStringLiteral(" (%1)").arg(parts.join(QStringLiteral(", ")));
    return tr("Base PPL %1 (loss %2 nats) · %3 tokens · %4 windows · %5 · %6 · %7")
        .arg(ppl(r.basePpl), QString::number(r.baseLoss, 'f', 4), formatCount(r.tokens), formatCount(r.windows), heads,
             status, timing);
}

// The summary line with its status in colour, and the warning of a partial scan.
void AblationView::fillTexts() {
    const ls::AblationResult& r = *result_;
    const QString status = r.complete ? tr("complete") : live_ ? tr("PARTIAL (scan running)") : tr("PARTIAL (canceled)");
    const QColor statusColor = r.complete ? palette::kGreen.darker(130) : palette::kVermillion.darker(120);
    QString html = summaryText().toHtmlEscaped();
    html.replace(status.toHtmlEscaped(),
                 QStringLiteral("<b style='color:%1'>%2</b>").arg(palette::css(statusColor), status.toHtmlEscaped()));
    setSummary(html);
    if (r.complete) {
        partial_->hide();
        return;
    }
    int pending = 0;
    for (const ls::HeadAblation& a : r.heads)
        pending += zeroEvaluated(a) ? 0 : 1;
    pending += std::max(0, index_->layers() * index_->headsPerLayer() - int(r.heads.size()));
    partial_->setText(live_ ? tr("PARTIAL: scan in progress, the heads evaluated so far on the first %1 windows (%2 "
                                 "tokens)%3.")
                                  .arg(formatCount(r.windows), formatCount(r.tokens),
                                       pending == 1  ? tr("; grey: 1 head not evaluated yet")
                                       : pending > 1 ? tr("; grey: %1 heads not evaluated yet").arg(pending)
                                                     : QString())
                            : tr("PARTIAL (canceled): every head was evaluated on the first %1 windows (%2 "
                                 "tokens) only.")
                                  .arg(formatCount(r.windows), formatCount(r.tokens)));
    partial_->show();
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
    for (HeadHeatmap* map : heads_.maps)
        map->select(a);
    heads_.stability->select(*index_, a);
    heads_.attribution->select(*index_, a);
    // The table row, if the head is in the top 10.
    const std::vector<const ls::HeadAblation*> top = topHeads();
    const auto it = std::find(top.begin(), top.end(), a);
    {
        const QSignalBlocker block(heads_.top.table);
        if (a && it != top.end())
            heads_.top.table->selectRow(int(it - top.begin()));
        else
            heads_.top.table->clearSelection();
    }
    if (!a) {
        heads_.details->setText(tr("Click a head in a heatmap, a table row or a point for its numbers."));
        return;
    }
    // The details panel: the head's numbers on all tokens and on the subset.
    const ls::HeadAblation* s = subsetHeadAt(a->layer, a->head);
    const ls::AblationResult& r = *result_;
    const bool subset = s != nullptr;
    struct Row {
        QString label, all, sub;
    };
    auto abs = [](double p, double base) { return std::isfinite(p) && p > 0 ? formatSigned(p - base, 2) : noValue(); };
    const bool zeroDone = zeroEvaluated(*a), meanDone = meanEvaluated(*a);
    QList<Row> rows{
        {tr("Zero-ablation PPL"), zeroDone ? ppl(a->zeroPpl) : noValue(), subset ? ppl(s->zeroPpl) : QString()},
        {tr("  ΔPPL (relative)"), zeroDone ? formatSigned(a->zeroDppl) : noValue(), subset ? formatSigned(s->zeroDppl) : QString()},
        {tr("  ΔPPL (absolute)"), abs(a->zeroPpl, r.basePpl), subset ? abs(s->zeroPpl, r.subsetBasePpl) : QString()},
        {tr("  rank"), rankText(a->zeroRank), subset ? rankText(s->zeroRank) : QString()},
        {tr("Mean-ablation PPL"), meanDone ? ppl(a->meanPpl) : noValue(), subset ? ppl(s->meanPpl) : QString()},
        {tr("  ΔPPL (relative)"), meanDone ? formatSigned(a->meanDppl) : noValue(), subset ? formatSigned(s->meanDppl) : QString()},
        {tr("  ΔPPL (absolute)"), abs(a->meanPpl, r.basePpl), subset ? abs(s->meanPpl, r.subsetBasePpl) : QString()},
        {tr("  rank"), rankText(a->meanRank), subset ? rankText(s->meanRank) : QString()},
        {tr("zero / mean"), zeroDone && meanDone ? ratioText(a->zeroMeanRatio) : noValue(),
         subset ? ratioText(s->zeroMeanRatio) : QString()},
    };
    if (r.hasAttribution) {
        rows.append({tr("Estimate, zero: ΔPPL"), formatSigned(std::expm1(a->estZeroDloss)), QString()});
        rows.append({tr("  Δloss (nats)"), formatSigned(a->estZeroDloss, 4), QString()});
        rows.append({tr("Estimate, mean: ΔPPL"), formatSigned(std::expm1(a->estMeanDloss)), QString()});
        rows.append({tr("  Δloss (nats)"), formatSigned(a->estMeanDloss, 4), QString()});
    }
    QString html = tr("<b style='font-size:large'>%1</b> &nbsp;block %2, head %3<br>base PPL %4")
                       .arg(QString::fromStdString(a->name()))
                       .arg(a->layer)
                       .arg(a->head)
                       .arg(ppl(r.basePpl));
    html += QStringLiteral("<table cellspacing='0' cellpadding='1' width='100%'><tr><th></th><th align='right'>%1</th>%2</tr>")
                .arg(tr("all"), subset ? QStringLiteral("<th align='right'>%1</th>").arg(compactTokens(r.subsetTokens))
                                       : QString());
    for (const Row& row : rows) {
        QString label = row.label.toHtmlEscaped();
        if (label.startsWith(QStringLiteral("  ")))
            label = QStringLiteral("&nbsp;&nbsp;&nbsp;") + label.mid(2);
        html += QStringLiteral("<tr><td>%1</td><td align='right'>%2</td>%3</tr>")
                    .arg(label, row.all.toHtmlEscaped(),
                         subset ? QStringLiteral("<td align='right'>%1</td>").arg(row.sub.toHtmlEscaped()) : QString());
    }
    html += QStringLiteral("</table>");
    heads_.details->setText(html);
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
                 .arg(ppl(a->zeroPpl), formatSigned(a->zeroDppl), formatSigned(a->zeroPpl - r.basePpl, 2),
                      rankText(a->zeroRank));
    lines << tr("mean: PPL %1, ΔPPL %2 (%3 PPL), rank %4")
                 .arg(ppl(a->meanPpl), formatSigned(a->meanDppl), formatSigned(a->meanPpl - r.basePpl, 2),
                      rankText(a->meanRank));
    lines << tr("zero / mean: %1").arg(ratioText(a->zeroMeanRatio));
    if (s)
        lines << tr("subset (first %1 tokens): zero ΔPPL %2, rank %3; mean ΔPPL %4; zero / mean %5")
                     .arg(formatCount(r.subsetTokens), formatSigned(s->zeroDppl), rankText(s->zeroRank),
                          formatSigned(s->meanDppl), ratioText(s->zeroMeanRatio));
    if (r.hasAttribution)
        lines << tr("estimate: zero ΔPPL %1 (Δloss %2), mean ΔPPL %3 (Δloss %4)")
                     .arg(formatSigned(std::expm1(a->estZeroDloss)), formatSigned(a->estZeroDloss, 4),
                          formatSigned(std::expm1(a->estMeanDloss)), formatSigned(a->estMeanDloss, 4));
    return lines.join('\n');
}

QString AblationView::cellToolTip(Ablation kind, int layer, int head) const {
    const int L = index_->layers(), H = index_->headsPerLayer();
    if (!hasData() || layer < 1 || layer > L || head < 0 || head >= H)
        return {};
    const ls::HeadAblation* a = headAt(layer, head);
    const QString title = tr("%1 (block %2, head %3)").arg(headName(layer, head)).arg(layer).arg(head);
    if (!a || !zeroEvaluated(*a))
        return tr("%1\nnot evaluated yet").arg(title);
    const ls::AblationResult& r = *result_;
    const int total = int(r.heads.size());
    auto line = [&](bool zero) {
        const double p = zero ? a->zeroPpl : a->meanPpl;
        if (!(std::isfinite(p) && p > 0))
            return tr("%1 ablation: not evaluated yet").arg(zero ? tr("zero") : tr("mean"));
        return tr("%1 ablation: PPL %2 (base %3)\n  ΔPPL %4 relative, %5 PPL absolute\n  rank %6 of %7")
            .arg(zero ? tr("Zero") : tr("Mean"), ppl(p), ppl(r.basePpl),
                 formatSigned(zero ? a->zeroDppl : a->meanDppl, 4), formatSigned(p - r.basePpl, 2),
                 rankText(zero ? a->zeroRank : a->meanRank))
            .arg(total);
    };
    const bool zeroFirst = kind == Ablation::Zero;
    QStringList lines{title, line(zeroFirst), line(!zeroFirst)};
    lines << tr("zero / mean: %1").arg(ratioText(a->zeroMeanRatio));
    if (r.hasAttribution)
        lines << tr("estimate: ΔPPL %1 zero, %2 mean")
                     .arg(formatSigned(std::expm1(a->estZeroDloss), 4), formatSigned(std::expm1(a->estMeanDloss), 4));
    if (const ls::HeadAblation* s = subsetHeadAt(layer, head))
        lines << tr("first %1 tokens: zero ΔPPL %2, rank %3")
                     .arg(formatCount(r.subsetTokens), formatSigned(s->zeroDppl, 4), rankText(s->zeroRank));
    return lines.join('\n');
}

QString AblationView::scatterToolTip(const QPointF& pos, bool stability) const {
    Ablation kind = Ablation::Zero;
    const ls::HeadAblation* a =
        stability ? heads_.stability->headAt(*index_, pos) : heads_.attribution->headAt(*index_, pos, &kind);
    if (!a)
        return {};
    if (stability) {
        const ls::HeadAblation* s = subsetHeadAt(a->layer, a->head);
        return tr("%1: rank %2 on all tokens (ΔPPL %3), %4 on the first %5 (ΔPPL %6)")
            .arg(QString::fromStdString(a->name()), rankText(a->zeroRank), formatSigned(a->zeroDppl, 4),
                 rankText(s->zeroRank), formatCount(result_->subsetTokens), formatSigned(s->zeroDppl, 4));
    }
    const bool zero = kind == Ablation::Zero;
    return tr("%1, %2 ablation\nexact ΔPPL %3\nestimated ΔPPL %4 (Δloss %5 nats)")
        .arg(QString::fromStdString(a->name()), zero ? tr("zero") : tr("mean"),
             formatSigned(zero ? a->zeroDppl : a->meanDppl, 4),
             formatSigned(std::expm1(zero ? a->estZeroDloss : a->estMeanDloss), 4),
             formatSigned(zero ? a->estZeroDloss : a->estMeanDloss, 4));
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
    fillCharts();
    updateSelection();
    replotAll(false);
}

}  // namespace ls::widgets
