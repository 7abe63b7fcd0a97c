#pragma once
// One prompt under the microscope (core/analysis/prompt.h), in two pages:
//   Attention: every layer x head pattern as a thumbnail; the one picked (click a thumbnail or a
//     summary cell) as a large heatmap with the prompt's tokens on both axes; the per-head
//     summary chosen above (entropy, first token, previous token, duplicate token, induction) as
//     a layer x head heatmap. Hover a cell for its tokens and value.
//   Logit attribution: each head's, attention bias's and MLP's share of the attributed token's
//     logit as a block x (heads, bias, MLP) heatmap; the component picked, with the tokens it
//     promotes and suppresses most; the components with the largest shares.
// Export… saves the three heatmaps and promptTables(). Takes the result and nothing else.
#include <QWidget>
#include <memory>

#include "analysis/prompt.h"
#include "kit/result_view.h"
#include "kit/tables.h"

class QComboBox;
class QScrollArea;
class QTabWidget;
class QTableWidget;

namespace ls::widgets {

class GridHeatmap;

// The L x H thumbnails of a prompt's attention patterns, one picked.
class PatternGrid : public QWidget {
    Q_OBJECT
public:
    explicit PatternGrid(QWidget* parent = nullptr);
    void setPatterns(const ls::AttentionPatterns* patterns);  // null: none; kept by the caller
    void pick(int layer, int head);                          // layer 1..L
    QSize sizeHint() const override;
    // The head under a point of the widget (layer 1..L), or false.
    bool headAt(const QPoint& pos, int* layer, int* head) const;

signals:
    void headClicked(int layer, int head);

protected:
    void paintEvent(QPaintEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;

private:
    QRect cellRect(int layer, int head) const;
    const ls::AttentionPatterns* patterns_ = nullptr;
    std::vector<QImage> images_;  // per (layer, head)
    int pickedLayer_ = 0, pickedHead_ = 0;
};

class PromptView : public ResultViewOf<ls::PromptResult> {
    Q_OBJECT
public:
    explicit PromptView(QWidget* parent = nullptr);

    // The head whose pattern the large heatmap shows (layer 1..L).
    void showPattern(int layer, int head);
    // The component the token tables describe (index into the attribution's components).
    void showComponent(size_t index);
    QString summaryText() const;

    QTabWidget* pages() const { return pages_; }
    PatternGrid* patternGrid() const { return grid_; }
    GridHeatmap* patternChart() const { return pattern_; }
    GridHeatmap* headSummaryChart() const { return headSummary_; }
    GridHeatmap* attributionChart() const { return attribution_; }
    QComboBox* summaryChoice() const { return summaryChoice_; }
    QTableWidget* tokenTable() const { return tokens_.table; }
    QTableWidget* componentTable() const { return components_.table; }

protected:
    void showResult() override;

private:
    void drawHeadSummary();
    void drawAttribution();
    // The component drawn in a cell of the attribution heatmap, or -1.
    int componentAt(int row, int column) const;

    QTabWidget* pages_ = nullptr;
    QComboBox* summaryChoice_ = nullptr;
    QScrollArea* thumbnails_ = nullptr;
    PatternGrid* grid_ = nullptr;
    GridHeatmap *pattern_ = nullptr, *headSummary_ = nullptr, *attribution_ = nullptr;
    CaptionedTable tokens_, components_;
    int layer_ = 1, head_ = 0;
    // The attribution heatmap's columns: heads 0..H-1, then "bias" (when the model has one), "MLP".
    bool hasBias_ = false;
};

}  // namespace ls::widgets
