#pragma once
// The token inspector: the classic logit-lens picture of one window (spec section 2).
// One row per position of the window, one column per layer (emb = h_0, then 1..L, the
// blocks' outputs); each cell shows the lens top-1 token at that position and layer, its
// background coloured by the top-1 probability (white -> dark blue, legend above), bold
// with an orange outline where the top-1 is the next token of the text (the target).
// Frozen headers: the layers on top, the position, its input token and its target on the
// left. Hovering a cell shows the top-k tokens with probabilities and the probability the
// lens gives there to the final layer's top-1. Rows and columns scroll; only visible cells
// are painted, so 1024 positions x 33 layers stay quick.
// Export…: the inspectTables() as CSV and the grid as a PNG image.
// Takes the grid and nothing else: nothing here is recomputed from a model.
#include <QColor>
#include <QHash>
#include <QImage>
#include <QPoint>
#include <QRect>
#include <QString>
#include <memory>

#include "analysis/capture_pass.h"
#include "kit/result_view.h"

class QAbstractScrollArea;

namespace ls::widgets {

class InspectorGrid;

class TokenInspectorView : public ResultView {
    Q_OBJECT
public:
    explicit TokenInspectorView(QWidget* parent = nullptr);

    void setGrid(std::shared_ptr<const ls::InspectGrid> grid);
    void clear() { setGrid(nullptr); }
    bool hasData() const;
    const std::shared_ptr<const ls::InspectGrid>& grid() const { return grid_; }
    int positions() const;  // rows
    int layers() const;     // columns: emb, 1..L

    // Display text of a token id: tokenText with whitespace made visible (" " -> "·",
    // "\n" -> "↵"), or "#id" without a text. Empty for id < 0.
    QString tokenLabel(int32_t id) const;
    // "emb" for layer 0, else the block number.
    static QString layerName(int layer);

    // A cell (position p, layer l): what is drawn there.
    QString cellText(int position, int layer) const;      // tokenLabel(top-1)
    double cellProbability(int position, int layer) const; // top-1 probability
    bool cellHitsTarget(int position, int layer) const;   // top-1 == the position's target
    QColor cellColor(int position, int layer) const;      // probabilityColor(cellProbability)
    // Rich text: position, layer, input -> target, the top-k with probabilities (in order),
    // and the probability of the final top-1 at this layer.
    QString cellToolTip(int position, int layer) const;

    // The sequential colour scale: p in [0, 1] -> white .. dark blue; NaN -> grey.
    static QColor probabilityColor(double p);
    // A probability as a percentage: "43.2 %", "4.32 %", "0.432 %", "0.0321 %"; NaN -> "—".
    static QString formatProbability(double p);
    // Black or white, whichever reads better on background.
    static QColor textColorOn(const QColor& background);

    // Geometry for tests: the cell's rectangle in the grid's viewport coordinates (after
    // scrolling; may lie outside the viewport), and the cell under a viewport point
    // (x = layer, y = position; (-1, -1) for none).
    QRect cellRect(int position, int layer) const;
    QPoint cellAt(const QPoint& viewportPos) const;
    void scrollToCell(int position, int layer);
    QAbstractScrollArea* gridArea() const;
    QString summaryText() const;
    std::vector<ls::Table> tables() const override;  // no charts: the grid is not a chart

    // The whole grid with its headers as an image (rows from the first visible one if it
    // would be taller than maxHeight pixels).
    QImage gridImage(int maxHeight = 16000) const;
    bool saveGridImage(const QString& path, QString* error = nullptr) const;

private:
    friend class InspectorGrid;
    void rebuildLabels();

    std::shared_ptr<const ls::InspectGrid> grid_;
    QHash<int32_t, QString> labels_;  // tokenLabel cache for every id in the grid
    InspectorGrid* area_ = nullptr;
};

}  // namespace ls::widgets
