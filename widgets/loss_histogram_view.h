#pragma once
// Histogram of per-token loss: bars = tokens per loss bin (x: loss in nats, y: tokens),
// a summary line computed from the values it was given, a bin-count spin box, a log-y
// toggle and export (PNG, PDF, SVG by suffix, CSV of the bins). Bins and summary are
// core's (stats/histogram.h, stats/summary.h): the numbers numpy gives.
#include <QSharedPointer>
#include <QWidget>
#include <vector>

#include "kit/plot_style.h"
#include "stats/histogram.h"
#include "stats/summary.h"

class QCheckBox;
class QCPAxisTicker;
class QCPBars;
class QCustomPlot;
class QLabel;
class QSpinBox;

namespace ls::widgets {

class LossHistogramView : public QWidget {
    Q_OBJECT
public:
    explicit LossHistogramView(QWidget* parent = nullptr);

    // Per-token losses (nats). Non-finite values are left out of bins and summary.
    void setLosses(const std::vector<float>& losses);
    void clear();
    bool hasData() const { return summary_.count > 0; }
    void setTitle(const QString& title);

    void setBinCount(int bins);
    int binCount() const;
    void setLogY(bool on);
    bool logY() const;

    // Equal-width bins over [min, max] of the finite losses; no bins without data.
    const ls::Histogram& bins() const { return bins_; }
    const ls::Summary& summary() const { return summary_; }  // of the finite losses
    QString summaryText() const;
    QCustomPlot* plot() const { return plot_; }
    QCPBars* bars() const { return bars_; }

    // .png/.pdf/.svg -> image (size empty = as on screen), .csv -> bins. False + *error
    // (naming the file) on failure.
    bool exportTo(const QString& path, QSize size = {}, QString* error = nullptr) const;
    // Rows "bin_lo,bin_hi,count", one per bin, after that header line.
    bool exportCsv(const QString& path, QString* error = nullptr) const;

private:
    void rebin();       // values_ -> bins_, then redraw()
    void redraw();      // bins_/summary_ -> bars, markers, ranges, labels
    void updateYAxis();

    std::vector<float> values_;  // the finite losses
    int64_t nonFinite_ = 0;      // losses left out
    ls::Histogram bins_;
    ls::Summary summary_;

    QLabel* summaryLabel_ = nullptr;
    QSpinBox* binSpin_ = nullptr;
    QCheckBox* logYCheck_ = nullptr;
    QCustomPlot* plot_ = nullptr;
    QCPBars* bars_ = nullptr;
    MarkerLine mean_, median_;
    QSharedPointer<QCPAxisTicker> linearTicker_;
    QSharedPointer<QCPAxisTicker> logTicker_;
};

}  // namespace ls::widgets
