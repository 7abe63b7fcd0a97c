#pragma once
// Export for the analysis views: one "Export…" tool button whose menu offers each chart as
// PNG / PDF / SVG and each table as CSV, plus "everything into a folder". Images go through
// savePlotImage (plot_export.h), tables through ls::toCsv and an atomic write.
#include <QList>
#include <QPair>
#include <QPointer>
#include <QString>
#include <QStringList>
#include <QToolButton>
#include <functional>
#include <vector>

#include "io/table.h"
#include "plot_export.h"

class QCustomPlot;

namespace ls::widgets {

// A "Export…" tool button whose menu offers each chart as PNG / PDF / SVG and each table as CSV.
class ExportButton : public QToolButton {
    Q_OBJECT
public:
    explicit ExportButton(QWidget* parent = nullptr);
    using Charts = QList<QPair<QString, QCustomPlot*>>;                   // (file stem, plot)
    void setCharts(const Charts& charts);
    void setCharts(std::function<Charts()> charts);                      // called when the menu opens
    void setTables(std::function<std::vector<ls::Table>()> tables);      // called at export time

    // Asks where to write. suggested: a file path (or, when filter is empty, a folder); returns
    // the chosen path, empty = canceled. Default: QFileDialog. Tests install their own.
    using PathChooser = std::function<QString(const QString& suggested, const QString& filter)>;
    void setPathChooser(PathChooser chooser);

signals:
    void exported(const QString& path);        // after each successful write
    void failed(const QString& message);       // message names the file

private:
    void rebuildMenu();  // on aboutToShow: the tables' names are known only then
    void exportChart(int index, const QString& suffix);
    void exportTable(const std::string& name);
    void exportEverything();
    std::vector<ls::Table> currentTables();  // tables_(), or none (+ failed) if it throws
    QString choose(const QString& suggested, const QString& filter);

    std::function<Charts()> chartSource_;
    QList<QPair<QString, QPointer<QCustomPlot>>> charts_;  // as the menu was last built
    std::function<std::vector<ls::Table>()> tables_;
    PathChooser chooser_;
};

// The size figures are exported at (empty: as on screen), shared by every Export… button and
// kept between sessions (QSettings), with the folder exports last went to.
FigureSize exportFigureSize();
void setExportFigureSize(const FigureSize& figure);
QString lastExportFolder();
void setLastExportFolder(const QString& dir);

// Asks for the figure size: as on screen, or width x height in mm or inches and the PNG's dpi.
// Returns whether the user accepted (figure then holds the answer).
bool askFigureSize(QWidget* parent, FigureSize& figure);

// Writes every chart (as <stem>.<suffix> for each suffix in {"png","pdf","svg"}, at
// exportFigureSize()) and every table (<name>.csv) into dir, then manifest.json listing them;
// returns the paths written; false + *error on the first failure.
bool exportAll(const QString& dir, const QList<QPair<QString, QCustomPlot*>>& charts, const std::vector<ls::Table>& tables, QStringList* written, QString* error);

// One table as CSV (ls::toCsv) at path, written atomically. False + *error naming the file.
bool writeTableCsv(const ls::Table& table, const QString& path, QString* error = nullptr);

// The size a chart is exported at when the figure size is empty: as on screen, or 900 x 600 if
// it was never laid out.
QSize chartExportSize(const QCustomPlot* plot);
// A chart at exportFigureSize() (or as on screen).
bool saveChart(QCustomPlot* plot, const QString& path, QString* error);

}  // namespace ls::widgets
