#include "kit/hover.h"

#include <QMouseEvent>
#include <QToolTip>
#include <cmath>
#include <qcustomplot.h>

namespace ls::widgets {

namespace {

// Watches one plot's mouse moves (the plot tracks the mouse) and its Leave event.
class HoverText : public QObject {
public:
    HoverText(QCustomPlot* plot, std::function<QString(const QPointF&)> textAt, std::function<void()> outside)
        : QObject(plot), plot_(plot), textAt_(std::move(textAt)), outside_(std::move(outside)) {
        plot->setMouseTracking(true);
        plot->installEventFilter(this);
    }

protected:
    bool eventFilter(QObject* watched, QEvent* event) override {
        if (watched != plot_)
            return false;
        if (event->type() == QEvent::MouseMove) {
            const auto* mouse = static_cast<QMouseEvent*>(event);
            if (insideAxisRect(plot_, mouse->position())) {
                const QString text = textAt_(mouse->position());
                if (text.isEmpty())
                    QToolTip::hideText();
                else
                    QToolTip::showText(mouse->globalPosition().toPoint(), text, plot_);
            } else {
                leave();
            }
        } else if (event->type() == QEvent::Leave) {
            leave();
        }
        return false;
    }

private:
    void leave() {
        QToolTip::hideText();
        if (outside_)
            outside_();
    }

    QCustomPlot* plot_;
    std::function<QString(const QPointF&)> textAt_;
    std::function<void()> outside_;
};

}  // namespace

void addHoverText(QCustomPlot* plot, std::function<QString(const QPointF&)> textAt, std::function<void()> outside) {
    new HoverText(plot, std::move(textAt), std::move(outside));
}

bool insideAxisRect(const QCustomPlot* plot, const QPointF& pos) {
    return plot->axisRect()->rect().contains(pos.toPoint());
}

int nearestPoint(const QCustomPlot* plot, const QPointF& pos, int count, const std::function<QPointF(int)>& pointAt,
                 double reach) {
    int best = -1;
    double bestSquared = reach * reach;
    for (int i = 0; i < count; ++i) {
        const QPointF p = pointAt(i);
        if (!std::isfinite(p.x()) || !std::isfinite(p.y()))
            continue;
        const double dx = plot->xAxis->coordToPixel(p.x()) - pos.x();
        const double dy = plot->yAxis->coordToPixel(p.y()) - pos.y();
        if (dx * dx + dy * dy < bestSquared) {
            bestSquared = dx * dx + dy * dy;
            best = i;
        }
    }
    return best;
}

int nearestKey(const QCustomPlot* plot, const QPointF& pos, int count, const std::function<double(int)>& keyAt,
               double reach) {
    int best = -1;
    double bestDistance = reach;
    for (int i = 0; i < count; ++i) {
        const double key = keyAt(i);
        if (!std::isfinite(key))
            continue;
        const double d = std::abs(plot->xAxis->coordToPixel(key) - pos.x());
        if (d < bestDistance) {
            bestDistance = d;
            best = i;
        }
    }
    return best;
}

int wholeKeyAt(const QCustomPlot* plot, const QPointF& pos) {
    return int(std::lround(plot->xAxis->pixelToCoord(pos.x())));
}

int wholeValueAt(const QCustomPlot* plot, const QPointF& pos) {
    return int(std::lround(plot->yAxis->pixelToCoord(pos.y())));
}

}  // namespace ls::widgets
