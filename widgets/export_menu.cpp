#include "export_menu.h"

#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QMenu>
#include <exception>
#include <qcustomplot.h>

#include "common/file_io.h"
#include "plot_export.h"

namespace ls::widgets {

namespace {

const QStringList kImageSuffixes{"png", "pdf", "svg"};

// The folder the last export went to, shared by every button of the session.
QString& lastDirectory() {
    static QString dir = QDir::homePath();
    return dir;
}

QString imageFilter(const QString& suffix) {
    return QStringLiteral("%1 (*.%2)").arg(suffix.toUpper(), suffix);
}

}  // namespace

QSize chartExportSize(const QCustomPlot* plot) {
    const QSize size = plot->size();
    // A plot that was never laid out keeps QWidget's placeholder size (100 x 30).
    if (size.width() < 200 || size.height() < 120)
        return {900, 600};
    return size;
}

bool writeTableCsv(const ls::Table& table, const QString& path, QString* error) {
    try {
        ls::writeFileAtomically(QFile::encodeName(path).toStdString(), ls::toCsv(table));
        return true;
    } catch (const std::exception& e) {
        if (error) {
            const QString what = QString::fromStdString(e.what());
            *error = what.contains(path) ? what : QStringLiteral("%1: %2").arg(path, what);
        }
        return false;
    }
}

bool exportAll(const QString& dir, const QList<QPair<QString, QCustomPlot*>>& charts,
               const std::vector<ls::Table>& tables, QStringList* written, QString* error) {
    if (!QDir().mkpath(dir)) {
        if (error)
            *error = QStringLiteral("%1: cannot create the folder").arg(dir);
        return false;
    }
    const QDir out(dir);
    for (const auto& [stem, plot] : charts) {
        if (!plot)
            continue;
        for (const QString& suffix : kImageSuffixes) {
            const QString path = out.filePath(stem + '.' + suffix);
            if (!savePlotImage(plot, path, chartExportSize(plot), error))
                return false;
            if (written)
                written->append(path);
        }
    }
    for (const ls::Table& table : tables) {
        const QString path = out.filePath(QString::fromStdString(table.name) + ".csv");
        if (!writeTableCsv(table, path, error))
            return false;
        if (written)
            written->append(path);
    }
    return true;
}

ExportButton::ExportButton(QWidget* parent) : QToolButton(parent) {
    setText(tr("Export…"));
    setToolTip(tr("Save the charts as PNG, PDF or SVG and the tables as CSV"));
    setPopupMode(QToolButton::InstantPopup);
    setToolButtonStyle(Qt::ToolButtonTextOnly);
    // Room for the menu arrow, which some styles draw over the text's corner.
    setMinimumWidth(fontMetrics().horizontalAdvance(text()) + 36);
    auto* menu = new QMenu(this);
    setMenu(menu);
    // Built when it opens: the tables (and so their names) are asked for only then.
    connect(menu, &QMenu::aboutToShow, this, &ExportButton::rebuildMenu);
}

void ExportButton::setCharts(const Charts& charts) {
    QList<QPair<QString, QPointer<QCustomPlot>>> guarded;
    for (const auto& [stem, plot] : charts)
        guarded.append({stem, QPointer<QCustomPlot>(plot)});
    setCharts([guarded] {
        Charts alive;
        for (const auto& [stem, plot] : guarded)
            if (plot)
                alive.append({stem, plot.data()});
        return alive;
    });
}

void ExportButton::setCharts(std::function<Charts()> charts) { chartSource_ = std::move(charts); }

void ExportButton::setTables(std::function<std::vector<ls::Table>()> tables) {
    tables_ = std::move(tables);
}

void ExportButton::setPathChooser(PathChooser chooser) { chooser_ = std::move(chooser); }

void ExportButton::rebuildMenu() {
    QMenu* m = menu();
    m->clear();
    charts_.clear();
    if (chartSource_)
        for (const auto& [stem, plot] : chartSource_())
            charts_.append({stem, QPointer<QCustomPlot>(plot)});
    for (int i = 0; i < charts_.size(); ++i) {
        if (!charts_[i].second)
            continue;
        QMenu* sub = m->addMenu(tr("Chart “%1”").arg(charts_[i].first));
        for (const QString& suffix : kImageSuffixes) {
            QAction* action = sub->addAction(tr("%1…").arg(suffix.toUpper()));
            action->setObjectName(QStringLiteral("export_%1_%2").arg(charts_[i].first, suffix));
            connect(action, &QAction::triggered, this, [this, i, suffix] { exportChart(i, suffix); });
        }
    }
    const std::vector<ls::Table> tables = currentTables();
    if (!tables.empty()) {
        m->addSeparator();
        for (const ls::Table& table : tables) {
            const QString name = QString::fromStdString(table.name);
            const QString label = table.title.empty()
                                      ? tr("Table %1.csv…").arg(name)
                                      : tr("%1 (%2.csv)…").arg(QString::fromStdString(table.title), name);
            QAction* action = m->addAction(label);
            action->setObjectName(QStringLiteral("export_%1_csv").arg(name));
            connect(action, &QAction::triggered, this, [this, n = table.name] { exportTable(n); });
        }
    }
    m->addSeparator();
    QAction* all = m->addAction(tr("Everything to a folder…"));
    all->setObjectName(QStringLiteral("export_all"));
    all->setEnabled(!charts_.isEmpty() || !tables.empty());
    connect(all, &QAction::triggered, this, &ExportButton::exportEverything);
}

QString ExportButton::choose(const QString& suggested, const QString& filter) {
    if (chooser_)
        return chooser_(suggested, filter);
    if (filter.isEmpty())
        return QFileDialog::getExistingDirectory(this, tr("Export into Folder"), suggested);
    return QFileDialog::getSaveFileName(this, tr("Export"), suggested, filter);
}

void ExportButton::exportChart(int index, const QString& suffix) {
    if (index < 0 || index >= charts_.size() || !charts_[index].second)
        return;
    QCustomPlot* plot = charts_[index].second;
    QString path = choose(QDir(lastDirectory()).filePath(charts_[index].first + '.' + suffix),
                          imageFilter(suffix));
    if (path.isEmpty())
        return;
    if (QFileInfo(path).suffix().isEmpty())
        path += '.' + suffix;
    lastDirectory() = QFileInfo(path).absolutePath();
    QString error;
    if (savePlotImage(plot, path, chartExportSize(plot), &error))
        emit exported(path);
    else
        emit failed(error);
}

std::vector<ls::Table> ExportButton::currentTables() {
    if (!tables_)
        return {};
    try {
        return tables_();
    } catch (const std::exception& e) {
        emit failed(tr("Tables: %1").arg(QString::fromStdString(e.what())));
        return {};
    }
}

void ExportButton::exportTable(const std::string& name) {
    const std::vector<ls::Table> tables = currentTables();
    const ls::Table* table = ls::findTable(tables, name);
    if (!table) {
        emit failed(tr("%1.csv: the table is no longer available").arg(QString::fromStdString(name)));
        return;
    }
    const QString stem = QString::fromStdString(name);
    QString path = choose(QDir(lastDirectory()).filePath(stem + ".csv"), tr("CSV (*.csv)"));
    if (path.isEmpty())
        return;
    if (QFileInfo(path).suffix().isEmpty())
        path += ".csv";
    lastDirectory() = QFileInfo(path).absolutePath();
    QString error;
    if (writeTableCsv(*table, path, &error))
        emit exported(path);
    else
        emit failed(error);
}

void ExportButton::exportEverything() {
    const QString dir = choose(lastDirectory(), QString());
    if (dir.isEmpty())
        return;
    lastDirectory() = dir;
    const Charts charts = chartSource_ ? chartSource_() : Charts();
    const std::vector<ls::Table> tables = currentTables();
    QStringList written;
    QString error;
    const bool ok = exportAll(dir, charts, tables, &written, &error);
    for (const QString& path : written)
        emit exported(path);
    if (!ok)
        emit failed(error);
}

}  // namespace ls::widgets
