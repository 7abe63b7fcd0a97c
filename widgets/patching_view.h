#pragma once
// Activation patching (core/analysis/patching.h), for the direction chosen above (denoise: the
// clean activation into the corrupted run; noise: the reverse), as heatmaps of the normalised
// logit difference (clean 1, corrupted 0): the residual stream per layer (0 = the embeddings)
// and position, with the first pair's clean tokens on the axis; every head at all positions;
// every MLP; every head at each position. Hover a cell for its value and tokens. Export… saves
// the heatmaps and patchTables(). Takes the result and nothing else.
#include <memory>

#include "analysis/patching.h"
#include "kit/result_view.h"

class QComboBox;
class QScrollArea;

namespace ls::widgets {

class GridHeatmap;

class PatchingView : public ResultViewOf<ls::PatchResult> {
    Q_OBJECT
public:
    explicit PatchingView(QWidget* parent = nullptr);

    QString summaryText() const;
    QComboBox* directionChoice() const { return direction_; }
    GridHeatmap* residChart() const { return resid_; }
    GridHeatmap* headsChart() const { return heads_; }
    GridHeatmap* mlpChart() const { return mlp_; }
    GridHeatmap* headPositionsChart() const { return headPositions_; }

protected:
    void showResult() override;

private:
    void draw();
    int direction() const;

    QComboBox* direction_ = nullptr;
    GridHeatmap *resid_ = nullptr, *heads_ = nullptr, *mlp_ = nullptr, *headPositions_ = nullptr;
};

}  // namespace ls::widgets
