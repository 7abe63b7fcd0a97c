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
#include <QWidget>
#include <memory>

#include "analysis/cossim.h"

class QCheckBox;
class QCPBars;
class QCPColorMap;
class QCPColorScale;
class QCPErrorBars;
class QCPGraph;
class QCPItemLine;
class QCPItemRect;
class QCPItemStraightLine;
class QCPItemText;
class QCustomPlot;
class QLabel;
class QMouseEvent;
class QSlider;
class QTableWidget;

namespace ls::widgets {

class ExportButton;

class CossimView : public QWidget {
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
    QCustomPlot* heatmapPlot() const { return heatmap_; }
    QCPColorMap* colorMap() const { return colorMap_; }
    QCPColorScale* colorScale() const { return colorScale_; }
    QCustomPlot* histogramPlot() const { return histPlot_; }
    QCPBars* histogramBars() const { return histBars_; }
    QCPItemStraightLine* thresholdLine() const { return thresholdLine_; }
    QCustomPlot* meansPlot() const { return meansPlot_; }
    QCPBars* meanBars() const { return meanBars_; }        // ordinary layers
    QCPBars* specialBars() const { return specialBars_; }  // special layers
    QCPErrorBars* whiskers() const { return whiskers_; }   // p10..p90 around the mean
    QTableWidget* statsTable() const { return statsTable_; }
    QTableWidget* thresholdsTable() const { return thresholdsTable_; }
    QSlider* exitLayerSlider() const { return layerSlider_; }
    QSlider* hardRatioSlider() const { return ratioSlider_; }
    QLabel* comparedLabel() const { return comparedLabel_; }
    QLabel* specialNote() const { return specialNote_; }
    ExportButton* exportButton() const { return exportButton_; }

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

signals:
    void layerSelected(int layer);
    void thresholdChanged(const ls::CossimThreshold& threshold);

private:
    void buildHeatmap();
    void buildHistogram();
    void buildMeans();
    void fillHeatmap();
    void fillMeans();
    void fillStatsTable();
    void updateSelection();   // layer_/hardRatio_ -> threshold, histogram, markers, texts
    void updateHistogram();
    void placeThresholdLabels();
    void fitColumns(QTableWidget* table);  // stretch to the width, or fit the contents + scroll
    void updateThresholdsTable();
    void updateTickers();     // layer labels that fit the plots' current sizes
    void heatmapMouseMove(QMouseEvent* event);
    void heatmapMousePress(QMouseEvent* event);
    void meansMouseMove(QMouseEvent* event);
    void meansMousePress(QMouseEvent* event);
    void histogramMouseMove(QMouseEvent* event);
    int layerAtHeatmap(const QPointF& pos, int* bin) const;

    std::shared_ptr<const ls::CossimResult> result_;
    int layer_ = 0;
    double hardRatio_ = 0.5;
    ls::CossimThreshold threshold_;
    bool updating_ = false;  // guards slider <-> setter loops
    int heatmapStep_ = 0;    // label every n-th layer (0 = not set up yet)
    int meansStep_ = 0;

    QLabel* comparedLabel_ = nullptr;
    QLabel* summaryLabel_ = nullptr;
    ExportButton* exportButton_ = nullptr;

    QCustomPlot* heatmap_ = nullptr;
    QCPColorMap* colorMap_ = nullptr;
    QCPColorScale* colorScale_ = nullptr;
    QCPItemRect* rowMarker_ = nullptr;
    QCPItemLine* rowThreshold_ = nullptr;

    QCustomPlot* histPlot_ = nullptr;
    QCPBars* histBars_ = nullptr;
    QCPItemRect* hardRegion_ = nullptr;
    QCPItemStraightLine* thresholdLine_ = nullptr;
    QCPItemText* thresholdLabel_ = nullptr;
    QCPItemText* hardLabel_ = nullptr;
    QCPItemText* exitLabel_ = nullptr;
    QCheckBox* zoomCheck_ = nullptr;
    std::vector<double> histLo_, histHi_;  // shown bins' edges, for hover
    std::vector<int64_t> histCounts_;

    QCustomPlot* meansPlot_ = nullptr;
    QCPBars* meanBars_ = nullptr;
    QCPBars* specialBars_ = nullptr;
    QCPGraph* meanPoints_ = nullptr;  // carries the whiskers
    QCPErrorBars* whiskers_ = nullptr;
    QCPItemRect* meansSelection_ = nullptr;

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
