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
#include "kit/tables.h"

class QCPBars;
class QCPBarsGroup;
class QCPGraph;
class QCustomPlot;
class QTableWidget;

namespace ls::widgets {

class SaturationView : public ResultViewOf<ls::SaturationResult> {
    Q_OBJECT
public:
    explicit SaturationView(QWidget* parent = nullptr);

    // Hover texts (also what the tooltips show). layer 0..L; attention: the post-attention lens.
    QString rateToolTip(int layer, bool attention = false) const;
    QString histogramToolTip(int layer) const;  // layer 1..L
    QString lossToolTip(int layer) const;       // layer 0..L

    // For tests and the app.
    QCustomPlot* ratePlot() const { return rate_.plot; }
    QCPGraph* rateGraph() const { return rate_.rate; }                    // x = l, y = percent
    QCPGraph* postAttentionGraph() const { return rate_.postAttention; }  // x = l - 0.5
    QCustomPlot* histogramPlot() const { return hist_.plot; }
    QCPBars* histogramBars() const { return hist_.bars; }                 // x = l, y = tokens
    QCustomPlot* lossPlot() const { return loss_.plot; }
    QCPBars* saturatedLossBars() const { return loss_.saturated; }
    QCPBars* unsaturatedLossBars() const { return loss_.unsaturated; }
    QCPGraph* lossDifferenceGraph() const { return loss_.difference; }    // unsat - sat
    QTableWidget* table() const { return table_.table; }

protected:
    void showResult() override;

private:
    void showEmpty();
    void fillRate();
    void fillHistogram();
    void fillLoss();
    void fillTable();
    void updateTickers();  // layer labels that fit the plots' current sizes
    QString rateHoverText(const QPointF& pos) const;

    // The charts and what each draws; step: a label on every step-th layer (0: not set up).
    struct RateChart {
        QCustomPlot* plot = nullptr;
        QCPGraph* rate = nullptr;           // the lens on h_l
        QCPGraph* postAttention = nullptr;  // the lens on a_l
        int step = 0;
        bool attentionTicks = false;        // "l.attn" labelled too
    } rate_;
    struct HistogramChart {
        QCustomPlot* plot = nullptr;
        QCPBars* bars = nullptr;
        int step = 0;
    } hist_;
    struct LossChart {
        QCustomPlot* plot = nullptr;
        QCPBarsGroup* group = nullptr;
        QCPBars *saturated = nullptr, *unsaturated = nullptr;
        QCPGraph* difference = nullptr;
        int step = 0;
    } loss_;
    CaptionedTable table_;
};

}  // namespace ls::widgets
