#pragma once
// Cos-sim per layer (spec section 1): c_l = cos(h_{l-1}, h_l), l = 1..L.
//   - a layer x bin heatmap of every layer's distribution (colour = fraction of the layer's
//     tokens in the bin, over the common range of CossimResult::histograms), hover for the
//     numbers, click a row to select that layer;
//   - the selected layer's histogram with the exit threshold marked (tokens left of it are
//     hard and keep computing, the rest exit);
//   - mean per layer as bars with p10..p90 whiskers, special layers in a highlight colour;
//   - the per-layer statistics table (special rows highlighted) and the thresholds table;
//   - exit-layer and hard-ratio sliders that move the threshold at once through
//     ls::cossimThreshold on the sorted values already in the result (no recomputation).
// The selected layer is the exit layer: selectLayer and setExitLayer are the same thing.
#include <memory>

#include "analysis/cossim.h"
#include "kit/result_view.h"
#include "kit/tables.h"

class QCPBars;
class QCPColorMap;
class QCPColorScale;
class QCPErrorBars;
class QCPItemStraightLine;
class QCustomPlot;
class QLabel;
class QSlider;
class QTableWidget;

namespace ls::widgets {

class CossimControls;
class CossimHeatmap;
class CossimLayerHistogram;
class CossimMeans;

class CossimView : public ResultViewOf<ls::CossimResult> {
    Q_OBJECT
public:
    explicit CossimView(QWidget* parent = nullptr);

    int selectedLayer() const { return layer_; }  // 1..L; 0 without data
    void selectLayer(int layer);                   // clamped to 1..L
    void setExitLayer(int layer) { selectLayer(layer); }
    void setHardRatio(double ratio);               // clamped to [0.01, 0.99]
    double hardRatio() const { return hardRatio_; }
    // The threshold at the selected layer and hard ratio (what the sliders show).
    const ls::CossimThreshold& currentThreshold() const { return threshold_; }
    // "Layer 29, hard ratio 30%: threshold 0.94530 · 70.0% of tokens exit (c ≥ threshold), ..."
    QString thresholdText() const;
    // The heatmap's hover text for one cell (layer 1..L, bin 0..bins-1).
    QString cellToolTip(int layer, int bin) const;
    // Whether the selected layer's histogram spans that layer's own range (finer bins,
    // default) or the common range of the heatmap.
    void setZoomToLayer(bool on);
    bool zoomToLayer() const;

    // For tests and the app.
    QCustomPlot* heatmapPlot() const;
    QCPColorMap* colorMap() const;
    QCPColorScale* colorScale() const;
    QCustomPlot* histogramPlot() const;
    QCPBars* histogramBars() const;
    QCPItemStraightLine* thresholdLine() const;
    QCustomPlot* meansPlot() const;
    QCPBars* meanBars() const;     // ordinary layers
    QCPBars* specialBars() const;  // special layers
    QCPErrorBars* whiskers() const;  // p10..p90 around the mean
    QTableWidget* statsTable() const { return stats_.table; }
    QTableWidget* thresholdsTable() const { return thresholds_.table; }
    QSlider* exitLayerSlider() const;
    QSlider* hardRatioSlider() const;
    QLabel* comparedLabel() const { return descriptionLabel(); }
    QLabel* specialNote() const { return specialNote_; }

signals:
    void layerSelected(int layer);
    void thresholdChanged(const ls::CossimThreshold& threshold);

protected:
    void showResult() override;

private:
    void showEmpty();
    void fillStatsTable();
    void updateSelection();   // layer_/hardRatio_ -> threshold, histogram, markers, texts
    void updateHistogram();
    void updateThresholdsTable();

    int layer_ = 0;
    double hardRatio_ = 0.5;
    ls::CossimThreshold threshold_;

    CossimHeatmap* heatmap_ = nullptr;
    CossimLayerHistogram* histogram_ = nullptr;
    CossimMeans* means_ = nullptr;
    CossimControls* controls_ = nullptr;
    // The per-layer statistics with the special layers' note under them; the thresholds at the
    // selected layer for the configured hard ratios.
    CaptionedTable stats_;
    QLabel* specialNote_ = nullptr;
    CaptionedTable thresholds_;
};

}  // namespace ls::widgets
