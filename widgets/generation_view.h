#pragma once
// Generation under interventions (core/analysis/generation.h): the continuations side by side,
// one column per condition, for the prompt, sample and iteration chosen above them (they fill
// in as a run finishes each one); under them the table per condition (speed, PPL, repetition,
// FLOP model), the best-of-N and refinement tables, and a chart of ppl_base against N per
// condition (against the iteration when there is one N). Export… saves the chart and
// generationTables(). Takes the result and nothing else.
#include <memory>
#include <vector>

#include "analysis/generation.h"
#include "kit/result_view.h"
#include "kit/tables.h"

class QComboBox;
class QCustomPlot;
class QGridLayout;
class QLabel;
class QPlainTextEdit;
class QSpinBox;
class QTableWidget;

namespace ls::widgets {

class GenerationView : public ResultViewOf<ls::GenerationResult> {
    Q_OBJECT
public:
    explicit GenerationView(QWidget* parent = nullptr);

    // A run starts: empty columns for these conditions; addContinuation fills them as it goes.
    void beginRun(const std::vector<std::string>& conditions);
    void addContinuation(const ls::GenerationProgress& progress);

    // The continuation shown: prompt (0-based), sample (0-based), iteration (from 1).
    void showContinuation(int prompt, int sample, int iteration);
    QString columnText(int condition) const;  // what a condition's column shows now
    QString summaryText() const;

    QCustomPlot* pplPlot() const { return pplPlot_; }
    QTableWidget* summaryTable() const { return summary_.table; }
    QTableWidget* bestOfTable() const { return bestOf_.table; }
    QTableWidget* refinementTable() const { return refinement_.table; }

protected:
    void showResult() override;

private:
    void makeColumns(const std::vector<std::string>& conditions);
    void fillColumns();
    void fillTables();
    void drawChart();

    QSpinBox *promptSpin_ = nullptr, *sampleSpin_ = nullptr, *iterationSpin_ = nullptr;
    QLabel* promptLabel_ = nullptr;
    QGridLayout* columnsLayout_ = nullptr;
    QWidget* columnsArea_ = nullptr;
    std::vector<QLabel*> columnTitles_;
    std::vector<QPlainTextEdit*> columns_;
    // While a run goes: the latest report of each continuation (shown before the result comes).
    std::vector<std::string> liveConditions_;
    std::vector<ls::GenerationProgress> live_;
    CaptionedTable summary_, bestOf_, refinement_;
    QCustomPlot* pplPlot_ = nullptr;
};

}  // namespace ls::widgets
