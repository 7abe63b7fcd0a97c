#include "export_menu.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDateTime>
#include <QDialog>
#include <QDialogButtonBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QRegularExpression>
#include <QSettings>
#include <QSpinBox>
#include <QVBoxLayout>
#include <algorithm>
#include <nlohmann/json.hpp>
#include <QFileInfo>
#include <QMenu>
#include <exception>
#include <qcustomplot.h>

#include "common/file_io.h"
#include "plot_export.h"

namespace ls::widgets {

namespace {

const QStringList kImageSuffixes{"png", "pdf", "svg"};

// Where exports last went and the figure size, kept between sessions.
const QString kFolderKey = QStringLiteral("export/folder");
const QString kFigureKey = QStringLiteral("export/figure");  // "widthMm x heightMm @ dpi", or empty

QString imageFilter(const QString& suffix) {
    return QStringLiteral("%1 (*.%2)").arg(suffix.toUpper(), suffix);
}

}  // namespace

void setLastExportFolder(const QString& dir) { QSettings().setValue(kFolderKey, dir); }

QString lastExportFolder() {
    const QString dir = QSettings().value(kFolderKey).toString();
    return !dir.isEmpty() && QDir(dir).exists() ? dir : QDir::homePath();
}

FigureSize exportFigureSize() {
    FigureSize figure;
    const QStringList parts = QSettings().value(kFigureKey).toString().split(QRegularExpression(QStringLiteral("[ x@]+")),
                                                                           Qt::SkipEmptyParts);
    if (parts.size() == 3) {
        figure.widthMm = parts[0].toDouble();
        figure.heightMm = parts[1].toDouble();
        figure.dpi = std::clamp(parts[2].toInt(), 72, 600);
    }
    return figure.isEmpty() ? FigureSize{} : figure;
}

void setExportFigureSize(const FigureSize& figure) {
    QSettings().setValue(kFigureKey, figure.isEmpty() ? QString()
                                                      : QStringLiteral("%1 x %2 @ %3")
                                                            .arg(figure.widthMm)
                                                            .arg(figure.heightMm)
                                                            .arg(figure.dpi));
}

bool askFigureSize(QWidget* parent, FigureSize& figure) {
    QDialog dialog(parent);
    dialog.setWindowTitle(QObject::tr("Figure Size"));
    auto* onScreen = new QCheckBox(QObject::tr("As on screen (PNG at the screen's resolution)"), &dialog);
    auto* unit = new QComboBox(&dialog);
    unit->addItem(QObject::tr("mm"), 1.0);
    unit->addItem(QObject::tr("inches"), 25.4);
    auto makeLength = [&dialog] {
        auto* spin = new QDoubleSpinBox(&dialog);
        spin->setDecimals(1);
        spin->setRange(10, 1000);
        return spin;
    };
    QDoubleSpinBox* width = makeLength();
    QDoubleSpinBox* height = makeLength();
    auto* dpi = new QSpinBox(&dialog);
    dpi->setRange(72, 600);
    dpi->setSuffix(QObject::tr(" dpi"));
    auto* presets = new QComboBox(&dialog);
    presets->addItem(QObject::tr("Presets…"));
    presets->addItem(QObject::tr("One column, 85 × 60 mm"), QSizeF(85, 60));
    presets->addItem(QObject::tr("Two columns, 178 × 100 mm"), QSizeF(178, 100));
    presets->addItem(QObject::tr("Slide, 254 × 143 mm"), QSizeF(254, 143));

    const FigureSize start = figure.isEmpty() ? FigureSize{85, 60, 300} : figure;
    onScreen->setChecked(figure.isEmpty());
    width->setValue(start.widthMm);
    height->setValue(start.heightMm);
    dpi->setValue(start.dpi);
    double mmPerUnit = 1.0;
    QObject::connect(unit, &QComboBox::currentIndexChanged, &dialog, [&](int) {
        const double next = unit->currentData().toDouble();
        for (QDoubleSpinBox* spin : {width, height}) spin->setValue(spin->value() * mmPerUnit / next);
        mmPerUnit = next;
    });
    QObject::connect(presets, &QComboBox::currentIndexChanged, &dialog, [&](int index) {
        if (index <= 0) return;
        const QSizeF mm = presets->itemData(index).toSizeF();
        width->setValue(mm.width() / mmPerUnit);
        height->setValue(mm.height() / mmPerUnit);
        onScreen->setChecked(false);
        presets->setCurrentIndex(0);
    });
    auto* size = new QWidget(&dialog);
    auto* sizeRow = new QHBoxLayout(size);
    sizeRow->setContentsMargins(0, 0, 0, 0);
    sizeRow->addWidget(width);
    sizeRow->addWidget(new QLabel(QStringLiteral("×"), &dialog));
    sizeRow->addWidget(height);
    sizeRow->addWidget(unit);
    auto* form = new QFormLayout;
    form->addRow(onScreen);
    form->addRow(QObject::tr("Size"), size);
    form->addRow(QObject::tr("PNG resolution"), dpi);
    form->addRow(QString(), presets);
    auto* note = new QLabel(QObject::tr("Fonts keep their point size; PDF and SVG are vectors of this size."), &dialog);
    note->setWordWrap(true);
    form->addRow(note);
    auto sync = [&] {
        for (QWidget* w : std::initializer_list<QWidget*>{size, dpi, presets}) w->setEnabled(!onScreen->isChecked());
    };
    QObject::connect(onScreen, &QCheckBox::toggled, &dialog, sync);
    sync();
    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Ok | QDialogButtonBox::Cancel, &dialog);
    QObject::connect(buttons, &QDialogButtonBox::accepted, &dialog, &QDialog::accept);
    QObject::connect(buttons, &QDialogButtonBox::rejected, &dialog, &QDialog::reject);
    auto* layout = new QVBoxLayout(&dialog);
    layout->addLayout(form);
    layout->addWidget(buttons);
    if (dialog.exec() != QDialog::Accepted)
        return false;
    figure = onScreen->isChecked() ? FigureSize{}
                                   : FigureSize{width->value() * mmPerUnit, height->value() * mmPerUnit, dpi->value()};
    return true;
}

bool saveChart(QCustomPlot* plot, const QString& path, QString* error) {
    const FigureSize figure = exportFigureSize();
    return figure.isEmpty() ? savePlotImage(plot, path, chartExportSize(plot), error)
                            : savePlotImage(plot, path, figure, error);
}

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
    nlohmann::json files = nlohmann::json::array();
    for (const auto& [stem, plot] : charts) {
        if (!plot)
            continue;
        for (const QString& suffix : kImageSuffixes) {
            const QString path = out.filePath(stem + '.' + suffix);
            if (!saveChart(plot, path, error))
                return false;
            if (written)
                written->append(path);
            files.push_back({{"file", (stem + '.' + suffix).toStdString()}, {"kind", "figure"}});
        }
    }
    for (const ls::Table& table : tables) {
        const QString path = out.filePath(QString::fromStdString(table.name) + ".csv");
        if (!writeTableCsv(table, path, error))
            return false;
        if (written)
            written->append(path);
        files.push_back({{"file", table.name + ".csv"}, {"kind", "table"}, {"title", table.title}});
    }
    // What is here and how the figures were made, for the paper's methods and for scripts.
    const FigureSize figure = exportFigureSize();
    nlohmann::json manifest = {{"written_by", "LayerScope"},
                               {"written_at", QDateTime::currentDateTimeUtc().toString(Qt::ISODate).toStdString()},
                               {"files", files}};
    manifest["figure_size"] = figure.isEmpty() ? nlohmann::json("as on screen")
                                               : nlohmann::json{{"width_mm", figure.widthMm},
                                                                {"height_mm", figure.heightMm},
                                                                {"png_dpi", figure.dpi}};
    const QString manifestPath = out.filePath(QStringLiteral("manifest.json"));
    try {
        ls::writeFileAtomically(QFile::encodeName(manifestPath).toStdString(), manifest.dump(2) + "\n");
    } catch (const std::exception& e) {
        if (error)
            *error = QStringLiteral("%1: %2").arg(manifestPath, QString::fromStdString(e.what()));
        return false;
    }
    if (written)
        written->append(manifestPath);
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
    const FigureSize figure = exportFigureSize();
    QAction* size = m->addAction(figure.isEmpty() ? tr("Figure size: as on screen…")
                                                  : tr("Figure size: %1 × %2 mm, PNG %3 dpi…")
                                                        .arg(figure.widthMm, 0, 'g', 4)
                                                        .arg(figure.heightMm, 0, 'g', 4)
                                                        .arg(figure.dpi));
    size->setObjectName(QStringLiteral("export_figure_size"));
    connect(size, &QAction::triggered, this, [this] {
        FigureSize chosen = exportFigureSize();
        if (askFigureSize(this, chosen)) setExportFigureSize(chosen);
    });
    m->addSeparator();
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
    QString path = choose(QDir(lastExportFolder()).filePath(charts_[index].first + '.' + suffix),
                          imageFilter(suffix));
    if (path.isEmpty())
        return;
    if (QFileInfo(path).suffix().isEmpty())
        path += '.' + suffix;
    setLastExportFolder(QFileInfo(path).absolutePath());
    QString error;
    if (saveChart(plot, path, &error))
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
    QString path = choose(QDir(lastExportFolder()).filePath(stem + ".csv"), tr("CSV (*.csv)"));
    if (path.isEmpty())
        return;
    if (QFileInfo(path).suffix().isEmpty())
        path += ".csv";
    setLastExportFolder(QFileInfo(path).absolutePath());
    QString error;
    if (writeTableCsv(*table, path, &error))
        emit exported(path);
    else
        emit failed(error);
}

void ExportButton::exportEverything() {
    const QString dir = choose(lastExportFolder(), QString());
    if (dir.isEmpty())
        return;
    setLastExportFolder(dir);
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
