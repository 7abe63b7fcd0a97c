#include "plot_export.h"

#include <QFileInfo>
#include <QSvgGenerator>
#include <qcustomplot.h>

namespace ls::widgets {

namespace {

// QCustomPlot has no SVG export: paint it into a QSvgGenerator the way savePdf paints
// into a QPrinter (vectorized, no cached layers).
bool saveSvg(QCustomPlot* plot, const QString& path, QSize size) {
    QSvgGenerator svg;
    svg.setFileName(path);
    svg.setSize(size);
    svg.setViewBox(QRect(QPoint(0, 0), size));
    svg.setTitle(plot->windowTitle());
    // Fonts are in points: at the generator's default 72 dpi text would come out smaller
    // than on screen.
    svg.setResolution(plot->logicalDpiX());
    QCPPainter painter;
    if (!painter.begin(&svg))
        return false;
    painter.setMode(QCPPainter::pmVectorized);
    // toPainter leaves solid backgrounds to the caller; white is QCustomPlot's default
    // (it has no getter for the background brush).
    painter.fillRect(QRect(QPoint(0, 0), size), Qt::white);
    plot->toPainter(&painter, size.width(), size.height());
    return painter.end();
}

}  // namespace

bool isPlotImageSuffix(const QString& suffix) {
    const QString s = suffix.toLower();
    return s == "png" || s == "pdf" || s == "svg";
}

bool savePlotImage(QCustomPlot* plot, const QString& path, QSize size, QString* error) {
    if (size.isEmpty())
        size = plot->size();
    const QString suffix = QFileInfo(path).suffix().toLower();
    bool ok = false;
    if (suffix == "png")
        ok = plot->savePng(path, size.width(), size.height());
    else if (suffix == "pdf")
        ok = plot->savePdf(path, size.width(), size.height());
    else if (suffix == "svg")
        ok = saveSvg(plot, path, size);
    else if (error) {
        *error = QStringLiteral("%1: unknown image format (use .png, .pdf or .svg)").arg(path);
        return false;
    }
    if (!ok && error)
        *error = QStringLiteral("%1: could not write the file").arg(path);
    return ok;
}

}  // namespace ls::widgets
