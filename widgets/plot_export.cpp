#include "plot_export.h"

#include <cstdio>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QSvgGenerator>
#include <qcustomplot.h>

#include "kit/plot_style.h"

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
    if (!isPlotImageSuffix(suffix)) {
        if (error)
            *error = QStringLiteral("%1: unknown image format (use .png, .pdf or .svg)").arg(path);
        return false;
    }
    // Painted into "<name>.partial.<suffix>" next to it, then renamed over path: a stop at
    // any moment leaves the previous figure or the new one, never half a file.
    const QFileInfo info(path);
    const QString partial = info.dir().filePath(info.completeBaseName() + ".partial." + info.suffix());
    QFile::remove(partial);
    // What shows the on-screen selection stays out of the figure.
    QList<QCPLayerable*> hidden;
    for (int i = 0; i < plot->layerCount(); ++i)
        for (QCPLayerable* item : plot->layer(i)->children())
            if (item->visible() && isOnScreenOnly(item)) {
                item->setVisible(false);
                hidden << item;
            }
    bool ok = false;
    if (suffix == "png")
        ok = plot->savePng(partial, size.width(), size.height());
    else if (suffix == "pdf")
        ok = plot->savePdf(partial, size.width(), size.height());
    else
        ok = saveSvg(plot, partial, size);
    for (QCPLayerable* item : hidden) item->setVisible(true);
    if (!hidden.isEmpty()) plot->replot(QCustomPlot::rpQueuedReplot);
    ok = ok && QFileInfo(partial).size() > 0;
    // rename() over an existing file is atomic on POSIX; QFile::rename refuses to replace.
    ok = ok && std::rename(QFile::encodeName(partial).constData(), QFile::encodeName(path).constData()) == 0;
    if (!ok) {
        QFile::remove(partial);
        if (error)
            *error = QStringLiteral("%1: could not write the file").arg(path);
    }
    return ok;
}

}  // namespace ls::widgets
