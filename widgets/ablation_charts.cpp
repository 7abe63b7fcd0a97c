// The heatmaps and scatters of AblationView (ablation_parts.h).
#include <algorithm>
#include <cmath>

#include "ablation_parts.h"
#include "kit/hover.h"
#include "kit/palette.h"
#include "kit/plot_style.h"

namespace ls::widgets {

namespace {

const QColor kTopColor = palette::kVermillion;  // the top heads in the scatter plots
const QColor kOtherColor = palette::kBlue;      // every other head
const QColor kZeroColor = palette::kVermillion; // zero ablation
const QColor kMeanColor = palette::kBlue;       // mean ablation
const QColor kDiagonalColor = palette::kGrey;

QCPItemText* makeLabel(QCustomPlot* plot, const QFont& font) {
    auto* text = new QCPItemText(plot);
    text->setFont(font);
    text->setClipToAxisRect(true);
    text->setVisible(false);
    return text;
}

// "No subset scan in this run" in the middle of an empty chart.
QCPItemText* makeEmptyNote(QCustomPlot* plot, const QString& text) {
    QCPItemText* note = makeLabel(plot, plot->font());
    note->position->setType(QCPItemPosition::ptAxisRectRatio);
    note->position->setCoords(0.5, 0.5);
    note->setColor(palette::kMutedText);
    note->setText(text);
    return note;
}

// x = y: where the points would lie if the two agreed.
QCPItemStraightLine* makeDiagonal(QCustomPlot* plot, double at) {
    auto* line = new QCPItemStraightLine(plot);
    line->setPen(QPen(kDiagonalColor, 1, Qt::DashLine));
    line->point1->setCoords(at, at);
    line->point2->setCoords(at + 1, at + 1);
    line->setLayer(QStringLiteral("grid"));
    return line;
}

// A ring around the selected head's point(s).
QCPGraph* makeSelectionGraph(QCustomPlot* plot) {
    QCPGraph* graph = plot->addGraph();
    graph->setLineStyle(QCPGraph::lsNone);
    graph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(palette::kSelection, 2), Qt::NoBrush, 13));
    graph->removeFromLegend();
    markOnScreenOnly(graph);
    return graph;
}

QSharedPointer<QCPAxisTickerText> stepTicker(int count, int step, int first) {
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    for (int i = 0; i < count; i += step)
        ticker->addTick(i, QString::number(i + first));
    return ticker;
}

}  // namespace

// ---- heatmap --------------------------------------------------------------------------------

HeadHeatmap::HeadHeatmap(Ablation kind, QWidget* parent) : QCustomPlot(parent), kind_(kind) {
    const bool zero = kind == Ablation::Zero;
    setUpTitledPlot(this, zero ? AblationView::tr("Zero ablation: ΔPPL") : AblationView::tr("Mean ablation: ΔPPL"),
                    QSize(260, 200));
    xAxis->setLabel(AblationView::tr("head"));
    yAxis->setLabel(AblationView::tr("layer l"));
    yAxis->setRangeReversed(true);  // layer 1 at the top
    xAxis->setTickLength(0, 3);
    yAxis->setTickLength(0, 3);
    heatmap_ = addHeatmap(this, zero ? AblationView::tr("zero ablation") : AblationView::tr("mean ablation"));
    heatmap_.map->setGradient(palette::divergingGradient());
    heatmap_.scale->setGradient(palette::divergingGradient());

    marker_ = new QCPItemRect(this);
    marker_->setPen(QPen(palette::kSelection, 2.5));
    marker_->setBrush(Qt::NoBrush);
    marker_->setVisible(false);
    markOnScreenOnly(marker_);

    QFont small = font();
    small.setPointSize(8);
    small.setBold(true);
    for (int i = 0; i < AblationView::kTopHeads; ++i) {
        QCPItemText* t = makeLabel(this, small);
        t->setPositionAlignment(Qt::AlignCenter);
        ranks_ << t;
    }
    connect(this, &QCustomPlot::afterLayout, this, &HeadHeatmap::layoutTicks);
    connect(this, &QCustomPlot::mousePress, this, [this](QMouseEvent* event) {
        int layer = 0, head = 0;
        if (event->button() == Qt::LeftButton && cellAt(event->position(), &layer, &head))
            emit cellClicked(layer, head);
    });
    clear();
}

void HeadHeatmap::clear() {
    layers_ = heads_ = 0;
    heatmap_.map->data()->clear();
    heatmap_.map->data()->setSize(0, 0);
    xAxis->setRange(-0.5, 0.5);
    yAxis->setRange(-0.5, 0.5);
    xAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
    heatmap_.scale->setDataRange(QCPRange(-1, 1));
    for (QCPItemText* t : ranks_)
        t->setVisible(false);
    layerStep_ = headStep_ = 0;
    marker_->setVisible(false);
    titleOf(this)->setText(kind_ == Ablation::Zero ? AblationView::tr("Zero ablation: ΔPPL")
                                                   : AblationView::tr("Mean ablation: ΔPPL"));
}

void HeadHeatmap::fill(const AblationIndex& index, ColourScale scale, double limit, bool partial) {
    const bool zero = kind_ == Ablation::Zero;
    const int L = index.layers(), H = index.headsPerLayer();
    layers_ = L;
    heads_ = H;
    const auto evaluated = [zero](const ls::HeadAblation& a) { return zero ? zeroEvaluated(a) : meanEvaluated(a); };
    const auto dppl = [zero](const ls::HeadAblation& a) { return zero ? a.zeroDppl : a.meanDppl; };
    const auto rank = [zero](const ls::HeadAblation& a) { return zero ? a.zeroRank : a.meanRank; };
    // QCPColorMap needs two cells per dimension to know a cell's size: a single head or layer
    // is drawn as two equal halves.
    const int nx = std::max(H, 2), ny = std::max(L, 2);
    const QCPRange keys = H >= 2 ? QCPRange(0, H - 1) : QCPRange(-0.25, 0.25);
    const QCPRange values = L >= 2 ? QCPRange(0, L - 1) : QCPRange(-0.25, 0.25);
    QCPColorMapData* data = heatmap_.map->data();
    // Reused when the shape holds (snapshots of a running scan): no reallocation.
    if (data->keySize() != nx || data->valueSize() != ny || data->keyRange() != keys || data->valueRange() != values) {
        data->setSize(nx, ny);
        data->setRange(keys, values);
    }
    for (int y = 0; y < ny; ++y)
        for (int x = 0; x < nx; ++x) {
            const ls::HeadAblation* a = index.at(L >= 2 ? y + 1 : 1, H >= 2 ? x : 0);
            data->setCell(x, y, a && evaluated(*a) ? AblationView::toScale(dppl(*a), scale) : std::nan(""));
        }
    heatmap_.map->setDataRange(QCPRange(-limit, limit));
    heatmap_.scale->axis()->setTicker(scaleTicker(scale, -limit, limit, 0.12 * limit));
    heatmap_.scale->axis()->setLabel(scale == ColourScale::Linear
                                 ? AblationView::tr("ΔPPL (relative)")
                                 : AblationView::tr("ΔPPL (relative, %1)").arg(scaleName(scale)));
    xAxis->setRange(-0.5, H - 0.5);
    yAxis->setRange(-0.5, L - 0.5);
    titleOf(this)->setText((zero ? AblationView::tr("Zero ablation: ΔPPL") : AblationView::tr("Mean ablation: ΔPPL")) +
                           (partial ? AblationView::tr(" · PARTIAL") : QString()));

    // Rank labels of the top heads by this ablation's own rank, black or white on their cell.
    std::vector<const ls::HeadAblation*> top;
    for (const ls::HeadAblation& a : index.result()->heads)
        if (evaluated(a) && rank(a) > 0)
            top.push_back(&a);
    std::stable_sort(top.begin(), top.end(),
                     [&](const ls::HeadAblation* a, const ls::HeadAblation* b) { return rank(*a) < rank(*b); });
    for (int i = 0; i < ranks_.size(); ++i) {
        QCPItemText* t = ranks_[i];
        if (i >= int(top.size())) {
            t->setText(QString());
            continue;
        }
        const ls::HeadAblation* a = top[size_t(i)];
        const double v = AblationView::toScale(dppl(*a), scale);
        t->setColor(palette::textOn(QColor::fromRgb(heatmap_.map->gradient().color(v, heatmap_.map->dataRange(), false))));
        t->setText(QString::number(rank(*a)));
        t->position->setCoords(a->head, a->layer - 1);
    }
    layerStep_ = headStep_ = 0;
    layoutTicks();
}

void HeadHeatmap::layoutTicks() {
    if (layers_ <= 0)
        return;
    const int width = laidOutWidth(this, 400), height = laidOutHeight(this, 300);
    const int layerStep = labelStep(0, layers_ - 1, height, fontMetrics().height() + 2);
    const int headStep = labelStep(0, heads_ - 1, width, fontMetrics().horizontalAdvance(QStringLiteral("000")) + 6);
    // A new ticker takes effect at the next replot (ticks are made before afterLayout).
    const bool changed = layerStep != layerStep_ || headStep != headStep_;
    if (layerStep != layerStep_) {
        layerStep_ = layerStep;
        yAxis->setTicker(stepTicker(layers_, layerStep, 1));  // layers from 1, as in every other tab
    }
    if (headStep != headStep_) {
        headStep_ = headStep;
        xAxis->setTicker(stepTicker(heads_, headStep, 0));
    }
    if (changed && axisRect()->width() > 50)
        replot(QCustomPlot::rpQueuedReplot);
    // Rank numbers only in cells that hold them.
    const double cellWidth = double(width) / std::max(heads_, 1), cellHeight = double(height) / std::max(layers_, 1);
    const QFontMetrics fm(ranks_.front()->font());
    const bool fits = cellWidth >= fm.horizontalAdvance(QStringLiteral("10")) + 4 && cellHeight >= fm.height();
    for (QCPItemText* t : ranks_)
        t->setVisible(fits && !t->text().isEmpty());
}

void HeadHeatmap::select(const ls::HeadAblation* a) {
    marker_->setVisible(a != nullptr);
    if (a) {
        marker_->topLeft->setCoords(a->head - 0.5, a->layer - 1 - 0.5);
        marker_->bottomRight->setCoords(a->head + 0.5, a->layer - 1 + 0.5);
    }
}

bool HeadHeatmap::cellAt(const QPointF& pos, int* layer, int* head) const {
    if (layers_ <= 0 || !insideAxisRect(this, pos))
        return false;
    const int h = wholeKeyAt(this, pos);
    const int l = wholeValueAt(this, pos) + 1;
    if (l < 1 || l > layers_ || h < 0 || h >= heads_)
        return false;
    *layer = l;
    *head = h;
    return true;
}

// ---- scatters -------------------------------------------------------------------------------

HeadScatter::HeadScatter(const QString& title, double diagonalAt, const QString& empty, QWidget* parent)
    : QCustomPlot(parent) {
    setUpTitledPlot(this, title, QSize(260, 200));
    addSubtitle(this);
    diagonal_ = makeDiagonal(this, diagonalAt);
    empty_ = makeEmptyNote(this, empty);
}

void HeadScatter::addSelectionRing() {
    selected_ = makeSelectionGraph(this);
    legendBelow(this, 3);
}

void HeadScatter::clearPoints() {
    for (int i = 0; i < graphCount(); ++i)
        graph(i)->data()->clear();
    empty_->setVisible(false);
    subtitleOf(this)->setText(QString());
}

// ---- ranking stability ----------------------------------------------------------------------

StabilityChart::StabilityChart(QWidget* parent)
    : HeadScatter(AblationView::tr("Ranking stability (zero ablation)"), 1,
                  AblationView::tr("No subset scan in this run"), parent) {
    all_ = addPoints(this, AblationView::tr("head"),
                     QCPScatterStyle(QCPScatterStyle::ssDisc, palette::withAlpha(kOtherColor, 150), 5));
    top_ = addPoints(this, AblationView::tr("top %1 (all tokens)").arg(AblationView::kTopHeads),
                     QCPScatterStyle(QCPScatterStyle::ssDisc, kTopColor, 7));
    addSelectionRing();

    QFont small = font();
    small.setPointSize(8);
    for (int i = 0; i < AblationView::kTopHeads; ++i) {
        QCPItemText* t = makeLabel(this, small);
        t->setColor(kTopColor.darker(150));
        labels_ << t;
        auto* leader = new QCPItemLine(this);
        leader->setPen(QPen(palette::withAlpha(kTopColor, 140), 1));
        leader->setClipToAxisRect(true);
        leader->setVisible(false);
        leaders_ << leader;
    }
    connect(this, &QCustomPlot::afterLayout, this, &StabilityChart::placeLabels);
    clear();
}

void StabilityChart::clear() {
    clearPoints();
    for (QCPItemText* t : labels_)
        t->setVisible(false);
    for (QCPItemLine* line : leaders_)
        line->setVisible(false);
    anchors_.clear();
    for (QCPAxis* axis : {xAxis, yAxis}) {
        axis->setScaleType(QCPAxis::stLinear);
        axis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
        axis->setRange(0.5, 10.5);
    }
    xAxis->setLabel(AblationView::tr("rank, all tokens"));
    yAxis->setLabel(AblationView::tr("rank, subset"));
}

void StabilityChart::fill(const AblationIndex& index, const QString& subtitle) {
    const ls::AblationResult& r = *index.result();
    const std::vector<const ls::HeadAblation*> topHeads = index.top(AblationView::kTopHeads);
    QVector<double> xs, ys, topX, topY;
    int n = 0;
    for (const ls::HeadAblation& a : r.heads) {
        const ls::HeadAblation* s = index.subsetAt(a.layer, a.head);
        if (!s || a.zeroRank <= 0 || s->zeroRank <= 0 || !zeroEvaluated(a))
            continue;
        ++n;
        const bool top = std::find(topHeads.begin(), topHeads.end(), &a) != topHeads.end();
        (top ? topX : xs) << a.zeroRank;
        (top ? topY : ys) << s->zeroRank;
    }
    all_->setData(xs, ys);
    top_->setData(topX, topY);
    empty_->setVisible(n == 0);
    diagonal_->setVisible(n > 0);
    const int heads = std::max<int>(int(r.heads.size()), 2);
    const bool log = heads > 20;
    for (QCPAxis* axis : {xAxis, yAxis}) {
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
    xAxis->setLabel(AblationView::tr("rank, all %1 tokens").arg(compactTokens(r.tokens)));
    yAxis->setLabel(AblationView::tr("rank, first %1 tokens").arg(compactTokens(r.subsetTokens)));
    subtitleOf(this)->setText(subtitle);

    // Names of the top heads, placed beside their points after each layout.
    anchors_.clear();
    for (int i = 0; i < labels_.size(); ++i) {
        QCPItemText* t = labels_[i];
        const ls::HeadAblation* a = i < int(topHeads.size()) ? topHeads[size_t(i)] : nullptr;
        const ls::HeadAblation* s = a ? index.subsetAt(a->layer, a->head) : nullptr;
        const QPointF anchor = a && s ? QPointF(a->zeroRank, s->zeroRank) : QPointF();
        anchors_ << anchor;
        if (!a || !s || s->zeroRank <= 0) {
            t->setVisible(false);
            leaders_[i]->setVisible(false);
            continue;
        }
        t->setText(QString::fromStdString(a->name()));
        t->position->setCoords(anchor);
        t->setVisible(true);
    }
    placeLabels();
}

// Each name beside its point without covering another name or a top point: right below,
// left above (off the diagonal), then the other sides, further out if crowded; a name placed
// away from its point gets a line to it.
void StabilityChart::placeLabels() {
    if (anchors_.isEmpty())
        return;
    const QRectF area = axisRect()->rect();
    auto pixel = [this](const QPointF& c) { return QPointF(xAxis->coordToPixel(c.x()), yAxis->coordToPixel(c.y())); };
    QList<QRectF> taken;  // the top heads' points, then the labels placed so far
    for (int i = 0; i < labels_.size() && i < anchors_.size(); ++i)
        if (labels_[i]->visible()) {
            const QPointF p = pixel(anchors_[i]);
            taken << QRectF(p.x() - 4, p.y() - 4, 8, 8);
        }
    for (int i = 0; i < labels_.size() && i < anchors_.size(); ++i) {
        QCPItemText* t = labels_[i];
        if (!t->visible())
            continue;
        const QPointF p = pixel(anchors_[i]);
        const QFontMetricsF fm(t->font());
        const QSizeF s(fm.horizontalAdvance(t->text()) + 2, fm.height());
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
        const QPointF nearest(std::clamp(p.x(), chosen.left(), chosen.right()),
                              std::clamp(p.y(), chosen.top(), chosen.bottom()));
        QCPItemLine* leader = leaders_[i];
        leader->setVisible(std::hypot(nearest.x() - p.x(), nearest.y() - p.y()) > 9);
        leader->start->setPixelPosition(p);
        leader->end->setPixelPosition(nearest);
        t->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
        t->setPadding(QMargins());
        t->position->setPixelPosition(chosen.topLeft());
    }
}

void StabilityChart::select(const AblationIndex& index, const ls::HeadAblation* a) {
    selected_->data()->clear();
    if (!a)
        return;
    if (const ls::HeadAblation* s = index.subsetAt(a->layer, a->head); s && s->zeroRank > 0 && a->zeroRank > 0)
        selected_->addData(a->zeroRank, s->zeroRank);
}

const ls::HeadAblation* StabilityChart::headAt(const AblationIndex& index, const QPointF& pos) const {
    if (!index.result() || !insideAxisRect(this, pos))
        return nullptr;
    std::vector<std::pair<const ls::HeadAblation*, QPointF>> points;
    for (const ls::HeadAblation& a : index.result()->heads) {
        const ls::HeadAblation* s = index.subsetAt(a.layer, a.head);
        if (s && a.zeroRank > 0 && s->zeroRank > 0)
            points.push_back({&a, QPointF(a.zeroRank, s->zeroRank)});
    }
    const int i = nearestPoint(this, pos, int(points.size()), [&](int k) { return points[size_t(k)].second; }, 12);
    return i >= 0 ? points[size_t(i)].first : nullptr;
}

// ---- attribution ----------------------------------------------------------------------------

AttributionChart::AttributionChart(QWidget* parent)
    : HeadScatter(AblationView::tr("Attribution patching vs exact ΔPPL"), 0,
                  AblationView::tr("No attribution estimates in this run"), parent) {
    zero_ = addPoints(this, AblationView::tr("zero ablation"),
                      QCPScatterStyle(QCPScatterStyle::ssDisc, palette::withAlpha(kZeroColor, 170), 6));
    mean_ = addPoints(this, AblationView::tr("mean ablation"),
                      QCPScatterStyle(QCPScatterStyle::ssTriangle, QPen(kMeanColor, 1.3), Qt::NoBrush, 7));
    addSelectionRing();
    connect(this, &QCustomPlot::afterLayout, this, &AttributionChart::updateTicks);
    clear();
}

void AttributionChart::clear() {
    clearPoints();
    xAxis->setRange(-1, 1);
    yAxis->setRange(-1, 1);
}

QPointF AttributionChart::point(const ls::HeadAblation& a, Ablation kind) const {
    const bool zero = kind == Ablation::Zero;
    return QPointF(AblationView::toScale(zero ? a.zeroDppl : a.meanDppl, scale_),
                   AblationView::toScale(std::expm1(zero ? a.estZeroDloss : a.estMeanDloss), scale_));
}

void AttributionChart::fill(const AblationIndex& index, ColourScale scale, const QString& subtitle) {
    scale_ = scale;
    const ls::AblationResult& r = *index.result();
    QVector<double> zx, zy, mx, my;
    double lo = 0, hi = 0;
    if (r.hasAttribution)
        for (const ls::HeadAblation& a : r.heads) {
            if (zeroEvaluated(a) && std::isfinite(a.estZeroDloss)) {
                zx << point(a, Ablation::Zero).x();
                zy << point(a, Ablation::Zero).y();
            }
            if (meanEvaluated(a) && std::isfinite(a.estMeanDloss)) {
                mx << point(a, Ablation::Mean).x();
                my << point(a, Ablation::Mean).y();
            }
        }
    for (const QVector<double>* v : {&zx, &zy, &mx, &my})
        for (double x : *v)
            if (std::isfinite(x)) {
                lo = std::min(lo, x);
                hi = std::max(hi, x);
            }
    zero_->setData(zx, zy);
    mean_->setData(mx, my);
    const bool any = !zx.isEmpty() || !mx.isEmpty();
    empty_->setVisible(!any);
    diagonal_->setVisible(any);
    if (hi - lo <= 0)
        hi = lo + 1;
    const double pad = 0.06 * (hi - lo);
    for (QCPAxis* axis : {xAxis, yAxis})
        axis->setRange(lo - pad, hi + pad);
    tickPixels_ = QSize();
    updateTicks();
    const QString suffix = scale == ColourScale::Linear ? QString() : AblationView::tr(" (%1)").arg(scaleName(scale));
    xAxis->setLabel(AblationView::tr("exact ΔPPL") + suffix);
    yAxis->setLabel(AblationView::tr("estimated ΔPPL") + suffix);
    subtitleOf(this)->setText(subtitle);
}

void AttributionChart::updateTicks() {
    const QSize pixels(laidOutWidth(this, 300), laidOutHeight(this, 250));
    if (pixels == tickPixels_)
        return;
    const bool laidOut = tickPixels_.isValid() && axisRect()->width() > 50;
    tickPixels_ = pixels;
    const QFontMetrics fm(xAxis->tickLabelFont());
    const QCPRange x = xAxis->range(), y = yAxis->range();
    xAxis->setTicker(
        scaleTicker(scale_, x.lower, x.upper, x.size() * (fm.horizontalAdvance(QStringLiteral("+0.01")) + 12) / pixels.width()));
    yAxis->setTicker(scaleTicker(scale_, y.lower, y.upper, y.size() * (fm.height() + 8) / pixels.height()));
    if (laidOut)  // a new ticker takes effect at the next replot
        replot(QCustomPlot::rpQueuedReplot);
}

void AttributionChart::select(const AblationIndex& index, const ls::HeadAblation* a) {
    selected_->data()->clear();
    if (!a || !index.result()->hasAttribution)
        return;
    for (Ablation kind : {Ablation::Zero, Ablation::Mean})
        if (kind == Ablation::Zero ? zeroEvaluated(*a) : meanEvaluated(*a))
            selected_->addData(point(*a, kind).x(), point(*a, kind).y());
}

const ls::HeadAblation* AttributionChart::headAt(const AblationIndex& index, const QPointF& pos, Ablation* kind) const {
    if (!index.result() || !index.result()->hasAttribution || !insideAxisRect(this, pos))
        return nullptr;
    std::vector<std::pair<const ls::HeadAblation*, Ablation>> heads;
    for (const ls::HeadAblation& a : index.result()->heads) {
        if (zeroEvaluated(a))
            heads.push_back({&a, Ablation::Zero});
        if (meanEvaluated(a))
            heads.push_back({&a, Ablation::Mean});
    }
    const int i = nearestPoint(this, pos, int(heads.size()), [&](int k) {
        return point(*heads[size_t(k)].first, heads[size_t(k)].second);
    }, 12);
    if (i < 0)
        return nullptr;
    if (kind)
        *kind = heads[size_t(i)].second;
    return heads[size_t(i)].first;
}

}  // namespace ls::widgets
