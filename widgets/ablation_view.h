#pragma once
// Attention-head ablation (spec section 4, seed 003): a view of ls::AblationResult.
//   - two layers x heads heatmaps, zero and mean ablation; colour = relative dPPL
//     (PPL / base - 1) on a diverging scale centred at 0 (red: ablating hurts, blue: it
//     helps), one range for both maps so they compare; a log-like option (symmetric log or
//     signed sqrt) because one head usually dominates (L0H8 in GPT-2 small). The 10 most
//     damaging heads carry their rank in the cell. Hover a cell for its numbers, click it to
//     show them in the details panel;
//   - the top-10 table as in the seed's V2 (rank, head, dPPL zero, dPPL mean, zero/mean, and
//     the subset's rank and dPPL), and subset vs full (windows, tokens, base PPL) as in V1;
//   - ranking stability: subset rank vs full rank per head (top 10 named), Spearman, Kendall;
//   - attribution patching: estimated vs exact dPPL per head, with the rank correlations;
//   - a summary line (base PPL, tokens, windows, complete or PARTIAL, timing).
// Rows are TransformerLens layers: L0 = block 1 (HeadAblation::layer counts blocks from 1).
//
// A scan in progress: updateResult() takes growing snapshots (heads not evaluated yet have a
// non-finite or zero PPL and are drawn grey); it keeps the selection and options, reuses the
// colour maps, table items and labels, and coalesces the replots.
//
// ReLU linearisation (ls::LinearizeResult, V4 and P4 of the seed) has a page of its own beside
// "Heads": the cumulative curve (N heads -> PPL ratio, log scale, with the 1.1x / 1.5x / 2.0x
// limits and the largest N within each), its table and the thresholds table, and PPL by
// context length (baseline and N linearised heads) with the P4 table. Further parts go on pages
// of their own the same way: addPage() puts a page in the view's page tabs (the bar shows with
// more than one page) and its charts in the export menu.
#include <QList>
#include <QPair>
#include <QSize>
#include <QString>
#include <QWidget>
#include <memory>
#include <vector>

#include "analysis/ablation.h"
#include "analysis/linearize.h"

class QCheckBox;
class QComboBox;
class QCPColorMap;
class QCPColorScale;
class QCPGraph;
class QCPItemLine;
class QCPItemRect;
class QCPItemStraightLine;
class QCPItemText;
class QCustomPlot;
class QLabel;
class QMouseEvent;
class QTabWidget;
class QTableWidget;

namespace ls::widgets {

class ExportButton;

class AblationView : public QWidget {
    Q_OBJECT
public:
    enum class Ablation { Zero, Mean };
    // What the heatmaps' cells (and the attribution chart's axes) hold: f(dPPL).
    enum class ColourScale {
        Linear,        // dPPL
        SymmetricLog,  // sign(d) * log10(1 + |d| / kSymLogLinear)
        SignedSqrt     // sign(d) * sqrt(|d|)
    };
    static constexpr double kSymLogLinear = 0.01;  // dPPL below 1% is about linear
    static constexpr int kTopHeads = 10;
    static double toScale(double dppl, ColourScale scale);
    static double fromScale(double value, ColourScale scale);

    explicit AblationView(QWidget* parent = nullptr);

    // A finished (or canceled) scan: shows it, keeps the selected head if the new result has
    // it, else selects the most damaging head.
    void setResult(std::shared_ptr<const ls::AblationResult> result);
    // A snapshot of a scan in progress (may be called for every window): the same, with the
    // replots queued to the event loop so that a burst of snapshots draws once.
    void updateResult(std::shared_ptr<const ls::AblationResult> snapshot);
    // ReLU linearisation (null: none): the "Linearisation" page.
    void setLinearization(std::shared_ptr<const ls::LinearizeResult> result);
    void clear();  // both
    bool hasData() const { return result_ && !result_->heads.empty(); }
    bool hasLinearization() const { return linear_ != nullptr; }
    const ls::LinearizeResult* linearization() const { return linear_.get(); }
    const ls::AblationResult* result() const { return result_.get(); }
    bool isPartial() const { return result_ && !result_->complete; }

    void setColourScale(ColourScale scale);  // also the log-like check box and its combo box
    ColourScale colourScale() const { return scale_; }
    // The colour range of both maps, in scaled units: [-m, m], m = the largest |f(dPPL)|.
    double colourLimit() const { return colourLimit_; }

    // Selection: layer 1..L (block), head 0..H-1. Out of range (or no such head) clears it.
    void selectHead(int layer, int head);
    int selectedLayer() const { return selLayer_; }
    int selectedHead() const { return selHead_; }
    const ls::HeadAblation* headAt(int layer, int head) const;        // the full scan's entry
    const ls::HeadAblation* subsetHeadAt(int layer, int head) const;  // the subset scan's entry
    // The heads of the top-10 table in order (zero-ablation rank 1, 2, ...).
    std::vector<const ls::HeadAblation*> topHeads() const;

    // Texts (also what the tooltips and labels show).
    QString cellToolTip(Ablation kind, int layer, int head) const;
    QString detailsText() const;    // the details panel, plain text
    QString summaryText() const;    // the summary line, plain text
    QString stabilityText() const;  // "Spearman ρ = … · Kendall τ = …" with the subset
    QString attributionText() const;

    // For tests and the app.
    QCustomPlot* heatmapPlot(Ablation kind) const { return kind == Ablation::Zero ? zeroPlot_ : meanPlot_; }
    QCPColorMap* colorMap(Ablation kind) const { return kind == Ablation::Zero ? zeroMap_ : meanMap_; }
    QCPColorScale* colorScale(Ablation kind) const { return kind == Ablation::Zero ? zeroScale_ : meanScale_; }
    // Rank labels in the cells of the top heads (visible when the cells are large enough).
    QList<QCPItemText*> rankLabels(Ablation kind) const { return kind == Ablation::Zero ? zeroRanks_ : meanRanks_; }
    QTableWidget* topTable() const { return topTable_; }
    QTableWidget* subsetTable() const { return subsetTable_; }  // V1: windows, tokens, base PPL
    QCustomPlot* stabilityPlot() const { return stabilityPlot_; }
    QCPGraph* stabilityGraph() const { return stabilityAll_; }     // x = full rank, y = subset rank
    QCPGraph* stabilityTopGraph() const { return stabilityTop_; }  // the top 10 of the full scan
    QList<QCPItemText*> stabilityLabels() const { return stabilityLabels_; }
    QCustomPlot* attributionPlot() const { return attributionPlot_; }
    // x = f(exact dPPL), y = f(estimated dPPL = expm1(estimated dloss)), f = the colour scale.
    QCPGraph* attributionGraph(Ablation kind) const { return kind == Ablation::Zero ? attrZero_ : attrMean_; }
    QLabel* summaryLabel() const { return summary_; }
    QLabel* partialLabel() const { return partial_; }
    QLabel* detailsLabel() const { return details_; }
    QCheckBox* logLikeCheck() const { return logCheck_; }
    QComboBox* logLikeCombo() const { return logCombo_; }
    QTabWidget* pages() const { return pages_; }
    QWidget* headsPage() const { return headsPage_; }
    QWidget* linearizationPage() const { return linearPage_; }
    QCustomPlot* curvePlot() const { return curvePlot_; }
    QCPGraph* curveGraph() const { return curveGraph_; }  // x = N heads, y = PPL ratio
    QCPGraph* curveThresholdGraph() const { return curveMarks_; }  // (N, ratio) of each threshold
    QTableWidget* curveTable() const { return curveTable_; }          // V4: N, PPL, ratio
    QTableWidget* thresholdTable() const { return thresholdTable_; }  // limit, N, PPL, ratio
    QCustomPlot* contextPlot() const { return contextPlot_; }
    // One graph per N (0 = baseline), ascending N: x = seq_len (log axis), y = PPL.
    QList<QCPGraph*> contextGraphs() const { return contextGraphs_; }
    QTableWidget* contextTable() const { return contextTable_; }  // P4: seq_len, baseline, ReLU-N, ratio, ...
    QString curveToolTip(int index) const;  // index into linearization()->curve
    ExportButton* exportButton() const { return exportButton_; }
    // Every chart the export menu offers, (file stem, plot), in menu order.
    QList<QPair<QString, QCustomPlot*>> charts() const;

    // Another page after the others (shown; its charts join the export menu).
    void addPage(QWidget* page, const QString& title, const QList<QPair<QString, QCustomPlot*>>& charts);
    // Puts a page added before in the page tabs (in the order they were added) or takes it out.
    void setPageShown(QWidget* page, bool shown);
    bool isPageShown(QWidget* page) const;

signals:
    void headSelected(int layer, int head);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

private:
    void buildHeatmap(Ablation kind);
    void buildLinearization();
    void fillLinearization();
    void buildStability();
    void buildAttribution();
    void display(std::shared_ptr<const ls::AblationResult> result, bool queued);
    void index();  // lookup tables (layer, head) -> entry
    void fillHeatmaps();
    void fillTopTable();
    void fillSubsetTable();
    void fillStability();
    void fillAttribution();
    void fillTexts();
    void updateSelection();
    void layoutHeatmap(Ablation kind);  // after layout: tick steps and rank labels that fit
    void placeStabilityLabels();        // after layout: names beside their points, apart
    void updateAttributionTicks();      // after layout: tick labels that keep apart
    void updateExportCharts();
    void replotAll(bool queued);
    void fitColumns(QTableWidget* table);  // stretch to the width, or fit the contents
    bool cellAt(QCustomPlot* plot, const QPointF& pos, int* layer, int* head) const;
    void heatmapMouseMove(Ablation kind, QMouseEvent* event);
    void heatmapMousePress(QMouseEvent* event);
    const ls::HeadAblation* nearestPoint(QCustomPlot* plot, const QPointF& pos, Ablation* kind) const;
    void scatterMouseMove(QMouseEvent* event);
    void scatterMousePress(QMouseEvent* event);
    void curveMouseMove(QMouseEvent* event);
    void contextMouseMove(QMouseEvent* event);

    std::shared_ptr<const ls::AblationResult> result_;
    std::shared_ptr<const ls::LinearizeResult> linear_;
    int layers_ = 0, headsPerLayer_ = 0;  // of the heatmaps
    std::vector<int> full_, subset_;  // (layer - 1) * H + head -> index in heads / subsetHeads, or -1
    bool live_ = false;               // the last result came through updateResult
    ColourScale scale_ = ColourScale::SymmetricLog;
    double colourLimit_ = 1;
    int selLayer_ = 0, selHead_ = -1;
    int layerStep_[2] = {0, 0}, headStep_[2] = {0, 0};  // tick label steps of each heatmap (0 = not set up)

    QLabel* description_ = nullptr;
    QLabel* summary_ = nullptr;
    QLabel* partial_ = nullptr;
    QCheckBox* logCheck_ = nullptr;
    QComboBox* logCombo_ = nullptr;
    ExportButton* exportButton_ = nullptr;
    QTabWidget* pages_ = nullptr;
    QWidget* headsPage_ = nullptr;
    QWidget* linearPage_ = nullptr;
    QList<QPair<QString, QCustomPlot*>> extraCharts_;  // of the pages added with addPage
    QList<QPair<QWidget*, QString>> pageOrder_;         // every page and its title, shown or not

    QCustomPlot* zeroPlot_ = nullptr;
    QCustomPlot* meanPlot_ = nullptr;
    QCPColorMap* zeroMap_ = nullptr;
    QCPColorMap* meanMap_ = nullptr;
    QCPColorScale* zeroScale_ = nullptr;
    QCPColorScale* meanScale_ = nullptr;
    QCPItemRect* zeroMarker_ = nullptr;
    QCPItemRect* meanMarker_ = nullptr;
    QList<QCPItemText*> zeroRanks_, meanRanks_;

    QLabel* details_ = nullptr;
    QTableWidget* subsetTable_ = nullptr;
    QTableWidget* topTable_ = nullptr;
    QLabel* topCaption_ = nullptr;

    QCustomPlot* stabilityPlot_ = nullptr;
    QCPGraph* stabilityAll_ = nullptr;
    QCPGraph* stabilityTop_ = nullptr;
    QCPGraph* stabilitySel_ = nullptr;
    QCPItemStraightLine* stabilityDiagonal_ = nullptr;
    QCPItemText* stabilityEmpty_ = nullptr;
    QList<QCPItemText*> stabilityLabels_;
    QList<QPointF> stabilityAnchors_;  // (full rank, subset rank) of each label's head
    QList<QCPItemLine*> stabilityLeaders_;  // from a label placed further out to its point

    QCustomPlot* attributionPlot_ = nullptr;
    QCPGraph* attrZero_ = nullptr;
    QCPGraph* attrMean_ = nullptr;
    QCPGraph* attrSel_ = nullptr;
    QCPItemStraightLine* attrDiagonal_ = nullptr;
    QCPItemText* attrEmpty_ = nullptr;
    QSize attributionTickPixels_;  // the axis rect size the ticks were made for

    QLabel* linearSummary_ = nullptr;
    QCustomPlot* curvePlot_ = nullptr;
    QCPGraph* curveGraph_ = nullptr;
    QCPGraph* curveMarks_ = nullptr;
    QList<QCPItemStraightLine*> limitLines_;  // 1.1x, 1.5x, 2.0x (as many as thresholds)
    QList<QCPItemText*> limitLabels_;
    QTableWidget* curveTable_ = nullptr;
    QTableWidget* thresholdTable_ = nullptr;
    QCustomPlot* contextPlot_ = nullptr;
    QList<QCPGraph*> contextGraphs_;
    QList<int> contextHeads_;  // N of each context graph
    QTableWidget* contextTable_ = nullptr;
};

}  // namespace ls::widgets
