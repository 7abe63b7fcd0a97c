#pragma once
// Saturation through the logit lens (spec section 2): top1_l = argmax W norm_f(h_l).
//   - saturation rate per layer l = 0..L (0 = the embeddings' lens, "emb") in percent, and the
//     post-attention lens on a_l (drawn at l - 0.5, "l.attn") when the run captured it;
//   - the saturation-layer histogram: tokens whose top-1 never changes again from block l on;
//   - mean loss of saturated vs unsaturated tokens per layer (grouped bars) and their
//     difference;
//   - a table of those numbers. Hover a chart for its values.
#include <memory>

#include "analysis/saturation.h"
#include "kit/result_view.h"

class QCPBars;
class QCPBarsGroup;
class QCPGraph;
class QCustomPlot;
class QTableWidget;

namespace ls::widgets {

class SaturationView : public ResultView {
    Q_OBJECT
public:
    explicit SaturationView(QWidget* parent = nullptr);

    void clear();
    void setResult(std::shared_ptr<const ls::SaturationResult> result);
    bool hasData() const { return result_ && !result_->layers.empty(); }
    const ls::SaturationResult* result() const { return result_.get(); }

    // Hover texts (also what the tooltips show). layer 0..L; attention: the post-attention lens.
    QString rateToolTip(int layer, bool attention = false) const;
    QString histogramToolTip(int layer) const;  // layer 1..L
    QString lossToolTip(int layer) const;       // layer 0..L

    // For tests and the app.
    QCustomPlot* ratePlot() const { return ratePlot_; }
    QCPGraph* rateGraph() const { return rateGraph_; }                    // x = l, y = percent
    QCPGraph* postAttentionGraph() const { return postAttentionGraph_; }  // x = l - 0.5
    QCustomPlot* histogramPlot() const { return histPlot_; }
    QCPBars* histogramBars() const { return histBars_; }                  // x = l, y = tokens
    QCustomPlot* lossPlot() const { return lossPlot_; }
    QCPBars* saturatedLossBars() const { return satBars_; }
    QCPBars* unsaturatedLossBars() const { return unsatBars_; }
    QCPGraph* lossDifferenceGraph() const { return diffGraph_; }          // unsat - sat
    QTableWidget* table() const { return table_; }
    QList<QPair<QString, QCustomPlot*>> charts() const override;
    std::vector<ls::Table> tables() const override;

private:
    void fillRate();
    void fillHistogram();
    void fillLoss();
    void fillTable();
    void updateTickers();  // layer labels that fit the plots' current sizes
    QString rateHoverText(const QPointF& pos) const;

    std::shared_ptr<const ls::SaturationResult> result_;
    int rateStep_ = 0, histStep_ = 0, lossStep_ = 0;  // label every n-th layer (0 = not set up)
    bool rateAttentionTicks_ = false;

    QCustomPlot* ratePlot_ = nullptr;
    QCPGraph* rateGraph_ = nullptr;
    QCPGraph* postAttentionGraph_ = nullptr;
    QCustomPlot* histPlot_ = nullptr;
    QCPBars* histBars_ = nullptr;
    QCustomPlot* lossPlot_ = nullptr;
    QCPBarsGroup* lossGroup_ = nullptr;
    QCPBars* satBars_ = nullptr;
    QCPBars* unsatBars_ = nullptr;
    QCPGraph* diffGraph_ = nullptr;
    QTableWidget* table_ = nullptr;
};

}  // namespace ls::widgets
