#include "token_preview_view.h"

#include <QHelpEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QScrollBar>
#include <QToolTip>
#include <algorithm>

#include "kit/palette.h"

namespace ls::widgets {

namespace {

constexpr int kMargin = 8;     // around the content
constexpr int kPadX = 3;       // inside a box, left and right of the text
constexpr int kPadY = 1;       // inside a box, above and below the text
constexpr int kGap = 2;        // between boxes, both ways
constexpr int kWindowGap = 14; // between windows

}  // namespace

TokenPreviewView::TokenPreviewView(QWidget* parent) : QAbstractScrollArea(parent) {
    setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);  // rows wrap instead
    viewport()->setMouseTracking(true);
    viewport()->setBackgroundRole(QPalette::Base);
    viewport()->setAutoFillBackground(true);
}

QString TokenPreviewView::visibleWhitespace(const QString& text) {
    if (text.isEmpty())
        return QStringLiteral("∅");
    QString out;
    out.reserve(text.size());
    for (const QChar c : text) {
        if (c == ' ')
            out += QChar(0x00B7);  // ·
        else if (c == '\n')
            out += QChar(0x21B5);  // ↵
        else if (c == '\t')
            out += QChar(0x2192);  // →
        else if (c != '\r')
            out += c;
    }
    return out;
}

void TokenPreviewView::setWindows(QList<PreviewWindow> windows) {
    windows_ = std::move(windows);
    hovered_ = -1;
    verticalScrollBar()->setValue(0);
    relayout();
}

void TokenPreviewView::setPlaceholderText(const QString& text) {
    placeholder_ = text;
    viewport()->update();
}

void TokenPreviewView::setLegend(const QString& text) {
    legend_ = text;
    relayout();
}

void TokenPreviewView::relayout() {
    boxes_.clear();
    lines_.clear();
    const QFontMetrics fm(font());
    const int width = std::max(viewport()->width(), 120);
    const int right = width - kMargin;
    const int boxHeight = fm.height() + 2 * kPadY;
    int y = kMargin;
    if (!legend_.isEmpty() && !windows_.isEmpty()) {
        lines_.append({QRect(kMargin, y, right - kMargin, fm.height()), legend_, false});
        y += fm.height() + kGap + 4;
    }
    for (int w = 0; w < windows_.size(); ++w) {
        const PreviewWindow& window = windows_[w];
        if (w > 0)
            y += kWindowGap;
        if (!window.title.isEmpty()) {
            lines_.append({QRect(kMargin, y, right - kMargin, fm.height()), window.title, true});
            y += fm.height() + 4;
        }
        int x = kMargin;
        bool rowUsed = false;
        for (int t = 0; t < window.tokens.size(); ++t) {
            const QString label = visibleWhitespace(window.tokens[t].text);
            // +1: horizontalAdvance rounds, and the painted text must not be elided.
            const int boxWidth = std::min(fm.horizontalAdvance(label) + 2 * kPadX + 1, right - kMargin);
            if (rowUsed && x + boxWidth > right) {  // wrap
                x = kMargin;
                y += boxHeight + kGap;
            }
            boxes_.append({QRect(x, y, boxWidth, boxHeight), label, w, t});
            x += boxWidth + kGap;
            rowUsed = true;
            // A newline token ends its row, so the text keeps its line structure.
            if (window.tokens[t].text.contains('\n')) {
                x = kMargin;
                y += boxHeight + kGap;
                rowUsed = false;
            }
        }
        if (rowUsed)
            y += boxHeight + kGap;
        if (!window.note.isEmpty()) {
            lines_.append({QRect(kMargin, y + 2, right - kMargin, fm.height()), window.note, false});
            y += fm.height() + 4;
        }
    }
    contentHeight_ = y + kMargin;
    verticalScrollBar()->setRange(0, std::max(0, contentHeight_ - viewport()->height()));
    verticalScrollBar()->setPageStep(viewport()->height());
    verticalScrollBar()->setSingleStep(boxHeight + kGap);
    viewport()->update();
}

int TokenPreviewView::boxAt(const QPoint& viewportPos) const {
    const QPoint p = viewportPos + QPoint(0, verticalScrollBar()->value());
    for (int i = 0; i < boxes_.size(); ++i)
        if (boxes_[i].rect.contains(p))
            return i;
    return -1;
}

void TokenPreviewView::paintEvent(QPaintEvent*) {
    QPainter painter(viewport());
    if (windows_.isEmpty()) {
        painter.setPen(palette().color(QPalette::PlaceholderText));
        painter.drawText(viewport()->rect().adjusted(20, 20, -20, -20), Qt::AlignCenter | Qt::TextWordWrap,
                         placeholder_);
        return;
    }
    painter.translate(0, -verticalScrollBar()->value());
    const QRect visible = viewport()->rect().translated(0, verticalScrollBar()->value());
    painter.setRenderHint(QPainter::Antialiasing);

    QFont bold = font();
    bold.setBold(true);
    for (const Line& line : lines_) {
        if (!line.rect.intersects(visible))
            continue;
        painter.setFont(line.title ? bold : font());
        painter.setPen(palette().color(line.title ? QPalette::Text : QPalette::PlaceholderText));
        painter.drawText(line.rect, Qt::AlignLeft | Qt::AlignVCenter,
                         painter.fontMetrics().elidedText(line.text, Qt::ElideRight, line.rect.width()));
    }

    painter.setFont(font());
    const QColor textColor = palette().color(QPalette::Text);
    for (int i = 0; i < boxes_.size(); ++i) {
        const Box& box = boxes_[i];
        if (!box.rect.intersects(visible))
            continue;
        const bool context = windows_[box.window].tokens[box.token].context;
        // Two alternating fills so that neighbouring tokens are told apart.
        QColor fill = i == hovered_ ? palette::hoverFill(palette()) : palette::alternateFill(palette(), box.token);
        if (context && i != hovered_)
            fill = fill.lighter(106);
        painter.setPen(QPen(fill.darker(context ? 115 : 135), 1));
        painter.setBrush(fill);
        painter.drawRoundedRect(QRectF(box.rect).adjusted(0.5, 0.5, -0.5, -0.5), 3, 3);
        painter.setPen(context ? palette().color(QPalette::PlaceholderText) : textColor);
        // Only a token wider than the whole row is elided.
        painter.drawText(box.rect, Qt::AlignCenter,
                         painter.fontMetrics().elidedText(box.label, Qt::ElideRight, box.rect.width() - 2 * kPadX + 1));
    }
}

void TokenPreviewView::resizeEvent(QResizeEvent* event) {
    QAbstractScrollArea::resizeEvent(event);
    relayout();
}

bool TokenPreviewView::viewportEvent(QEvent* event) {
    if (event->type() == QEvent::Leave)
        setHovered(-1);
    if (event->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(event);
        const int i = boxAt(help->pos());
        if (i >= 0) {
            const Box& box = boxes_[i];
            QRect rect = box.rect.translated(0, -verticalScrollBar()->value());
            QToolTip::showText(help->globalPos(), windows_[box.window].tokens[box.token].tooltip, viewport(), rect);
        } else {
            QToolTip::hideText();
            event->ignore();
        }
        return true;
    }
    return QAbstractScrollArea::viewportEvent(event);
}

void TokenPreviewView::mouseMoveEvent(QMouseEvent* event) {
    setHovered(boxAt(event->position().toPoint()));
    QAbstractScrollArea::mouseMoveEvent(event);
}

void TokenPreviewView::setHovered(int box) {
    if (box != hovered_) {
        hovered_ = box;
        viewport()->update();
    }
}

void TokenPreviewView::scrollContentsBy(int, int) { viewport()->update(); }

}  // namespace ls::widgets
