#pragma once
// Two panels of EarlyExitView (early_exit_view.h): the numbers of the current policy, and the
// per-layer threshold sliders. The view owns the policy; these show it and report moves.
#include <QGroupBox>
#include <QList>
#include <QScrollArea>
#include <vector>

#include "analysis/early_exit.h"

class QLabel;
class QSlider;

namespace ls::widgets {

// The slider position (0 .. grid.size() - 1) whose threshold in grid (ascending) is nearest
// value; the middle for none.
int nearestGridPosition(const std::vector<double>& grid, double value);

// "This policy": exit fraction, mean blocks, compute saved, top-1 agreement, the exit layer's
// PPL and the full model's, one per row.
class ExitNumbersBox : public QGroupBox {
    Q_OBJECT
public:
    explicit ExitNumbersBox(QWidget* parent);
    // outcome.tokens == 0: dashes (the full model's PPL still shows).
    void showOutcome(const ls::ExitOutcome& outcome, int layers, double fullPpl);
    QLabel* exitFractionLabel() const { return exitFraction_; }
    QLabel* meanLayersLabel() const { return meanLayers_; }
    QLabel* computeSavedLabel() const { return computeSaved_; }
    QLabel* agreementLabel() const { return agreement_; }
    QLabel* pplLabel() const { return ppl_; }

private:
    QLabel *exitFraction_ = nullptr, *meanLayers_ = nullptr, *computeSaved_ = nullptr;
    QLabel *agreement_ = nullptr, *ppl_ = nullptr, *fullPpl_ = nullptr;
};

// One threshold slider per allowed layer; slider j steps through grids[j] (that layer's
// quantiles of the signal), its value written beside it.
class LayerThresholdSliders : public QScrollArea {
    Q_OBJECT
public:
    explicit LayerThresholdSliders(QWidget* parent);
    // New rows, one per layer (none: empty); grids must outlive the sliders' use.
    void setLayers(const std::vector<int>& layers, const std::vector<std::vector<double>>* grids);
    // Moves the sliders to the positions nearest these thresholds, without thresholdMoved.
    void setThresholds(const std::vector<double>& thresholds);
    void setSlidersEnabled(bool on);
    QList<QSlider*> sliders() const { return sliders_; }

signals:
    void thresholdMoved(int index, double threshold);  // a slider was moved

private:
    const std::vector<std::vector<double>>* grids_ = nullptr;
    QWidget* panel_ = nullptr;
    QList<QSlider*> sliders_;
    QList<QLabel*> values_;
};

}  // namespace ls::widgets
