#pragma once
// The frame every analysis view shares: at the top a description (what the analysis
// measures) and a summary line of the result, the view's own controls and the "Export…"
// button at the right; the view's body below. Export offers what charts() and tables()
// return at the moment its menu opens, so a view whose charts come and go has nothing to
// keep up to date.
#include <QList>
#include <QPair>
#include <QString>
#include <QWidget>
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

    // Every chart Export… offers now, (file stem, plot), in menu order; and every table.
    virtual QList<QPair<QString, QCustomPlot*>> charts() const = 0;
    virtual std::vector<ls::Table> tables() const = 0;

protected:
    // description: rich text; empty hides the line.
    explicit ResultView(const QString& description, QWidget* parent = nullptr);

    void setSummary(const QString& text);    // rich text; empty hides the line
    void addHeaderLine(QWidget* line);       // under the summary line (e.g. a warning)
    void addHeaderControl(QWidget* control); // left of Export…, in the order added
    void setBody(QWidget* body);
    void setBody(QLayout* body);

private:
    QLabel* description_ = nullptr;
    QLabel* summary_ = nullptr;
    ExportButton* exportButton_ = nullptr;
    QVBoxLayout* texts_ = nullptr;
    QHBoxLayout* controls_ = nullptr;
    QVBoxLayout* layout_ = nullptr;
};

}  // namespace ls::widgets
