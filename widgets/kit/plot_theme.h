#pragma once
// Charts on screen follow the window's theme; figures are always drawn on paper.
//
// The views draw in the paper colours (palette.h: white background, black ink, grey grid, the
// dark series colour, muted notes). On a dark window palette, just before each replot, every
// one of those colours in the chart (background, axes, grid, legend, titles, plottables' pens
// and brushes, items) is swapped for its dark counterpart; the data colours (Okabe-Ito series,
// colour maps) stay as they are. Exports swap back to paper first (plot_export.cpp).
class QCustomPlot;

namespace ls::widgets {

enum class ChartColours { Paper, Dark };

// Connects the swap to the plot's replots: setUpTitledPlot does it for every chart.
void followWindowTheme(QCustomPlot* plot);

// What the plot's window palette asks for on screen.
ChartColours screenColours(const QCustomPlot* plot);

// Swaps every paper colour for its dark counterpart (Dark) or back (Paper); colours that are
// neither are left alone, so doing it twice changes nothing.
void recolourChart(QCustomPlot* plot, ChartColours colours);

}  // namespace ls::widgets
