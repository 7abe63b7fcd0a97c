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

class QCheckBox;
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

class CossimHeatmap;
class CossimLayerHistogram;
class CossimMeans;

class CossimView : public ResultView {
    Q_OBJECT
public:
    explicit CossimView(QWidget* parent = nullptr);

    void setResult(std::shared_ptr<const ls::CossimResult> result);
    void clear();
    bool hasData() const { return result_ && result_->numLayers() > 0; }
    const ls::CossimResult* result() const { return result_.get(); }

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
    QTableWidget* statsTable() const { return statsTable_; }
    QTableWidget* thresholdsTable() const { return thresholdsTable_; }
    QSlider* exitLayerSlider() const { return layerSlider_; }
    QSlider* hardRatioSlider() const { return ratioSlider_; }
    QLabel* comparedLabel() const { return descriptionLabel(); }
    QLabel* specialNote() const { return specialNote_; }
    QList<QPair<QString, QCustomPlot*>> charts() const override;
    std::vector<ls::Table> tables() const override;

signals:
    void layerSelected(int layer);
    void thresholdChanged(const ls::CossimThreshold& threshold);

private:
    QWidget* buildControls();
    void fillStatsTable();
    void updateSelection();   // layer_/hardRatio_ -> threshold, histogram, markers, texts
    void updateHistogram();
    void updateThresholdsTable();

    std::shared_ptr<const ls::CossimResult> result_;
    int layer_ = 0;
    double hardRatio_ = 0.5;
    ls::CossimThreshold threshold_;
    bool updating_ = false;  // guards slider <-> setter loops

    CossimHeatmap* heatmap_ = nullptr;
    CossimLayerHistogram* histogram_ = nullptr;
    CossimMeans* means_ = nullptr;
    QCheckBox* zoomCheck_ = nullptr;
    QSlider* layerSlider_ = nullptr;
    QSlider* ratioSlider_ = nullptr;
    QLabel* layerValue_ = nullptr;
    QLabel* ratioValue_ = nullptr;
    QLabel* thresholdLabelText_ = nullptr;
    QLabel* thresholdsCaption_ = nullptr;
    QTableWidget* thresholdsTable_ = nullptr;
    QTableWidget* statsTable_ = nullptr;
    QLabel* specialNote_ = nullptr;
};

}  // namespace ls::widgets
