#pragma once
// The parts of AblationView (ablation_view.h): the scan indexed by head, the texts its
// numbers are written in, the two heatmaps, the ranking-stability and attribution scatters,
// and the tables. Each part draws what it is given; AblationView keeps the selection, the
// colour scale and the texts of hovers and details.
#include <QList>
#include <QPointF>
#include <QSize>
#include <QString>
#include <functional>
#include <qcustomplot.h>
#include <vector>

#include "ablation_view.h"
#include "kit/plot_style.h"

class QTableWidget;

namespace ls::widgets {

using ColourScale = AblationView::ColourScale;
using Ablation = AblationView::Ablation;

// ---- the scan by head -----------------------------------------------------------------------

// A head was evaluated (a running scan draws the others grey).
bool zeroEvaluated(const ls::HeadAblation& a);
bool meanEvaluated(const ls::HeadAblation& a);

// The heads of a result by (layer 1..L, head 0..H-1), for the full scan and the subset scan.
class AblationIndex {
public:
    void reset(const ls::AblationResult* result);  // null: none
    const ls::AblationResult* result() const { return result_; }
    int layers() const { return layers_; }
    int headsPerLayer() const { return heads_; }
    const ls::HeadAblation* at(int layer, int head) const;
    const ls::HeadAblation* subsetAt(int layer, int head) const;
    // The evaluated heads by zero-ablation rank (1, 2, ...), at most n.
    std::vector<const ls::HeadAblation*> top(int n) const;

private:
    const ls::AblationResult* result_ = nullptr;
    int layers_ = 0, heads_ = 0;
    std::vector<int> full_, subset_;  // (layer - 1) * H + head -> index, or -1
};

// ---- texts ----------------------------------------------------------------------------------

QString headName(int layer, int head);     // block 1, head 8 -> "L0H8" (TransformerLens)
QString rankText(int rank);                // "3"; 0 or less: a dash
QString ratioText(double ratio);           // the seed's zero/mean: "303x", "12.7x", "1.08x"
QString curveRatioText(double ratio);      // the seed's V4 / P4 ratios: "1.023x", "11.75x"
QString limitText(double limit);           // "1.5x"
QString compactTokens(int64_t n);          // the seed's column heads: 2048 -> "2K", 250880 -> "251K"
QString scaleName(ColourScale scale);      // "symmetric log"
// Ticks of a scaled axis over [lo, hi] labelled with the unscaled dPPL: 0 and round values on
// each side, at least `gap` (scaled units) apart.
QSharedPointer<QCPAxisTicker> scaleTicker(ColourScale scale, double lo, double hi, double gap);

// ---- heatmap --------------------------------------------------------------------------------

// One ablation's layers x heads map: colour = f(dPPL) on the diverging scale, grey for heads
// not evaluated yet; the top heads carry their rank when the cells are large enough; the
// selected head outlined.
class HeadHeatmap : public QCustomPlot {
    Q_OBJECT
public:
    HeadHeatmap(Ablation kind, QWidget* parent);
    // Cells f(dPPL) over [-limit, limit]; "partial": the title says the scan is not complete.
    void fill(const AblationIndex& index, ColourScale scale, double limit, bool partial);
    void clear();
    void select(const ls::HeadAblation* head);  // null: none
    // The cell under pos: false outside the heads.
    bool cellAt(const QPointF& pos, int* layer, int* head) const;
    QCPColorMap* colorMap() const { return heatmap_.map; }
    QCPColorScale* colorScale() const { return heatmap_.scale; }
    QList<QCPItemText*> rankLabels() const { return ranks_; }

signals:
    void cellClicked(int layer, int head);

private:
    void layoutTicks();  // after layout: tick steps and rank labels that fit the cells

    Ablation kind_;
    int layers_ = 0, heads_ = 0;
    int layerStep_ = 0, headStep_ = 0;  // 0: not set up
    Heatmap heatmap_;  // the map and its colour scale
    QCPItemRect* marker_ = nullptr;
    QList<QCPItemText*> ranks_;
};

// ---- scatters -------------------------------------------------------------------------------

// A scatter of heads against the dashed diagonal x = y, with a subtitle under its title: the
// selected head ringed, the legend below, a note in the middle when there is nothing to show.
class HeadScatter : public QCustomPlot {
    Q_OBJECT
protected:
    // diagonalAt: where the diagonal passes (x = y = diagonalAt); empty: the note's text.
    HeadScatter(const QString& title, double diagonalAt, const QString& empty, QWidget* parent);
    // After the chart's own graphs: the ring (drawn over them) and the legend.
    void addSelectionRing();
    // Every graph emptied, the note hidden, no subtitle.
    void clearPoints();

    QCPItemStraightLine* diagonal_ = nullptr;
    QCPItemText* empty_ = nullptr;
    QCPGraph* selected_ = nullptr;
};

// Zero-ablation rank on the subset against rank on all tokens, one point per head; the top
// heads named beside their points (moved apart after every layout).
class StabilityChart : public HeadScatter {
    Q_OBJECT
public:
    explicit StabilityChart(QWidget* parent);
    void fill(const AblationIndex& index, const QString& subtitle);
    void clear();
    void select(const AblationIndex& index, const ls::HeadAblation* head);
    // The head whose point is near pos, or null.
    const ls::HeadAblation* headAt(const AblationIndex& index, const QPointF& pos) const;
    QCPGraph* allGraph() const { return all_; }
    QCPGraph* topGraph() const { return top_; }
    QList<QCPItemText*> labels() const { return labels_; }

private:
    void placeLabels();

    QCPGraph *all_ = nullptr, *top_ = nullptr;
    QList<QCPItemText*> labels_;
    QList<QPointF> anchors_;        // (full rank, subset rank) of each label's head
    QList<QCPItemLine*> leaders_;   // from a label placed further out to its point
};

// Estimated (attribution patching) against exact dPPL per head, both through the colour
// scale's f, for zero and mean ablation.
class AttributionChart : public HeadScatter {
    Q_OBJECT
public:
    explicit AttributionChart(QWidget* parent);
    void fill(const AblationIndex& index, ColourScale scale, const QString& subtitle);
    void clear();
    void select(const AblationIndex& index, const ls::HeadAblation* head);
    // The head (and which ablation's point) near pos, or null.
    const ls::HeadAblation* headAt(const AblationIndex& index, const QPointF& pos, Ablation* kind) const;
    QCPGraph* graph(Ablation kind) const { return kind == Ablation::Zero ? zero_ : mean_; }

private:
    void updateTicks();  // after layout: tick labels that keep apart at this size
    QPointF point(const ls::HeadAblation& a, Ablation kind) const;  // (f(exact), f(estimate))

    ColourScale scale_ = ColourScale::SymmetricLog;
    QSize tickPixels_;  // the axis rect size the ticks were made for
    QCPGraph* zero_ = nullptr;
    QCPGraph* mean_ = nullptr;
};

// ---- tables ---------------------------------------------------------------------------------

// The seed's V2: rank, subset rank, head, dPPL zero (all, subset), dPPL mean, zero / mean.
QTableWidget* makeTopTable(QWidget* parent);
// tip: each row's tooltip.
void fillTopTable(QTableWidget* table, const AblationIndex& index, const std::vector<const ls::HeadAblation*>& top,
                  const std::function<QString(const ls::HeadAblation&)>& tip);
// The seed's V1: windows, tokens and base PPL of the subset and of all tokens.
QTableWidget* makeSubsetTable(QWidget* parent);
void fillSubsetTable(QTableWidget* table, const ls::AblationResult* result);  // null: empty

}  // namespace ls::widgets
