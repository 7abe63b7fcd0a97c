#include "kit/plot_theme.h"

#include <iterator>
#include <qcustomplot.h>

#include "kit/palette.h"

namespace ls::widgets {

namespace {

// The paper colours a chart is drawn in and their dark-theme counterparts. No colour is on both
// sides, so a swap in either direction is undone only by the swap in the other.
struct ColourPair {
    QColor paper, dark;
};
const ColourPair kPairs[] = {
    {QColor(255, 255, 255), QColor(37, 40, 43)},     // the background, legend boxes, hollow markers
    {QColor(0, 0, 0), QColor(225, 225, 225)},        // ink: axes, tick labels, titles, legend text
    {QColor(200, 200, 200), QColor(78, 80, 83)},     // QCustomPlot's grid
    {QColor(220, 220, 220), QColor(62, 64, 67)},     // its sub-grid
    {QColor(60, 60, 60), QColor(195, 195, 195)},     // subtitles
    {palette::kDark, QColor(205, 208, 210)},         // the first series, splits and whiskers
    {palette::kMutedText, QColor(165, 165, 165)},    // notes in the chart
    {palette::kSelection, QColor(245, 245, 245)},    // the selected cell's frame
};

QColor swapped(const QColor& c, ChartColours to) {
    for (const ColourPair& pair : kPairs) {
        const QColor& from = to == ChartColours::Dark ? pair.paper : pair.dark;
        if (c.rgb() == from.rgb()) {  // rgb(): alpha aside
            QColor out = to == ChartColours::Dark ? pair.dark : pair.paper;
            out.setAlpha(c.alpha());
            return out;
        }
    }
    return c;
}

QPen swapped(QPen pen, ChartColours to) {
    pen.setColor(swapped(pen.color(), to));
    return pen;
}

QBrush swapped(QBrush brush, ChartColours to) {
    if (brush.style() != Qt::NoBrush)
        brush.setColor(swapped(brush.color(), to));
    return brush;
}

QCPScatterStyle swapped(QCPScatterStyle style, ChartColours to) {
    style.setPen(swapped(style.pen(), to));
    style.setBrush(swapped(style.brush(), to));
    return style;
}

void recolourAxis(QCPAxis* axis, ChartColours to) {
    axis->setBasePen(swapped(axis->basePen(), to));
    axis->setTickPen(swapped(axis->tickPen(), to));
    axis->setSubTickPen(swapped(axis->subTickPen(), to));
    axis->setLabelColor(swapped(axis->labelColor(), to));
    axis->setTickLabelColor(swapped(axis->tickLabelColor(), to));
    QCPGrid* grid = axis->grid();
    grid->setPen(swapped(grid->pen(), to));
    grid->setSubGridPen(swapped(grid->subGridPen(), to));
    grid->setZeroLinePen(swapped(grid->zeroLinePen(), to));
}

void recolourLegend(QCPLegend* legend, ChartColours to) {
    legend->setBrush(swapped(legend->brush(), to));
    legend->setBorderPen(swapped(legend->borderPen(), to));
    legend->setTextColor(swapped(legend->textColor(), to));
    for (int i = 0; i < legend->itemCount(); ++i)
        if (QCPAbstractLegendItem* item = legend->item(i))
            item->setTextColor(swapped(item->textColor(), to));
}

void recolourPlottable(QCPAbstractPlottable* plottable, ChartColours to) {
    plottable->setPen(swapped(plottable->pen(), to));
    plottable->setBrush(swapped(plottable->brush(), to));
    if (auto* graph = qobject_cast<QCPGraph*>(plottable))
        graph->setScatterStyle(swapped(graph->scatterStyle(), to));
    else if (auto* curve = qobject_cast<QCPCurve*>(plottable))
        curve->setScatterStyle(swapped(curve->scatterStyle(), to));
    else if (auto* box = qobject_cast<QCPStatisticalBox*>(plottable)) {
        box->setWhiskerPen(swapped(box->whiskerPen(), to));
        box->setWhiskerBarPen(swapped(box->whiskerBarPen(), to));
        box->setMedianPen(swapped(box->medianPen(), to));
        box->setOutlierStyle(swapped(box->outlierStyle(), to));
    }
}

void recolourItem(QCPAbstractItem* item, ChartColours to) {
    if (auto* text = qobject_cast<QCPItemText*>(item)) {
        text->setColor(swapped(text->color(), to));
        text->setPen(swapped(text->pen(), to));
        text->setBrush(swapped(text->brush(), to));
    } else if (auto* line = qobject_cast<QCPItemStraightLine*>(item)) {
        line->setPen(swapped(line->pen(), to));
    } else if (auto* segment = qobject_cast<QCPItemLine*>(item)) {
        segment->setPen(swapped(segment->pen(), to));
    } else if (auto* rect = qobject_cast<QCPItemRect*>(item)) {
        rect->setPen(swapped(rect->pen(), to));
        rect->setBrush(swapped(rect->brush(), to));
    } else if (auto* ellipse = qobject_cast<QCPItemEllipse*>(item)) {
        ellipse->setPen(swapped(ellipse->pen(), to));
        ellipse->setBrush(swapped(ellipse->brush(), to));
    } else if (auto* tracer = qobject_cast<QCPItemTracer*>(item)) {
        tracer->setPen(swapped(tracer->pen(), to));
        tracer->setBrush(swapped(tracer->brush(), to));
    }
}

}  // namespace

ChartColours screenColours(const QCustomPlot* plot) {
    return palette::isDark(plot->palette()) ? ChartColours::Dark : ChartColours::Paper;
}

void recolourChart(QCustomPlot* plot, ChartColours colours) {
    // QCustomPlot keeps no getter for its background: it is the paper's or the dark one.
    plot->setBackground(colours == ChartColours::Dark ? std::begin(kPairs)->dark : std::begin(kPairs)->paper);
    recolourLegend(plot->legend, colours);
    for (QCPLayoutElement* element : plot->plotLayout()->elements(true)) {
        if (auto* rect = qobject_cast<QCPAxisRect*>(element)) {
            for (QCPAxis* axis : rect->axes()) recolourAxis(axis, colours);
        } else if (auto* scale = qobject_cast<QCPColorScale*>(element)) {
            recolourAxis(scale->axis(), colours);
        } else if (auto* legend = qobject_cast<QCPLegend*>(element)) {
            recolourLegend(legend, colours);
        } else if (auto* text = qobject_cast<QCPTextElement*>(element)) {
            text->setTextColor(swapped(text->textColor(), colours));
        }
    }
    for (int i = 0; i < plot->plottableCount(); ++i) recolourPlottable(plot->plottable(i), colours);
    for (int i = 0; i < plot->itemCount(); ++i) recolourItem(plot->item(i), colours);
}

void followWindowTheme(QCustomPlot* plot) {
    // Views set paper colours whenever they update; the swap runs after them, before drawing.
    QObject::connect(plot, &QCustomPlot::beforeReplot, plot, [plot] { recolourChart(plot, screenColours(plot)); });
}

}  // namespace ls::widgets
