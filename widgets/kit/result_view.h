#pragma once
// The frame every analysis view shares: at the top a description (what the analysis
// measures) and a summary line of the result, the view's own controls and the "Export…"
// button at the right; the view's body below. Export offers what charts() and tables()
// return at the moment its menu opens, so a view whose charts come and go has nothing to
// keep up to date. ResultViewOf<R> is the frame of a view of one result of type R.
#include <QList>
#include <QPair>
#include <QString>
#include <QWidget>
#include <memory>
#include <utility>
#include <vector>

#include "io/table.h"

class QCustomPlot;
class QLabel;
class QLayout;
class QVBoxLayout;
class QHBoxLayout;

namespace ls::widgets {

class ExportButton;

class ResultView : public QWidget {
    Q_OBJECT
public:
    ExportButton* exportButton() const { return exportButton_; }
    QLabel* descriptionLabel() const { return description_; }
    QLabel* summaryLabel() const { return summary_; }

    // Every chart Export… offers now, (file stem, plot), in menu order (by default the charts
    // added with addChart); and every table.
    virtual QList<QPair<QString, QCustomPlot*>> charts() const { return charts_; }
    virtual std::vector<ls::Table> tables() const = 0;

protected:
    // description: rich text; empty hides the line.
    explicit ResultView(const QString& description, QWidget* parent = nullptr);

    void setSummary(const QString& text);    // rich text; empty hides the line
    void addHeaderLine(QWidget* line);       // under the summary line (e.g. a warning)
    void addHeaderControl(QWidget* control); // left of Export…, in the order added
    void setBody(QWidget* body);
    void setBody(QLayout* body);
    // A chart the view always has, offered by charts() under this file stem; returns it.
    template <class Plot>
    Plot* addChart(const QString& stem, Plot* plot) {
        charts_.append({stem, plot});
        return plot;
    }
    void replotCharts(bool queued = false);  // every chart of charts(); queued: at the next event loop pass

private:
    QList<QPair<QString, QCustomPlot*>> charts_;
    QLabel* description_ = nullptr;
    QLabel* summary_ = nullptr;
    ExportButton* exportButton_ = nullptr;
    QVBoxLayout* texts_ = nullptr;
    QHBoxLayout* controls_ = nullptr;
    QVBoxLayout* layout_ = nullptr;
};

// A view of one result of type R, shared with the run (no copy). setResult keeps it and calls
// showResult(), which draws it, or the empty view for null; clear() is setResult(nullptr).
// tables() are tablesOf(result), none without a result.
template <class R>
class ResultViewOf : public ResultView {
public:
    using TablesOf = std::vector<ls::Table> (*)(const R& result);

    void setResult(std::shared_ptr<const R> result) {
        result_ = std::move(result);
        showResult();
    }
    void clear() { setResult(nullptr); }
    bool hasData() const { return result_ != nullptr; }
    const R* result() const { return result_.get(); }
    std::vector<ls::Table> tables() const override { return result_ ? tablesOf_(*result_) : std::vector<ls::Table>{}; }

protected:
    ResultViewOf(const QString& description, TablesOf tablesOf, QWidget* parent)
        : ResultView(description, parent), tablesOf_(tablesOf) {}
    // Draws result_, or the empty view when it is null. May drop a result it cannot show
    // (result_.reset()): hasData() is then false.
    virtual void showResult() = 0;

    std::shared_ptr<const R> result_;

private:
    TablesOf tablesOf_;
};

}  // namespace ls::widgets
