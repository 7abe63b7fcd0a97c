#pragma once
// Runs side by side (compare/compare_runs.h, the same tables as `layerscope-cli compare`):
//   - what differs between the runs (model, data, parameters);
//   - a per-layer quantity of every run on one chart, one colour and legend entry per run
//     (the quantity chosen in a list: cos-sim mean, saturation rate, KL to final, ...);
//   - the early-exit Pareto front of every run with an exit sweep (compute saved against top-1
//     agreement), one curve per run: logit against tuned lens, say;
//   - when two runs scanned heads, the heads that the first two with a head scan (A, B) both
//     scanned: their zero-ablation ΔPPL difference (B − A) as a layer x head heatmap on a
//     diverging scale, and B's rank against A's (points on the diagonal: the same rank);
//   - the tables compare_runs and compare_rankings; every table in Export….
// Takes the comparison and nothing else: nothing here is recomputed.
#include <memory>

#include "compare/compare_runs.h"
#include "kit/result_view.h"

class QComboBox;
class QCPColorMap;
class QCPGraph;
class QCustomPlot;
class QLabel;
class QTableWidget;

namespace ls::widgets {

class CompareView : public ResultViewOf<ls::RunComparison> {
    Q_OBJECT
public:
    explicit CompareView(QWidget* parent = nullptr);

    // The per-layer quantities the list offers, "metric" or "metric · stage".
    QStringList quantities() const;
    void showQuantity(const QString& quantity);

    QComboBox* quantityBox() const { return quantity_; }
    QCustomPlot* layerPlot() const { return layerPlot_; }
    QList<QCPGraph*> runGraphs() const { return runGraphs_; }  // one per run, in run order
    QCustomPlot* frontPlot() const { return frontPlot_; }
    QList<QCPGraph*> frontGraphs() const { return frontGraphs_; }  // one per run with an exit sweep
    QCustomPlot* headDiffPlot() const { return headDiffPlot_; }
    QCPColorMap* headDiffMap() const { return headDiffMap_; }  // cell (head, layer - 1) = Δ zero ΔPPL
    QCustomPlot* rankPlot() const { return rankPlot_; }
    QCPGraph* rankGraph() const { return rankGraph_; }
    QLabel* differencesLabel() const { return differences_; }
    QTableWidget* runsTable() const { return runs_; }
    QTableWidget* rankingsTable() const { return rankings_; }

private:
    void showResult() override;
    void fillLayerChart();
    void fillFronts();
    void fillHeads();

    QLabel* differences_ = nullptr;
    QComboBox* quantity_ = nullptr;
    QCustomPlot* layerPlot_ = nullptr;
    QList<QCPGraph*> runGraphs_;
    QCustomPlot* frontPlot_ = nullptr;
    QList<QCPGraph*> frontGraphs_;
    QWidget* headCharts_ = nullptr;  // the two head charts, hidden without two head scans
    QCustomPlot* headDiffPlot_ = nullptr;
    QCPColorMap* headDiffMap_ = nullptr;
    QCustomPlot* rankPlot_ = nullptr;
    QCPGraph* rankGraph_ = nullptr;
    QTableWidget* runs_ = nullptr;
    QTableWidget* rankings_ = nullptr;
};

}  // namespace ls::widgets
