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
// How importance falls with rank (the Zipf fit, head_importance_page.h) and ReLU linearisation
// (ls::LinearizeResult, V4 and P4 of the seed, linearize_page.h) have pages of their own beside
// "Heads". Further parts go on pages of their own the same way: addPage()
// puts a page in the view's page tabs (the bar shows with more than one page) and its charts
// in the export menu.
// The parts (heatmaps, scatters, tables) are in ablation_parts.h; this class keeps the
// selection, the colour scale and the texts.
#include <QList>
#include <QPair>
#include <QPointF>
#include <QString>
#include <memory>
#include <vector>

#include "analysis/ablation.h"
#include "analysis/linearize.h"
#include "kit/result_view.h"
#include "kit/tables.h"

class QCheckBox;
class QComboBox;
class QCPColorMap;
class QCPColorScale;
class QCPGraph;
class QCPItemText;
class QCustomPlot;
class QLabel;
class QTabWidget;
class QTableWidget;

namespace ls::widgets {

class AblationIndex;
class AttributionChart;
class HeadHeatmap;
class HeadImportancePage;
class LinearizationPage;
class StabilityChart;

class AblationView : public ResultView {
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
    ~AblationView() override;

    // A finished (or canceled) scan: shows it, keeps the selected head if the new result has
    // it, else selects the most damaging head.
    void setResult(std::shared_ptr<const ls::AblationResult> result);
    // A snapshot of a scan in progress (may be called for every window): the same, with the
    // replots queued to the event loop so that a burst of snapshots draws once.
    void updateResult(std::shared_ptr<const ls::AblationResult> snapshot);
    // ReLU linearisation (null: none): the "Linearisation" page.
    void setLinearization(std::shared_ptr<const ls::LinearizeResult> result);
    void clear();  // both
    bool hasData() const;
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
    QString subsetWindowsText() const;  // which windows the subset holds: "windows 0–1"
    QString attributionText() const;

    // For tests and the app.
    QCustomPlot* heatmapPlot(Ablation kind) const;
    QCPColorMap* colorMap(Ablation kind) const;
    QCPColorScale* colorScale(Ablation kind) const;
    // Rank labels in the cells of the top heads (visible when the cells are large enough).
    QList<QCPItemText*> rankLabels(Ablation kind) const;
    QTableWidget* topTable() const { return heads_.top.table; }
    QTableWidget* subsetTable() const { return heads_.subset.table; }  // V1: windows, tokens, base PPL
    QCustomPlot* stabilityPlot() const;
    QCPGraph* stabilityGraph() const;     // x = full rank, y = subset rank
    QCPGraph* stabilityTopGraph() const;  // the top 10 of the full scan
    QList<QCPItemText*> stabilityLabels() const;
    QCustomPlot* attributionPlot() const;
    // x = f(exact dPPL), y = f(estimated dPPL = expm1(estimated dloss)), f = the colour scale.
    QCPGraph* attributionGraph(Ablation kind) const;
    QLabel* partialLabel() const { return partial_; }
    QLabel* detailsLabel() const { return heads_.details; }
    QCheckBox* logLikeCheck() const { return logCheck_; }
    QComboBox* logLikeCombo() const { return logCombo_; }
    QTabWidget* pages() const { return pages_; }
    QWidget* headsPage() const { return heads_.page; }
    QWidget* linearizationPage() const;
    HeadImportancePage* importancePage() const { return importancePage_; }
    QCustomPlot* curvePlot() const;
    QCPGraph* curveGraph() const;           // x = N heads, y = PPL ratio
    QCPGraph* curveThresholdGraph() const;  // (N, ratio) of each threshold
    QTableWidget* curveTable() const;       // V4: N, PPL, ratio
    QTableWidget* thresholdTable() const;   // limit, N, PPL, ratio
    QCustomPlot* contextPlot() const;
    // One graph per N (0 = baseline), ascending N: x = seq_len (log axis), y = PPL.
    QList<QCPGraph*> contextGraphs() const;
    QTableWidget* contextTable() const;  // P4: seq_len, baseline, ReLU-N, ratio, ...
    QString curveToolTip(int index) const;  // index into linearization()->curve
    // Every chart the export menu offers, (file stem, plot), in menu order.
    QList<QPair<QString, QCustomPlot*>> charts() const override;
    std::vector<ls::Table> tables() const override;

    // Another page after the others (shown; its charts join the export menu).
    void addPage(QWidget* page, const QString& title, const QList<QPair<QString, QCustomPlot*>>& charts);
    // Puts a page added before in the page tabs (in the order they were added) or takes it out.
    void setPageShown(QWidget* page, bool shown);
    bool isPageShown(QWidget* page) const;

signals:
    void headSelected(int layer, int head);

private:
    void buildHeadsPage();
    HeadHeatmap* heatmap(Ablation kind) const { return heads_.maps[kind == Ablation::Zero ? 0 : 1]; }
    void display(std::shared_ptr<const ls::AblationResult> result, bool queued);
    void fillTopTable();
    void fillCharts();   // heatmaps, scatters (the colour scale's f)
    void fillTexts();
    void updateSelection();
    void replotAll(bool queued);
    QString scatterToolTip(const QPointF& pos, bool stability) const;

    std::shared_ptr<const ls::AblationResult> result_;
    std::shared_ptr<const ls::LinearizeResult> linear_;
    std::unique_ptr<AblationIndex> index_;
    bool live_ = false;  // the last result came through updateResult
    ColourScale scale_ = ColourScale::SymmetricLog;
    double colourLimit_ = 1;
    int selLayer_ = 0, selHead_ = -1;

    QLabel* partial_ = nullptr;
    QCheckBox* logCheck_ = nullptr;
    QComboBox* logCombo_ = nullptr;
    QTabWidget* pages_ = nullptr;
    HeadImportancePage* importancePage_ = nullptr;
    LinearizationPage* linearPage_ = nullptr;
    QList<QPair<QString, QCustomPlot*>> extraCharts_;  // of the pages added with addPage
    QList<QPair<QWidget*, QString>> pageOrder_;         // every page and its title, shown or not

    // The "Heads" page and its parts.
    struct HeadsPage {
        QWidget* page = nullptr;
        HeadHeatmap* maps[2] = {};  // zero, mean ablation
        QLabel* details = nullptr;  // the selected head's numbers
        CaptionedTable top, subset;  // the top 10 (the seed's V2); subset vs all tokens (V1)
        StabilityChart* stability = nullptr;
        AttributionChart* attribution = nullptr;
    } heads_;
};

}  // namespace ls::widgets
