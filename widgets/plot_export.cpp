#include "plot_export.h"

#include <cstdio>
#include <functional>

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QPageLayout>
#include <QPdfWriter>
#include <QSvgGenerator>
#include <qcustomplot.h>

#include "kit/plot_style.h"
#include "kit/plot_theme.h"

namespace ls::widgets {

namespace {

// QCustomPlot has no SVG export: paint it into a QSvgGenerator the way savePdf paints
// into a QPrinter (vectorized, no cached layers).
bool saveSvg(QCustomPlot* plot, const QString& path, QSize size, int dpi) {
    QSvgGenerator svg;
    svg.setFileName(path);
    svg.setSize(size);
    svg.setViewBox(QRect(QPoint(0, 0), size));
    svg.setTitle(plot->windowTitle());
    // Fonts are in points: at the generator's default 72 dpi text would come out smaller
    // than on screen.
    svg.setResolution(dpi);
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

// A PDF page of the figure's physical size, the plot laid out at `layout` (its size at `dpi`):
// QCustomPlot's savePdf makes the page as many points as the layout has pixels.
bool savePdfPage(QCustomPlot* plot, const QString& path, QSizeF pageMm, QSize layout, int dpi) {
    QPdfWriter pdf(path);
    pdf.setPageLayout(QPageLayout(QPageSize(pageMm, QPageSize::Millimeter, QString(), QPageSize::ExactMatch),
                                  QPageLayout::Portrait, QMarginsF(0, 0, 0, 0)));
    pdf.setResolution(dpi);  // a painter unit is one layout pixel; fonts in points keep their size
    pdf.setCreator(QStringLiteral("LayerScope"));
    QCPPainter painter;
    if (!painter.begin(&pdf))
        return false;
    painter.setMode(QCPPainter::pmVectorized);
    painter.setMode(QCPPainter::pmNoCaching);
    painter.fillRect(QRect(QPoint(0, 0), layout), Qt::white);
    plot->toPainter(&painter, layout.width(), layout.height());
    return painter.end();
}

}  // namespace

bool isPlotImageSuffix(const QString& suffix) {
    const QString s = suffix.toLower();
    return s == "png" || s == "pdf" || s == "svg";
}

namespace {

constexpr double kLayoutDpi = 96.0;  // QCustomPlot lays out and sizes fonts as on a 96 dpi screen

// Paints plot into "<name>.partial.<suffix>" next to path with paint(partial), then renames it
// over path: a stop at any moment leaves the previous figure or the new one, never half a
// file. The figure is on paper whatever the screen's theme, and what shows the on-screen
// selection stays out of it.
bool writeFigure(QCustomPlot* plot, const QString& path, const std::function<bool(const QString&)>& paint,
                 QString* error) {
    const QString suffix = QFileInfo(path).suffix().toLower();
    if (!isPlotImageSuffix(suffix)) {
        if (error)
            *error = QStringLiteral("%1: unknown image format (use .png, .pdf or .svg)").arg(path);
        return false;
    }
    const QFileInfo info(path);
    const QString partial = info.dir().filePath(info.completeBaseName() + ".partial." + info.suffix());
    QFile::remove(partial);
    QList<QCPLayerable*> hidden;
    for (int i = 0; i < plot->layerCount(); ++i)
        for (QCPLayerable* item : plot->layer(i)->children())
            if (item->visible() && isOnScreenOnly(item)) {
                item->setVisible(false);
                hidden << item;
            }
    recolourChart(plot, ChartColours::Paper);
    bool ok = paint(partial);
    for (QCPLayerable* item : hidden) item->setVisible(true);
    // The screen as it was (exports lay the plot out anew); the replot brings back its colours.
    plot->replot(QCustomPlot::rpQueuedReplot);
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

}  // namespace

bool savePlotImage(QCustomPlot* plot, const QString& path, QSize size, QString* error) {
    if (size.isEmpty())
        size = plot->size();
    const QString suffix = QFileInfo(path).suffix().toLower();
    return writeFigure(plot, path, [&](const QString& partial) {
        if (suffix == "png") return plot->savePng(partial, size.width(), size.height());
        if (suffix == "pdf") return plot->savePdf(partial, size.width(), size.height());
        return saveSvg(plot, partial, size, plot->logicalDpiX());
    }, error);
}

QSize figureLayoutSize(const FigureSize& figure) {
    return QSize(qRound(figure.widthMm / 25.4 * kLayoutDpi), qRound(figure.heightMm / 25.4 * kLayoutDpi));
}

bool savePlotImage(QCustomPlot* plot, const QString& path, const FigureSize& figure, QString* error) {
    if (figure.isEmpty())
        return savePlotImage(plot, path, QSize(), error);
    const QSize layout = figureLayoutSize(figure);
    const QString suffix = QFileInfo(path).suffix().toLower();
    return writeFigure(plot, path, [&](const QString& partial) {
        if (suffix == "png")  // laid out at 96 dpi, drawn dpi / 96 times larger, the dpi in the file
            return plot->savePng(partial, layout.width(), layout.height(), figure.dpi / kLayoutDpi, -1, figure.dpi,
                                 QCP::ruDotsPerInch);
        if (suffix == "pdf")
            return savePdfPage(plot, partial, QSizeF(figure.widthMm, figure.heightMm), layout, int(kLayoutDpi));
        return saveSvg(plot, partial, layout, int(kLayoutDpi));
    }, error);
}

}  // namespace ls::widgets
