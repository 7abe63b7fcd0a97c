#pragma once
// The three charts of CossimView (cossim_view.h): the layer x bin heatmap, the selected layer's
// histogram with its exit threshold, and the mean per layer with p10..p90 whiskers. Each draws
// the result it is given and says which layer a click picked; CossimView keeps the selection.
#include <qcustomplot.h>

#include "kit/plot_style.h"
#include "analysis/cossim.h"

namespace ls::widgets {

// A chart with an axis of the layers of a CossimResult: labels on every step-th layer that
// keep apart at the chart's size (special layers starred), and a click on a layer reported.
class CossimLayerChart : public QCustomPlot {
    Q_OBJECT
public:
    void setResult(const ls::CossimResult* result);  // null: empty

signals:
    void layerClicked(int layer);

protected:
    // layers: Qt::Vertical, a row per layer along the y axis; Qt::Horizontal, a column per
    // layer along x.
    CossimLayerChart(Qt::Orientation layers, QWidget* parent);
    virtual void draw() = 0;  // result_, or the empty chart when null
    virtual int layerAt(const QPointF& pos) const = 0;  // 0: none

    const ls::CossimResult* result_ = nullptr;

private:
    void updateTicker();  // layer labels that fit the chart's size

    Qt::Orientation layers_;
    int step_ = 0;  // label every step-th layer (0: not set up yet)
};

// Every layer's distribution of c_l: colour = fraction of the layer's tokens in the bin, over
// the common range of CossimResult::histograms. Layer 1 at the top.
class CossimHeatmap : public CossimLayerChart {
    Q_OBJECT
public:
    explicit CossimHeatmap(QWidget* parent);
    void select(int layer, double threshold);         // outline the row, mark the threshold in it
    QCPColorMap* colorMap() const { return heatmap_.map; }
    QCPColorScale* colorScale() const { return heatmap_.scale; }
    // The hover text of a cell (layer 1..L, bin 0..bins-1); empty out of range.
    static QString cellText(const ls::CossimResult& result, int layer, int bin);

protected:
    void draw() override;
    int layerAt(const QPointF& pos) const override { return cellAt(pos, nullptr); }

private:
    int cellAt(const QPointF& pos, int* bin) const;  // the layer, 0: none

    Heatmap heatmap_;  // the map and its colour scale
    QCPItemRect* rowMarker_ = nullptr;     // the selected layer's row
    QCPItemLine* rowThreshold_ = nullptr;  // its exit threshold
};

// One layer's histogram of c_l with the exit threshold: tokens left of it are hard and keep
// computing (shaded), the rest exit.
class CossimLayerHistogram : public QCustomPlot {
    Q_OBJECT
public:
    explicit CossimLayerHistogram(QWidget* parent);
    // zoom: bins over the layer's own min..max (finer); else the common bins of the heatmap.
    void showLayer(const ls::CossimResult& result, const ls::CossimThreshold& threshold, bool zoom);
    void clear();
    QCPBars* bars() const { return bars_; }
    QCPItemStraightLine* thresholdLine() const { return thresholdLine_; }

private:
    void placeLabels();  // after every layout: the room beside the line depends on the width
    QString hoverText(const QPointF& pos) const;

    ls::Histogram shown_;  // the bins drawn
    double threshold_ = 0;
    QCPBars* bars_ = nullptr;
    QCPItemRect* hardRegion_ = nullptr;
    QCPItemStraightLine* thresholdLine_ = nullptr;
    QCPItemText *thresholdLabel_ = nullptr, *hardLabel_ = nullptr, *exitLabel_ = nullptr;
};

// Mean c_l per layer as bars (special layers in their own colour) with p10..p90 whiskers.
class CossimMeans : public CossimLayerChart {
    Q_OBJECT
public:
    explicit CossimMeans(QWidget* parent);
    void select(int layer);                           // shade the layer's column
    QCPBars* meanBars() const { return meanBars_; }
    QCPBars* specialBars() const { return specialBars_; }
    QCPErrorBars* whiskers() const { return whiskers_; }

protected:
    void draw() override;
    int layerAt(const QPointF& pos) const override;

private:
    QCPBars* meanBars_ = nullptr;
    QCPBars* specialBars_ = nullptr;
    QCPGraph* meanPoints_ = nullptr;  // carries the whiskers
    QCPErrorBars* whiskers_ = nullptr;
    QCPItemRect* selection_ = nullptr;
};

}  // namespace ls::widgets
