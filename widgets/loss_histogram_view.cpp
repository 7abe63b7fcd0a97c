#include "loss_histogram_view.h"

#include <QCheckBox>
#include <QFile>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QSpinBox>
#include <QTextStream>
#include <QVBoxLayout>
#include <cmath>
#include <qcustomplot.h>

#include "plot_export.h"

namespace ls::widgets {

namespace {

constexpr int kDefaultBins = 60;
const QColor kBarColor(52, 101, 164);     // blue
const QColor kMeanColor(204, 0, 0);       // red
const QColor kMedianColor(78, 154, 6);    // green

// A vertical marker line with a label near the top of the axis rect.
void makeMarker(QCustomPlot* plot, const QColor& color, QCPItemStraightLine** line,
                QCPItemText** label) {
    *line = new QCPItemStraightLine(plot);
    (*line)->setPen(QPen(color, 1.5, Qt::DashLine));
    *label = new QCPItemText(plot);
    (*label)->position->setTypeX(QCPItemPosition::ptPlotCoords);
    (*label)->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
    (*label)->position->setCoords(0, 0.02);
    (*label)->setColor(color);
    (*label)->setClipToAxisRect(true);
}

// Moves a marker to x, its label on the given side of the line so that the mean's and the
// median's labels point away from each other. Both line points have positive y so a log
// y axis works too.
void placeMarker(QCPItemStraightLine* line, QCPItemText* label, double x, const QString& text,
                 bool labelOnLeft, double yRatio) {
    line->point1->setCoords(x, 1);
    line->point2->setCoords(x, 2);
    label->position->setCoords(x, yRatio);
    label->setPositionAlignment((labelOnLeft ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignTop);
    label->setPadding(labelOnLeft ? QMargins(0, 0, 4, 0) : QMargins(4, 0, 0, 0));
    label->setText(text);
}

}  // namespace

LossHistogramView::LossHistogramView(QWidget* parent) : QWidget(parent) {
    summaryLabel_ = new QLabel(this);
    summaryLabel_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    binSpin_ = new QSpinBox(this);
    binSpin_->setRange(1, 1000);
    binSpin_->setValue(kDefaultBins);
    binSpin_->setToolTip(tr("Number of equal-width loss bins"));
    logYCheck_ = new QCheckBox(tr("Log y"), this);

    auto* controls = new QHBoxLayout;
    controls->setContentsMargins(6, 4, 6, 0);
    controls->addWidget(summaryLabel_, 1);
    controls->addWidget(new QLabel(tr("Bins:"), this));
    controls->addWidget(binSpin_);
    controls->addWidget(logYCheck_);

    plot_ = new QCustomPlot(this);
    plot_->setMinimumSize(320, 240);
    plot_->plotLayout()->insertRow(0);
    title_ = new QCPTextElement(plot_, tr("Per-token loss"), QFont(font().family(), 11, QFont::Bold));
    plot_->plotLayout()->addElement(0, 0, title_);
    plot_->xAxis->setLabel(tr("loss (nats)"));
    plot_->yAxis->setLabel(tr("tokens"));

    bars_ = new QCPBars(plot_->xAxis, plot_->yAxis);
    bars_->setName(tr("tokens per bin"));
    bars_->setWidthType(QCPBars::wtPlotCoords);
    bars_->setPen(QPen(kBarColor.darker(130), 1));
    bars_->setBrush(QColor(kBarColor.red(), kBarColor.green(), kBarColor.blue(), 170));
    makeMarker(plot_, kMeanColor, &meanLine_, &meanLabel_);
    makeMarker(plot_, kMedianColor, &medianLine_, &medianLabel_);

    linearTicker_ = plot_->yAxis->ticker();
    logTicker_.reset(new QCPAxisTickerLog);

    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(0, 0, 0, 0);
    layout->addLayout(controls);
    layout->addWidget(plot_, 1);

    connect(binSpin_, &QSpinBox::valueChanged, this, [this] { rebin(); });
    connect(logYCheck_, &QCheckBox::toggled, this, [this] {
        updateYAxis();
        plot_->replot();
    });
    rebin();
}

void LossHistogramView::setLosses(std::vector<double> losses) {
    values_ = std::move(losses);
    summary_ = summarize(values_);
    rebin();
}

void LossHistogramView::clear() { setLosses({}); }

void LossHistogramView::setTitle(const QString& title) {
    title_->setText(title);
    plot_->replot();
}

void LossHistogramView::setBinCount(int bins) { binSpin_->setValue(bins); }  // rebins via signal
int LossHistogramView::binCount() const { return binSpin_->value(); }
void LossHistogramView::setLogY(bool on) { logYCheck_->setChecked(on); }
bool LossHistogramView::logY() const { return logYCheck_->isChecked(); }

QString LossHistogramView::summaryText() const {
    if (summary_.count == 0)
        return tr("No losses to show yet");
    QString text = tr("%1 tokens · mean %2 nats · median %3 nats · PPL %4")
                       .arg(QLocale().toString(qint64(summary_.count)))
                       .arg(summary_.mean, 0, 'f', 3)
                       .arg(summary_.median, 0, 'f', 3)
                       .arg(std::exp(summary_.mean), 0, 'f', 2);
    if (bins_.skipped > 0)
        text += tr(" · %1 non-finite left out").arg(bins_.skipped);
    return text;
}

void LossHistogramView::rebin() {
    bins_ = binValues(values_, binSpin_->value());
    redraw();
}

void LossHistogramView::redraw() {
    QVector<double> keys, counts;
    for (int i = 0; i < bins_.size(); ++i) {
        keys << bins_.binCenter(i);
        counts << double(bins_.counts[i]);
    }
    bars_->setData(keys, counts, true);
    bars_->setWidth(bins_.width());

    const bool any = hasData();
    for (QCPAbstractItem* item : std::initializer_list<QCPAbstractItem*>{
             meanLine_, meanLabel_, medianLine_, medianLabel_})
        item->setVisible(any);
    if (any) {
        const bool medianFirst = summary_.median <= summary_.mean;  // usual: losses skew right
        // A label left of a line near the left edge would be clipped: put it on the right,
        // one line lower so that it cannot cover the other label.
        const double range = std::max(bins_.hi - bins_.lo, 1e-12);
        const double leftX = medianFirst ? summary_.median : summary_.mean;
        const bool leftFits = (leftX - bins_.lo) / range > 0.15;
        placeMarker(meanLine_, meanLabel_, summary_.mean, tr("mean %1").arg(summary_.mean, 0, 'f', 2),
                    !medianFirst && leftFits, !medianFirst && !leftFits ? 0.08 : 0.02);
        placeMarker(medianLine_, medianLabel_, summary_.median, tr("median %1").arg(summary_.median, 0, 'f', 2),
                    medianFirst && leftFits, medianFirst && !leftFits ? 0.08 : 0.02);
        const double pad = 0.02 * (bins_.hi - bins_.lo);
        plot_->xAxis->setRange(bins_.lo - pad, bins_.hi + pad);
    } else {
        plot_->xAxis->setRange(0, 10);
    }
    updateYAxis();
    summaryLabel_->setText(summaryText());
    plot_->replot();
}

void LossHistogramView::updateYAxis() {
    const double top = std::max<double>(bins_.maxCount(), 1);
    // Headroom above the tallest bar leaves space for the marker labels.
    if (logY()) {
        plot_->yAxis->setScaleType(QCPAxis::stLogarithmic);
        plot_->yAxis->setTicker(logTicker_);
        plot_->yAxis->setRange(0.7, top * 3);
        plot_->yAxis->setLabel(tr("tokens (log scale)"));
    } else {
        plot_->yAxis->setScaleType(QCPAxis::stLinear);
        plot_->yAxis->setTicker(linearTicker_);
        plot_->yAxis->setRange(0, top * 1.15);
        plot_->yAxis->setLabel(tr("tokens"));
    }
}

bool LossHistogramView::exportTo(const QString& path, QSize size, QString* error) const {
    if (QFileInfo(path).suffix().compare("csv", Qt::CaseInsensitive) == 0)
        return exportCsv(path, error);
    return savePlotImage(plot_, path, size, error);
}

bool LossHistogramView::exportCsv(const QString& path, QString* error) const {
    QFile file(path);
    if (!file.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Text)) {
        if (error)
            *error = QStringLiteral("%1: %2").arg(path, file.errorString());
        return false;
    }
    QTextStream out(&file);
    out << "bin_lo,bin_hi,count\n";
    // Shortest text that reads back as the same double: exact, and no trailing noise.
    const auto exact = [](double v) { return QString::number(v, 'g', QLocale::FloatingPointShortest); };
    for (int i = 0; i < bins_.size(); ++i)
        out << exact(bins_.binLo(i)) << ',' << exact(bins_.binHi(i)) << ',' << bins_.counts[i] << '\n';
    out.flush();
    if (file.error() != QFileDevice::NoError) {
        if (error)
            *error = QStringLiteral("%1: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}

}  // namespace ls::widgets
