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
#include <algorithm>
#include <cmath>
#include <qcustomplot.h>

#include "kit/format.h"
#include "kit/palette.h"
#include "kit/plot_style.h"
#include "plot_export.h"

namespace ls::widgets {

namespace {

constexpr int kDefaultBins = 60;
const QColor kBarColor = palette::kBlue;
const QColor kMeanColor = palette::kVermillion;
const QColor kMedianColor = palette::kGreen;

// A dashed vertical marker line with its label.
MarkerLine addMarker(QCustomPlot* plot, const QColor& color) {
    return addMarkerLine(plot, QPen(color, 1.5, Qt::DashLine), color);
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

    plot_ = makeTitledPlot(this, tr("Per-token loss"), QSize(320, 240), 11);
    plot_->xAxis->setLabel(tr("loss (nats)"));
    plot_->yAxis->setLabel(tr("tokens"));

    bars_ = addHistogramBars(plot_, tr("tokens per bin"), kBarColor, 170);
    mean_ = addMarker(plot_, kMeanColor);
    median_ = addMarker(plot_, kMedianColor);

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

void LossHistogramView::setLosses(const std::vector<float>& losses) {
    values_.clear();
    values_.reserve(losses.size());
    for (float v : losses)
        if (std::isfinite(v))
            values_.push_back(v);
    nonFinite_ = int64_t(losses.size() - values_.size());
    summary_ = values_.empty() ? ls::Summary{} : ls::summarize(values_);
    rebin();
}

void LossHistogramView::clear() { setLosses({}); }

void LossHistogramView::setTitle(const QString& title) {
    titleOf(plot_)->setText(title);
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
                       .arg(formatCount(summary_.count))
                       .arg(summary_.mean, 0, 'f', 3)
                       .arg(summary_.p50, 0, 'f', 3)
                       .arg(std::exp(summary_.mean), 0, 'f', 2);
    if (nonFinite_ > 0)
        text += tr(" · %1 non-finite left out").arg(nonFinite_);
    return text;
}

void LossHistogramView::rebin() {
    bins_ = values_.empty() ? ls::Histogram{} : ls::histogram(values_, binSpin_->value());
    redraw();
}

void LossHistogramView::redraw() {
    QVector<double> keys, counts;
    for (int i = 0; i < int(bins_.counts.size()); ++i) {
        keys << 0.5 * (bins_.edge(i) + bins_.edge(i + 1));
        counts << double(bins_.counts[i]);
    }
    bars_->setData(keys, counts, true);
    bars_->setWidth(bins_.binWidth());

    const bool any = hasData();
    mean_.setVisible(any);
    median_.setVisible(any);
    if (any) {
        const double median = summary_.p50;
        const bool medianFirst = median <= summary_.mean;  // usual: losses skew right
        // A label left of a line near the left edge would be clipped: put it on the right,
        // one line lower so that it cannot cover the other label.
        const double range = std::max(bins_.hi - bins_.lo, 1e-12);
        const double leftX = medianFirst ? median : summary_.mean;
        const bool leftFits = (leftX - bins_.lo) / range > 0.15;
        // The mean's and the median's labels point away from each other: the left one's left
        // of its line (when it fits).
        auto mark = [&](const MarkerLine& marker, double x, const QString& text, bool left) {
            marker.showAt(x, text);
            placeBesideLine(marker.label, x, left && !leftFits ? 0.08 : 0.02, left && leftFits ? 0 : 1);
        };
        mark(mean_, summary_.mean, tr("mean %1").arg(summary_.mean, 0, 'f', 2), !medianFirst);
        mark(median_, median, tr("median %1").arg(median, 0, 'f', 2), medianFirst);
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
    const int64_t tallest = bins_.counts.empty() ? 0 : *std::max_element(bins_.counts.begin(), bins_.counts.end());
    const double top = std::max<double>(double(tallest), 1);
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
    for (int i = 0; i < int(bins_.counts.size()); ++i)
        out << exact(bins_.edge(i)) << ',' << exact(bins_.edge(i + 1)) << ',' << bins_.counts[i] << '\n';
    out.flush();
    if (file.error() != QFileDevice::NoError) {
        if (error)
            *error = QStringLiteral("%1: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}

}  // namespace ls::widgets
