#pragma once
// Lens divergence (analysis/lensdiv.h): how far the logit lens at layer l is from the model's
// output distribution p_L.
//   - KL(p_L || p_l) per layer, with the lens after attention (at l - 0.5) when the run has it;
//     a linear or log y axis;
//   - the lens's cross-entropy and entropy per layer, against the model's loss;
//   - the per-token KL at every layer as box plots (5th, 25th, 50th, 75th, 95th percentiles);
//   - the table lensdiv_layers. Hover a chart for its values.
#include <memory>

#include "analysis/lensdiv.h"
#include "kit/result_view.h"

class QCheckBox;
class QCPGraph;
class QCPStatisticalBox;
class QCustomPlot;
class QTableWidget;

namespace ls::widgets {

class LensDivView : public ResultViewOf<ls::LensDivResult> {
    Q_OBJECT
public:
    explicit LensDivView(QWidget* parent = nullptr);

    // Hover text of a row of the result (also the charts' tooltips).
    QString rowToolTip(size_t row) const;

    QCheckBox* logScaleBox() const { return logScale_; }
    QCustomPlot* klPlot() const { return klPlot_; }
    QCPGraph* klGraph(bool attention = false) const { return attention ? klAttention_ : klBlock_; }
    QCustomPlot* lossPlot() const { return lossPlot_; }
    QCPGraph* crossEntropyGraph() const { return crossEntropy_; }
    QCPGraph* entropyGraph() const { return entropy_; }
    QCustomPlot* distributionPlot() const { return distributionPlot_; }
    QCPStatisticalBox* klBoxes() const { return boxes_; }
    QTableWidget* table() const { return table_; }

private:
    void showResult() override;
    void applyScale();
    // The row under the mouse: nearest layer of the block stage, or of the attention stage at
    // l - 0.5 (x in layers).
    int rowAt(const QCustomPlot* plot, const QPointF& pos) const;

    struct Box {
        double x;
        double quantiles[5];  // per-token KL at the 5th, 25th, 50th, 75th and 95th percentile
    };
    std::vector<Box> boxData_;  // per block layer, from the result (the log axis hides some)
    QCheckBox* logScale_ = nullptr;
    QCustomPlot* klPlot_ = nullptr;
    QCPGraph* klBlock_ = nullptr;
    QCPGraph* klAttention_ = nullptr;
    QCustomPlot* lossPlot_ = nullptr;
    QCPGraph* crossEntropy_ = nullptr;
    QCPGraph* entropy_ = nullptr;
    QCPGraph* finalLoss_ = nullptr;
    QCustomPlot* distributionPlot_ = nullptr;
    QCPStatisticalBox* boxes_ = nullptr;
    QTableWidget* table_ = nullptr;
};

}  // namespace ls::widgets
