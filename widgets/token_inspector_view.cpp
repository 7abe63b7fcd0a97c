#include "token_inspector_view.h"

#include <QAbstractScrollArea>
#include <QFileDialog>
#include <QFileInfo>
#include <QHelpEvent>
#include <QLabel>
#include <QLocale>
#include <QMenu>
#include <QSaveFile>
#include <QMouseEvent>
#include <QPainter>
#include <QScrollBar>
#include <QToolTip>
#include <algorithm>
#include <cmath>

#include "analysis/inspect.h"
#include "export_menu.h"
#include "kit/palette.h"
#include "token_preview_view.h"

namespace ls::widgets {

namespace {

constexpr int kPadX = 5;          // text inside a cell, left and right
constexpr int kMinCell = 44;      // cell width bounds (pixels)
constexpr int kMaxNaturalCell = 130;
constexpr int kMaxStretchedCell = 150;
constexpr int kMinTokenColumn = 48;
constexpr int kMaxTokenColumn = 140;

const QColor kTargetOutline = palette::kVermillion;  // top-1 is the next token
const QColor kHoverOutline(0, 0, 0);
const QColor kGridLine(255, 255, 255);

int clampInt(int v, int lo, int hi) { return std::max(lo, std::min(v, hi)); }

}  // namespace

// ---------------------------------------------------------------------------------------
// The scrolling grid: frozen layer header on top, frozen position header on the left.

class InspectorGrid : public QAbstractScrollArea {
public:
    explicit InspectorGrid(TokenInspectorView* view) : QAbstractScrollArea(view), view_(view) {
        viewport()->setMouseTracking(true);
        viewport()->setBackgroundRole(QPalette::Base);
        viewport()->setAutoFillBackground(true);
        setFrameShape(QFrame::StyledPanel);
    }

    void relayout();
    // Content geometry (scroll offset 0), in pixels.
    int rowHeight() const { return rowH_; }
    int headerHeight() const { return headerH_; }
    int rowHeaderWidth() const { return posW_ + inW_ + tgtW_; }
    int cellWidth() const { return cellW_; }
    int contentWidth() const { return rowHeaderWidth() + view_->layers() * cellW_; }

    QRect cellRect(int position, int layer) const {
        return QRect(rowHeaderWidth() + layer * cellW_ - horizontalScrollBar()->value(),
                     headerH_ + position * rowH_ - verticalScrollBar()->value(), cellW_, rowH_);
    }
    QPoint cellAt(const QPoint& pos) const {
        if (!view_->hasData() || pos.x() < rowHeaderWidth() || pos.y() < headerH_)
            return {-1, -1};
        const int layer = (pos.x() - rowHeaderWidth() + horizontalScrollBar()->value()) / cellW_;
        const int position = (pos.y() - headerH_ + verticalScrollBar()->value()) / rowH_;
        if (layer < 0 || layer >= view_->layers() || position < 0 || position >= view_->positions())
            return {-1, -1};
        return {layer, position};
    }
    // Paints the grid as seen with scroll offsets (sx, sy) into a device of the given size.
    void paintGrid(QPainter& painter, const QSize& size, int sx, int sy, bool hover) const;

protected:
    void paintEvent(QPaintEvent*) override {
        QPainter painter(viewport());
        paintGrid(painter, viewport()->size(), horizontalScrollBar()->value(), verticalScrollBar()->value(), true);
    }
    void resizeEvent(QResizeEvent* event) override {
        QAbstractScrollArea::resizeEvent(event);
        relayout();
    }
    void scrollContentsBy(int, int) override { viewport()->update(); }
    void mouseMoveEvent(QMouseEvent* event) override {
        setHovered(event->position().toPoint());
        QAbstractScrollArea::mouseMoveEvent(event);
    }
    bool viewportEvent(QEvent* event) override;

private:
    void setHovered(const QPoint& pos) {
        const QPoint cell = cellAt(pos);
        // The row or column header under the mouse highlights its whole row or column.
        QPoint header{-1, -1};
        if (view_->hasData() && cell.x() < 0) {
            if (pos.x() < rowHeaderWidth() && pos.y() >= headerH_) {
                const int p = (pos.y() - headerH_ + verticalScrollBar()->value()) / rowH_;
                if (p < view_->positions())
                    header = {-1, p};
            } else if (pos.y() < headerH_ && pos.x() >= rowHeaderWidth()) {
                const int l = (pos.x() - rowHeaderWidth() + horizontalScrollBar()->value()) / cellW_;
                if (l < view_->layers())
                    header = {l, -1};
            }
        }
        const QPoint hovered = cell.x() >= 0 ? cell : header;
        if (hovered != hovered_) {
            hovered_ = hovered;
            viewport()->update();
        }
    }
    QString headerToolTip(const QPoint& header) const;

    TokenInspectorView* view_;
    int rowH_ = 20, headerH_ = 40, cellW_ = 80;
    int posW_ = 40, inW_ = 80, tgtW_ = 80;
    QPoint hovered_{-1, -1};  // (layer, position); -1 = whole row / column or none
};

void InspectorGrid::relayout() {
    const QFontMetrics fm(font());
    QFont bold = font();
    bold.setBold(true);
    const QFontMetrics fmBold(bold);
    rowH_ = fm.height() + 8;
    headerH_ = 2 * fm.height() + 10;
    const ls::InspectGrid* grid = view_->grid_.get();
    int natural = kMinCell, inWidth = 0, tgtWidth = 0;
    if (grid && grid->positions > 0) {
        posW_ = fm.horizontalAdvance(QString::number(grid->positions - 1)) + 2 * kPadX + 4;
        for (int p = 0; p < grid->positions; ++p) {
            if (size_t(p) < grid->inputIds.size())
                inWidth = std::max(inWidth, fm.horizontalAdvance(view_->tokenLabel(grid->inputIds[size_t(p)])));
            if (size_t(p) < grid->targetIds.size())
                tgtWidth = std::max(tgtWidth, fm.horizontalAdvance(view_->tokenLabel(grid->targetIds[size_t(p)])));
        }
        // Bold: the widest a cell's text is drawn.
        for (auto it = view_->labels_.cbegin(); it != view_->labels_.cend(); ++it)
            natural = std::max(natural, fmBold.horizontalAdvance(it.value()) + 2 * kPadX + 1);
        natural = std::min(natural, kMaxNaturalCell);
    } else {
        posW_ = fm.horizontalAdvance(QStringLiteral("000")) + 2 * kPadX;
    }
    inW_ = clampInt(std::max(inWidth, fm.horizontalAdvance(tr("input"))) + 2 * kPadX + 1, kMinTokenColumn, kMaxTokenColumn);
    tgtW_ = clampInt(std::max(tgtWidth + fm.horizontalAdvance(QStringLiteral("→ ")), fm.horizontalAdvance(tr("next"))) +
                         2 * kPadX + 1,
                     kMinTokenColumn, kMaxTokenColumn);
    // Spread spare width over the layers, up to a limit, so that few layers fill the view.
    const int layers = std::max(view_->layers(), 1);
    const int available = viewport()->width() - rowHeaderWidth();
    cellW_ = std::max(natural, std::min(available / layers, kMaxStretchedCell));

    const int contentH = headerH_ + view_->positions() * rowH_;
    verticalScrollBar()->setRange(0, std::max(0, contentH - viewport()->height()));
    verticalScrollBar()->setPageStep(std::max(rowH_, viewport()->height() - headerH_));
    verticalScrollBar()->setSingleStep(rowH_);
    horizontalScrollBar()->setRange(0, std::max(0, contentWidth() - viewport()->width()));
    horizontalScrollBar()->setPageStep(std::max(cellW_, viewport()->width() - rowHeaderWidth()));
    horizontalScrollBar()->setSingleStep(cellW_);
    viewport()->update();
}

void InspectorGrid::paintGrid(QPainter& painter, const QSize& size, int sx, int sy, bool hover) const {
    const QPalette& pal = palette();
    painter.fillRect(QRect(QPoint(0, 0), size), pal.color(QPalette::Base));
    const ls::InspectGrid* grid = view_->grid_.get();
    if (!grid || grid->positions <= 0 || grid->layers <= 0) {
        painter.setPen(pal.color(QPalette::PlaceholderText));
        painter.drawText(QRect(QPoint(0, 0), size).adjusted(20, 20, -20, -20), Qt::AlignCenter | Qt::TextWordWrap,
                         TokenInspectorView::tr("No token inspector grid yet: run the token inspector analysis "
                                                "on a window."));
        return;
    }
    const QPoint hovered = hover ? hovered_ : QPoint(-1, -1);
    const int rowHeaderW = rowHeaderWidth();
    const QFont normal = font();
    QFont bold = normal;
    bold.setBold(true);
    QFont small = normal;
    small.setPointSizeF(normal.pointSizeF() * 0.85);
    const QColor grey = pal.color(QPalette::PlaceholderText);
    const int P = grid->positions, L = grid->layers;
    const int firstRow = std::max(0, sy / rowH_);
    const int lastRow = std::min(P - 1, (sy + size.height() - headerH_) / rowH_);
    const int firstCol = std::max(0, sx / cellW_);
    const int lastCol = std::min(L - 1, (sx + size.width() - rowHeaderW) / cellW_);

    // Cells.
    painter.save();
    painter.setClipRect(QRect(rowHeaderW, headerH_, size.width() - rowHeaderW, size.height() - headerH_));
    for (int p = firstRow; p <= lastRow; ++p) {
        for (int l = firstCol; l <= lastCol; ++l) {
            const QRect rect(rowHeaderW + l * cellW_ - sx, headerH_ + p * rowH_ - sy, cellW_, rowH_);
            const QColor fill = view_->cellColor(p, l);
            painter.fillRect(rect, fill);
            painter.setPen(kGridLine);
            painter.drawLine(rect.topRight(), rect.bottomRight());
            painter.drawLine(rect.bottomLeft(), rect.bottomRight());
            const bool hit = view_->cellHitsTarget(p, l);
            if (hit) {
                painter.setPen(QPen(kTargetOutline, 2));
                painter.setBrush(Qt::NoBrush);
                painter.drawRect(QRectF(rect).adjusted(1.5, 1.5, -2.5, -2.5));
            }
            if (hovered.x() == l && hovered.y() == p) {
                // Black with a white inner line: visible on light and on dark cells.
                painter.setBrush(Qt::NoBrush);
                painter.setPen(QPen(kHoverOutline, 2));
                painter.drawRect(QRectF(rect).adjusted(1, 1, -1, -1));
                painter.setPen(QPen(Qt::white, 1));
                painter.drawRect(QRectF(rect).adjusted(2.5, 2.5, -2.5, -2.5));
            }
            painter.setFont(hit ? bold : normal);
            painter.setPen(TokenInspectorView::textColorOn(fill));
            const QRect textRect = rect.adjusted(kPadX, 0, -kPadX, 0);
            painter.drawText(textRect, Qt::AlignCenter,
                             painter.fontMetrics().elidedText(view_->cellText(p, l), Qt::ElideRight, textRect.width()));
        }
    }
    painter.restore();

    // Position header on the left: position, input token, target.
    painter.save();
    painter.setClipRect(QRect(0, headerH_, rowHeaderW, size.height() - headerH_));
    painter.fillRect(QRect(0, headerH_, rowHeaderW, size.height() - headerH_), palette::headerFill(pal));
    for (int p = firstRow; p <= lastRow; ++p) {
        const QRect row(0, headerH_ + p * rowH_ - sy, rowHeaderW, rowH_);
        if (hovered.y() == p)
            painter.fillRect(row, palette::hoverFill(pal));
        painter.setFont(small);
        painter.setPen(grey);
        painter.drawText(QRect(row.left(), row.top(), posW_ - kPadX, rowH_), Qt::AlignRight | Qt::AlignVCenter,
                         QString::number(p));
        painter.setFont(normal);
        painter.setPen(pal.color(QPalette::Text));
        const QRect in(posW_ + kPadX, row.top(), inW_ - 2 * kPadX, rowH_);
        const int32_t inputId = size_t(p) < grid->inputIds.size() ? grid->inputIds[size_t(p)] : -1;
        painter.drawText(in, Qt::AlignLeft | Qt::AlignVCenter,
                         painter.fontMetrics().elidedText(view_->tokenLabel(inputId), Qt::ElideRight, in.width()));
        const QRect tgt(posW_ + inW_ + kPadX, row.top(), tgtW_ - 2 * kPadX, rowH_);
        const int32_t targetId = size_t(p) < grid->targetIds.size() ? grid->targetIds[size_t(p)] : -1;
        painter.setPen(grey);
        painter.drawText(tgt, Qt::AlignLeft | Qt::AlignVCenter,
                         painter.fontMetrics().elidedText(
                             targetId >= 0 ? QStringLiteral("→ ") + view_->tokenLabel(targetId) : QStringLiteral("—"),
                             Qt::ElideRight, tgt.width()));
        painter.setPen(QColor(225, 225, 225));
        painter.drawLine(row.bottomLeft(), row.bottomRight());
    }
    painter.restore();

    // Layer header on top: the layer's name and how often its top-1 is the next token.
    painter.save();
    painter.setClipRect(QRect(rowHeaderW, 0, size.width() - rowHeaderW, headerH_));
    painter.fillRect(QRect(rowHeaderW, 0, size.width() - rowHeaderW, headerH_), palette::headerFill(pal));
    const QFontMetrics fm(normal);
    int scored = 0;
    for (int p = 0; p < P; ++p)
        scored += size_t(p) < grid->targetIds.size() && grid->targetIds[size_t(p)] >= 0;
    for (int l = firstCol; l <= lastCol; ++l) {
        const QRect col(rowHeaderW + l * cellW_ - sx, 0, cellW_, headerH_);
        if (hovered.x() == l)
            painter.fillRect(col, palette::hoverFill(pal));
        painter.setFont(bold);
        painter.setPen(pal.color(QPalette::Text));
        painter.drawText(QRect(col.left(), 4, col.width(), fm.height()), Qt::AlignCenter,
                         TokenInspectorView::layerName(l));
        if (scored > 0) {
            int hits = 0;
            for (int p = 0; p < P; ++p)
                hits += view_->cellHitsTarget(p, l);
            painter.setFont(small);
            painter.setPen(grey);
            painter.drawText(QRect(col.left(), 6 + fm.height(), col.width(), fm.height()), Qt::AlignCenter,
                             QStringLiteral("%1 %").arg(100.0 * hits / scored, 0, 'f', 0));
        }
        painter.setPen(QColor(210, 210, 210));
        painter.drawLine(col.topRight(), col.bottomRight());
    }
    painter.restore();

    // Corner: the position header's column titles in line with the layer names, and what
    // the layers' second line counts.
    const QRect corner(0, 0, rowHeaderW, headerH_);
    painter.fillRect(corner, palette::headerFill(pal));
    painter.setFont(bold);
    painter.setPen(pal.color(QPalette::Text));
    const QRect line1(0, 4, rowHeaderW, fm.height());
    painter.drawText(QRect(0, line1.top(), posW_ - kPadX, fm.height()), Qt::AlignRight | Qt::AlignVCenter,
                     TokenInspectorView::tr("pos"));
    painter.drawText(QRect(posW_ + kPadX, line1.top(), inW_ - kPadX, fm.height()), Qt::AlignLeft | Qt::AlignVCenter,
                     TokenInspectorView::tr("input"));
    painter.drawText(QRect(posW_ + inW_ + kPadX, line1.top(), tgtW_ - kPadX, fm.height()),
                     Qt::AlignLeft | Qt::AlignVCenter, TokenInspectorView::tr("next"));
    painter.setFont(small);
    painter.setPen(grey);
    painter.drawText(QRect(kPadX, 6 + fm.height(), rowHeaderW - 2 * kPadX, fm.height()), Qt::AlignRight | Qt::AlignVCenter,
                     TokenInspectorView::tr("top-1 = next at:"));
    painter.setPen(QColor(170, 170, 170));
    painter.drawLine(0, headerH_ - 1, size.width(), headerH_ - 1);
    painter.drawLine(rowHeaderW - 1, 0, rowHeaderW - 1, size.height());
}

QString InspectorGrid::headerToolTip(const QPoint& header) const {
    const ls::InspectGrid* grid = view_->grid_.get();
    if (!grid)
        return {};
    if (header.y() >= 0) {
        const int p = header.y();
        const int32_t in = size_t(p) < grid->inputIds.size() ? grid->inputIds[size_t(p)] : -1;
        const int32_t tgt = size_t(p) < grid->targetIds.size() ? grid->targetIds[size_t(p)] : -1;
        QString text = TokenInspectorView::tr("<b>position %1</b> (stream token %2)<br>input <b>%3</b> (id %4)")
                           .arg(p)
                           .arg(grid->begin + p)
                           .arg(view_->tokenLabel(in).toHtmlEscaped())
                           .arg(in);
        if (tgt >= 0)
            text += TokenInspectorView::tr("<br>next token <b>%1</b> (id %2)").arg(view_->tokenLabel(tgt).toHtmlEscaped()).arg(tgt);
        else
            text += TokenInspectorView::tr("<br>last position: no next token in the window");
        return text;
    }
    const int l = header.x();
    int hits = 0, scored = 0;
    for (int p = 0; p < grid->positions; ++p) {
        scored += size_t(p) < grid->targetIds.size() && grid->targetIds[size_t(p)] >= 0;
        hits += view_->cellHitsTarget(p, l);
    }
    const QString what = l == 0 ? TokenInspectorView::tr("h_0: the embeddings entering block 1")
                                : TokenInspectorView::tr("h_%1: the output of block %1").arg(l);
    return TokenInspectorView::tr("<b>layer %1</b>: %2<br>lens top-1 = next token at %3 of %4 positions")
        .arg(TokenInspectorView::layerName(l), what)
        .arg(hits)
        .arg(scored);
}

bool InspectorGrid::viewportEvent(QEvent* event) {
    if (event->type() == QEvent::Leave && hovered_ != QPoint(-1, -1)) {
        hovered_ = {-1, -1};
        viewport()->update();
    }
    if (event->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(event);
        setHovered(help->pos());
        const QPoint cell = cellAt(help->pos());
        QString text;
        QRect rect;
        if (cell.x() >= 0) {
            text = view_->cellToolTip(cell.y(), cell.x());
            rect = cellRect(cell.y(), cell.x());
        } else if (hovered_ != QPoint(-1, -1)) {
            text = headerToolTip(hovered_);
        }
        if (!text.isEmpty()) {
            QToolTip::showText(help->globalPos(), text, viewport(), rect);
        } else {
            QToolTip::hideText();
            event->ignore();
        }
        return true;
    }
    return QAbstractScrollArea::viewportEvent(event);
}

// ---------------------------------------------------------------------------------------
// The colour legend: the scale with ticks, and what the orange outline means.

namespace {

class ProbabilityLegend : public QWidget {
public:
    explicit ProbabilityLegend(QWidget* parent) : QWidget(parent) {
        setSizePolicy(QSizePolicy::Fixed, QSizePolicy::Fixed);
        setToolTip(tr("Cell colour: the lens top-1 probability softmax(z_l) at that position and layer.\n"
                      "Bold with an orange outline: the top-1 is the next token of the text."));
    }
    QSize sizeHint() const override {
        const QFontMetrics fm(font());
        return {kBar + 2 * kGap + fm.horizontalAdvance(label()) + fm.horizontalAdvance(targetLabel()) + kSwatch + 24,
                2 * fm.height() + 8};
    }

protected:
    void paintEvent(QPaintEvent*) override {
        QPainter painter(this);
        const QFontMetrics fm(font());
        int x = 0;
        painter.setPen(palette().color(QPalette::Text));
        painter.drawText(QRect(x, 0, fm.horizontalAdvance(label()), fm.height() + 2), Qt::AlignLeft | Qt::AlignVCenter,
                         label());
        x += fm.horizontalAdvance(label()) + kGap;
        const QRect bar(x, 2, kBar, fm.height() - 2);
        for (int i = 0; i < bar.width(); ++i) {
            painter.setPen(TokenInspectorView::probabilityColor(double(i) / (bar.width() - 1)));
            painter.drawLine(bar.left() + i, bar.top(), bar.left() + i, bar.bottom());
        }
        painter.setPen(QColor(150, 150, 150));
        painter.setBrush(Qt::NoBrush);
        painter.drawRect(bar.adjusted(0, 0, -1, 0));
        QFont small = font();
        small.setPointSizeF(font().pointSizeF() * 0.85);
        painter.setFont(small);
        painter.setPen(palette().color(QPalette::PlaceholderText));
        for (int t = 0; t <= 4; ++t) {
            const int tx = bar.left() + (bar.width() - 1) * t / 4;
            painter.drawLine(tx, bar.bottom() + 1, tx, bar.bottom() + 3);
            const QString text = QString::number(t * 0.25);
            const int w = QFontMetrics(small).horizontalAdvance(text);
            painter.drawText(QRect(tx - w / 2 - 2, bar.bottom() + 3, w + 4, fm.height()), Qt::AlignCenter, text);
        }
        painter.setFont(font());
        x = bar.right() + kGap + 12;
        const QRect swatch(x, 1, kSwatch, fm.height());
        painter.fillRect(swatch, TokenInspectorView::probabilityColor(0.3));
        painter.setPen(QPen(kTargetOutline, 2));
        painter.drawRect(QRectF(swatch).adjusted(1, 1, -1, -1));
        QFont bold = font();
        bold.setBold(true);
        painter.setFont(bold);
        painter.setPen(Qt::black);
        painter.drawText(swatch, Qt::AlignCenter, QStringLiteral("a"));
        painter.setFont(font());
        painter.setPen(palette().color(QPalette::Text));
        painter.drawText(QRect(swatch.right() + 6, 0, fm.horizontalAdvance(targetLabel()) + 2, fm.height() + 2),
                         Qt::AlignLeft | Qt::AlignVCenter, targetLabel());
    }

private:
    static QString label() { return tr("top-1 probability"); }
    static QString targetLabel() { return tr("top-1 = next token"); }
    static QString tr(const char* text) { return TokenInspectorView::tr(text); }
    static constexpr int kBar = 180, kGap = 8, kSwatch = 26;
};

}  // namespace

// ---------------------------------------------------------------------------------------

TokenInspectorView::TokenInspectorView(QWidget* parent) : ResultView(QString(), parent) {
    area_ = new InspectorGrid(this);
    addHeaderControl(new ProbabilityLegend(this));
    setBody(area_);

    // The button rebuilds its menu when it opens (connected first, so this runs after it):
    // add the grid image next to "Everything to a folder…".
    ExportButton* button = exportButton();
    connect(button->menu(), &QMenu::aboutToShow, this, [this, button] {
        QMenu* menu = button->menu();
        QAction* all = menu->findChild<QAction*>(QStringLiteral("export_all"));
        auto* image = new QAction(tr("Grid image (PNG)…"), menu);
        image->setObjectName(QStringLiteral("export_grid_png"));
        image->setEnabled(hasData());
        menu->insertAction(all, image);
        connect(image, &QAction::triggered, this, [this, button] {
            const QString path = QFileDialog::getSaveFileName(this, tr("Save Grid Image"),
                                                              QStringLiteral("inspect_grid.png"), tr("PNG (*.png)"));
            if (path.isEmpty())
                return;
            QString error;
            if (saveGridImage(path, &error))
                emit button->exported(path);
            else
                emit button->failed(error);
        });
    });
    setGrid(nullptr);
}

std::vector<ls::Table> TokenInspectorView::tables() const {
    return grid_ && grid_->positions > 0 ? ls::inspectTables(*grid_) : std::vector<ls::Table>{};
}

bool TokenInspectorView::hasData() const { return grid_ && grid_->positions > 0 && grid_->layers > 0; }
int TokenInspectorView::positions() const { return hasData() ? grid_->positions : 0; }
int TokenInspectorView::layers() const { return hasData() ? grid_->layers : 0; }
QAbstractScrollArea* TokenInspectorView::gridArea() const { return area_; }

void TokenInspectorView::setGrid(std::shared_ptr<const ls::InspectGrid> grid) {
    grid_ = std::move(grid);
    rebuildLabels();
    setSummary(summaryText());
    area_->verticalScrollBar()->setValue(0);
    area_->horizontalScrollBar()->setValue(0);
    area_->relayout();
}

void TokenInspectorView::rebuildLabels() {
    labels_.clear();
    if (!grid_)
        return;
    const auto add = [this](int32_t id) {
        if (id >= 0 && !labels_.contains(id)) {
            const auto it = grid_->tokenText.find(id);
            labels_.insert(id, it != grid_->tokenText.end()
                                   ? TokenPreviewView::visibleWhitespace(QString::fromStdString(it->second))
                                   : QStringLiteral("#%1").arg(id));
        }
    };
    for (int32_t id : grid_->inputIds)
        add(id);
    for (int32_t id : grid_->targetIds)
        add(id);
    for (int32_t id : grid_->topIds)
        add(id);
}

QString TokenInspectorView::tokenLabel(int32_t id) const {
    if (id < 0)
        return {};
    const auto cached = labels_.constFind(id);
    if (cached != labels_.cend())
        return cached.value();
    if (grid_) {
        const auto it = grid_->tokenText.find(id);
        if (it != grid_->tokenText.end())
            return TokenPreviewView::visibleWhitespace(QString::fromStdString(it->second));
    }
    return QStringLiteral("#%1").arg(id);
}

QString TokenInspectorView::layerName(int layer) {
    return layer == 0 ? QStringLiteral("emb") : QString::number(layer);
}

namespace {

// Bounds-checked reads of the grid's (positions, layers, topK) arrays.
int32_t topId(const ls::InspectGrid& g, int p, int l, int k) {
    if (p < 0 || p >= g.positions || l < 0 || l >= g.layers || k < 0 || k >= g.topK)
        return -1;
    const size_t i = g.index(p, l, k);
    return i < g.topIds.size() ? g.topIds[i] : -1;
}
double topProb(const ls::InspectGrid& g, int p, int l, int k) {
    if (p < 0 || p >= g.positions || l < 0 || l >= g.layers || k < 0 || k >= g.topK)
        return qQNaN();
    const size_t i = g.index(p, l, k);
    return i < g.topProbs.size() ? double(g.topProbs[i]) : qQNaN();
}
int32_t targetOf(const ls::InspectGrid& g, int p) {
    return p >= 0 && size_t(p) < g.targetIds.size() ? g.targetIds[size_t(p)] : -1;
}

}  // namespace

QString TokenInspectorView::cellText(int position, int layer) const {
    return grid_ ? tokenLabel(topId(*grid_, position, layer, 0)) : QString();
}

double TokenInspectorView::cellProbability(int position, int layer) const {
    return grid_ ? topProb(*grid_, position, layer, 0) : qQNaN();
}

bool TokenInspectorView::cellHitsTarget(int position, int layer) const {
    if (!grid_)
        return false;
    const int32_t target = targetOf(*grid_, position);
    return target >= 0 && topId(*grid_, position, layer, 0) == target;
}

QColor TokenInspectorView::cellColor(int position, int layer) const {
    return probabilityColor(cellProbability(position, layer));
}

// ColorBrewer "Blues": black text stays readable on its light half; textColorOn switches to
// white on the dark half.
QColor TokenInspectorView::probabilityColor(double p) { return palette::blues(p); }

QString TokenInspectorView::formatProbability(double p) {
    if (!std::isfinite(p))
        return QStringLiteral("—");
    const double percent = 100.0 * p;
    if (p >= 0.1)
        return QStringLiteral("%1 %").arg(percent, 0, 'f', 1);
    if (p >= 0.01)
        return QStringLiteral("%1 %").arg(percent, 0, 'f', 2);
    if (p >= 0.001)
        return QStringLiteral("%1 %").arg(percent, 0, 'f', 3);
    return QStringLiteral("%1 %").arg(percent, 0, 'g', 3);
}

QColor TokenInspectorView::textColorOn(const QColor& background) { return palette::textOn(background); }

QString TokenInspectorView::cellToolTip(int position, int layer) const {
    if (!hasData() || position < 0 || position >= grid_->positions || layer < 0 || layer >= grid_->layers)
        return {};
    const ls::InspectGrid& g = *grid_;
    const auto token = [this](int32_t id) {
        return QStringLiteral("<b>%1</b>").arg(tokenLabel(id).toHtmlEscaped());
    };
    const int32_t input = size_t(position) < g.inputIds.size() ? g.inputIds[size_t(position)] : -1;
    const int32_t target = targetOf(g, position);
    const int32_t finalTop1 = topId(g, position, g.layers - 1, 0);
    QString text = tr("<b>position %1</b>, layer %2 (%3)")
                       .arg(position)
                       .arg(layerName(layer))
                       .arg(layer == 0 ? tr("embeddings h_0") : tr("block %1 output").arg(layer));
    text += tr("<br>input %1 → next %2").arg(token(input), target >= 0 ? token(target) : tr("(none)"));
    text += QStringLiteral("<table cellspacing=0 cellpadding=1>");
    for (int k = 0; k < g.topK; ++k) {
        const int32_t id = topId(g, position, layer, k);
        if (id < 0)
            continue;
        QString marks;
        if (id == target)
            marks += tr("&nbsp;&nbsp;✓&nbsp;next");
        if (id == finalTop1 && layer != g.layers - 1)
            marks += tr("&nbsp;&nbsp;★&nbsp;final&nbsp;top-1");
        text += QStringLiteral("<tr><td>%1.&nbsp;</td><td>%2</td><td align=right>&nbsp;&nbsp;%3</td><td>%4</td></tr>")
                    .arg(k + 1)
                    .arg(tokenLabel(id).toHtmlEscaped())
                    .arg(formatProbability(topProb(g, position, layer, k)))
                    .arg(marks);
    }
    text += QStringLiteral("</table>");
    const size_t fi = size_t(position) * size_t(g.layers) + size_t(layer);
    const double finalProb = fi < g.finalTop1Prob.size() ? double(g.finalTop1Prob[fi]) : qQNaN();
    text += tr("final top-1 %1: %2 at this layer").arg(token(finalTop1), formatProbability(finalProb));
    return text;
}

QString TokenInspectorView::summaryText() const {
    if (!hasData())
        return tr("No grid yet: run the token inspector on a window.");
    const ls::InspectGrid& g = *grid_;
    int scored = 0, hits = 0;
    for (int p = 0; p < g.positions; ++p) {
        scored += targetOf(g, p) >= 0;
        hits += cellHitsTarget(p, g.layers - 1);
    }
    QString text = tr("Window %1 · tokens %2–%3 · %4 positions × %5 layers (emb%6) · top-%7")
                       .arg(g.window)
                       .arg(QLocale().toString(qint64(g.begin)))
                       .arg(QLocale().toString(qint64(g.begin + g.positions - 1)))
                       .arg(g.positions)
                       .arg(g.layers)
                       .arg(g.layers > 1 ? tr(", 1–%1").arg(g.layers - 1) : QString())
                       .arg(g.topK);
    if (scored > 0)
        text += tr(" · final top-1 = next at %1 of %2 positions (%3 %)")
                    .arg(hits)
                    .arg(scored)
                    .arg(100.0 * hits / scored, 0, 'f', 1);
    return text;
}

QRect TokenInspectorView::cellRect(int position, int layer) const { return area_->cellRect(position, layer); }
QPoint TokenInspectorView::cellAt(const QPoint& viewportPos) const { return area_->cellAt(viewportPos); }

void TokenInspectorView::scrollToCell(int position, int layer) {
    if (!hasData())
        return;
    const QRect rect = area_->cellRect(position, layer);
    const QSize view = area_->viewport()->size();
    QScrollBar* v = area_->verticalScrollBar();
    QScrollBar* h = area_->horizontalScrollBar();
    if (rect.top() < area_->headerHeight())
        v->setValue(v->value() - (area_->headerHeight() - rect.top()));
    else if (rect.bottom() >= view.height())
        v->setValue(v->value() + rect.bottom() - view.height() + 1);
    if (rect.left() < area_->rowHeaderWidth())
        h->setValue(h->value() - (area_->rowHeaderWidth() - rect.left()));
    else if (rect.right() >= view.width())
        h->setValue(h->value() + rect.right() - view.width() + 1);
}

QImage TokenInspectorView::gridImage(int maxHeight) const {
    const int rows = positions();
    int firstRow = 0;
    int shown = rows;
    const int rowH = area_->rowHeight();
    if (area_->headerHeight() + rows * rowH > maxHeight) {
        shown = std::max(1, (maxHeight - area_->headerHeight()) / rowH);
        firstRow = std::min(area_->verticalScrollBar()->value() / rowH, std::max(0, rows - shown));
    }
    const QSize size(std::max(area_->contentWidth(), 200), area_->headerHeight() + std::max(shown, 1) * rowH);
    QImage image(size, QImage::Format_RGB32);
    QPainter painter(&image);
    painter.setFont(area_->font());
    painter.setRenderHint(QPainter::TextAntialiasing);
    area_->paintGrid(painter, size, 0, firstRow * rowH, false);
    painter.end();
    return image;
}

bool TokenInspectorView::saveGridImage(const QString& path, QString* error) const {
    if (!hasData()) {
        if (error)
            *error = tr("%1: there is no grid to save").arg(path);
        return false;
    }
    const QImage image = gridImage();
    QSaveFile file(path);  // a temporary file renamed into place by commit(): never half a PNG
    if (!file.open(QIODevice::WriteOnly) || !image.save(&file, "PNG") || !file.commit()) {
        if (error)
            *error = tr("%1: could not write the image").arg(path);
        return false;
    }
    return true;
}

}  // namespace ls::widgets
