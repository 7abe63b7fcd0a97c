// Widgets, offscreen: what the histogram view draws and
// exports (bars, ranges, PNG pixels, SVG/PDF magic, CSV rows), ETA text, summary table,
// progress bar, the token preview's boxes and pixels, the training curve's graphs.
#include <QDir>
#include <array>
#include <QFile>
#include <QImage>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QVBoxLayout>
#include <QScrollBar>
#include <QSignalSpy>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>
#include <cmath>
#include <limits>
#include <numeric>
#include <qcustomplot.h>
#include <random>

#include "common/progress.h"
#include "kit/forms.h"
#include "kit/palette.h"
#include "kit/plot_theme.h"
#include "generation_view.h"
#include "model/model_folder.h"
#include "loss_histogram_view.h"
#include "plot_export.h"
#include "model_summary_view.h"
#include "task_progress_bar.h"
#include "token_preview_view.h"
#include "test_support.h"
#include "training_curve_view.h"
#include "widget_test_support.h"

using namespace ls::widgets;

namespace {

// Loss-like values: a gamma distribution (mean 2.5 nats), fixed seed.
std::vector<float> sampleLosses(int n) {
    std::mt19937 rng(1234);
    std::gamma_distribution<float> gamma(2.0f, 1.25f);
    std::vector<float> v(n);
    for (float& x : v)
        x = gamma(rng);
    return v;
}

// The centre of bin i, as the view draws it.
double binCentre(const ls::Histogram& h, int i) { return 0.5 * (h.edge(i) + h.edge(i + 1)); }
double tallestBin(const ls::Histogram& h) { return double(*std::max_element(h.counts.begin(), h.counts.end())); }

// Colour vision: Machado, Oliveira & Fernandes (2009), full severity, on linear sRGB; then
// CIELAB (D65) to measure how far apart two colours look (CIE76 delta E) and how light one is.
using Matrix3 = std::array<std::array<double, 3>, 3>;
const std::pair<const char*, Matrix3> kColourVisions[] = {
    {"typical", {{{1, 0, 0}, {0, 1, 0}, {0, 0, 1}}}},
    {"protanopia", {{{0.152286, 1.052583, -0.204868}, {0.114503, 0.786281, 0.099216}, {-0.003882, -0.048116, 1.051998}}}},
    {"deuteranopia", {{{0.367322, 0.860646, -0.227968}, {0.280085, 0.672501, 0.047413}, {-0.011820, 0.042940, 0.968881}}}},
    {"tritanopia", {{{1.255528, -0.076749, -0.178779}, {-0.078411, 0.930809, 0.147602}, {0.004733, 0.691367, 0.303900}}}},
};

std::array<double, 3> labAsSeen(const QColor& c, const Matrix3& vision) {
    auto linear = [](double v) { return v <= 0.04045 ? v / 12.92 : std::pow((v + 0.055) / 1.055, 2.4); };
    const double rgb[3] = {linear(c.redF()), linear(c.greenF()), linear(c.blueF())};
    double seen[3];
    for (int i = 0; i < 3; ++i)
        seen[i] = std::clamp(vision[i][0] * rgb[0] + vision[i][1] * rgb[1] + vision[i][2] * rgb[2], 0.0, 1.0);
    const double xyz[3] = {(0.4124 * seen[0] + 0.3576 * seen[1] + 0.1805 * seen[2]) / 0.95047,
                           0.2126 * seen[0] + 0.7152 * seen[1] + 0.0722 * seen[2],
                           (0.0193 * seen[0] + 0.1192 * seen[1] + 0.9505 * seen[2]) / 1.08883};
    double f[3];
    for (int i = 0; i < 3; ++i)
        f[i] = xyz[i] > std::pow(6.0 / 29, 3) ? std::cbrt(xyz[i]) : xyz[i] / (3 * std::pow(6.0 / 29, 2)) + 4.0 / 29;
    return {116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])};
}

double deltaE(const std::array<double, 3>& a, const std::array<double, 3>& b) {
    return std::sqrt(std::pow(a[0] - b[0], 2) + std::pow(a[1] - b[1], 2) + std::pow(a[2] - b[2], 2));
}

}  // namespace

class TestWidgets : public QObject {
    Q_OBJECT
private slots:
    void eta_data();
    void eta();

    void histogramDrawsBins();
    void histogramRebinsAndLogY();
    void histogramEmpty();
    void exportPng();
    void exportSvgAndPdf();
    void exportCsv();
    void exportFigureSizeAndDpi();
    void exportReplacesAtomically();
    void exportUnknownSuffix();
    void darkThemeCharts();
    void seriesColoursStayApartForColourBlindness();
    void colourScalesRunInLightness();

    void summaryTable();
    void progressBar();

    void visibleWhitespace_data();
    void visibleWhitespace();
    void previewBoxes();
    void previewWrapsAndHitTests();
    void previewPaintsAlternatingBoxes();
    void trainingCurveGraphs();
    void spinTakesTheWheelOnlyWhenFocused();
    void trainingCurveExport();
    void generationColumnsStream();
};

// ---- ETA ---------------------------------------------------------------------------------

void TestWidgets::eta_data() {
    addColumns<double>({"elapsed", "fraction"});
    QTest::addColumn<QString>("text");

    QTest::newRow("half done after 10 s") << 10.0 << 0.5 << "~10 s left";
    QTest::newRow("rounds up") << 10.0 << 0.6 << "~7 s left";  // 6.67 s
    QTest::newRow("minutes") << 30.0 << 0.25 << "~1 min 30 s left";
    QTest::newRow("zero-padded seconds") << 65.0 << 0.5 << "~1 min 05 s left";
    QTest::newRow("hours") << 3600.0 << 0.5 << "~1 h 00 min left";
    QTest::newRow("done") << 12.0 << 1.0 << "~0 s left";
    QTest::newRow("nothing done yet") << 10.0 << 0.0 << "";
    QTest::newRow("too early to tell") << 0.5 << 0.5 << "";
}

void TestWidgets::eta() {
    QFETCH(double, elapsed);
    QFETCH(double, fraction);
    QFETCH(QString, text);
    QCOMPARE(QString::fromStdString(ls::formatSecondsLeft(ls::secondsLeft(elapsed, fraction))), text);
}

// ---- histogram view --------------------------------------------------------------------

void TestWidgets::histogramDrawsBins() {
    const std::vector<float> losses = sampleLosses(1000);
    LossHistogramView view;
    view.resize(800, 500);
    view.setBinCount(25);
    view.setLosses(losses);

    // The bars hold one data point per bin, at the bin centers, with the bin counts.
    QCPBars* bars = view.bars();
    QCOMPARE(bars->data()->size(), 25);
    double sum = 0;
    int i = 0;
    for (auto it = bars->data()->constBegin(); it != bars->data()->constEnd(); ++it, ++i) {
        QCOMPARE_NEAR(it->key, binCentre(view.bins(), i), 0, 0);  // copied into the plot: exact
        QCOMPARE_NEAR(it->value, double(view.bins().counts[i]), 0, 0);
        sum += it->value;
    }
    QCOMPARE_NEAR(sum, 1000.0, 0, 0);  // a sum of whole numbers: exact
    QCOMPARE_NEAR(bars->width(), view.bins().binWidth(), 0, 0);

    // The axes show all of the data.
    const auto [mn, mx] = std::minmax_element(losses.begin(), losses.end());
    const QCPRange x = view.plot()->xAxis->range();
    QVERIFY(x.lower <= *mn && x.upper >= *mx);
    const QCPRange y = view.plot()->yAxis->range();
    QCOMPARE_NEAR(y.lower, 0.0, 0, 0);  // set to 0, not computed
    QVERIFY(y.upper >= tallestBin(view.bins()));

    // Summary numbers from the data it was given.
    const double mean = std::accumulate(losses.begin(), losses.end(), 0.0) / losses.size();  // in double
    QCOMPARE(view.summary().count, int64_t(1000));
    QCOMPARE_NEAR(view.summary().mean, mean, 1e-12, 0);  // its sum vs std::accumulate: float64 rounding
    QVERIFY(view.summaryText().contains("PPL"));
    QVERIFY(view.summaryText().contains(QString::number(std::exp(mean), 'f', 2)));
}

void TestWidgets::histogramRebinsAndLogY() {
    LossHistogramView view;
    view.setLosses(sampleLosses(500));
    view.setBinCount(40);
    QCOMPARE(view.bars()->data()->size(), 40);
    QCOMPARE(view.bins().total(), int64_t(500));

    view.setLogY(true);
    QCPAxis* y = view.plot()->yAxis;
    QCOMPARE(y->scaleType(), QCPAxis::stLogarithmic);
    QVERIFY(y->range().lower > 0 && y->range().lower <= 1);  // a bar of 1 token still shows
    QVERIFY(y->range().upper >= tallestBin(view.bins()));

    view.setLogY(false);
    QCOMPARE(y->scaleType(), QCPAxis::stLinear);
    QCOMPARE_NEAR(y->range().lower, 0.0, 0, 0);  // set to 0, not computed
}

void TestWidgets::histogramEmpty() {
    LossHistogramView view;
    view.setLosses({1, 2, 3});
    QVERIFY(view.hasData());
    view.clear();
    QVERIFY(!view.hasData());
    QCOMPARE(view.bars()->data()->size(), 0);
    QCOMPARE(view.summary().count, int64_t(0));
    QVERIFY(!view.summaryText().contains("PPL"));

    // Non-finite losses are left out of the bins and the summary, and counted.
    view.setLosses({1, std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(), 3});
    QCOMPARE(view.summary().count, int64_t(2));
    QCOMPARE_NEAR(view.summary().mean, 2.0, 0, 0);  // (1 + 3) / 2: exact
    QCOMPARE(view.bins().total(), int64_t(2));
    QVERIFY2(view.summaryText().contains("2 non-finite left out"), qPrintable(view.summaryText()));
}

void TestWidgets::exportPng() {
    QTemporaryDir dir;
    LossHistogramView view;
    view.setLosses(sampleLosses(2000));
    const QString path = dir.filePath("hist.png");
    QString error;
    QVERIFY2(view.exportTo(path, QSize(640, 400), &error), qPrintable(error));

    const QImage image(path);
    QCOMPARE(image.size(), QSize(640, 400));
    // Something was drawn on the white background, and a good part of it is the blue bars.
    const int nonWhite = countPixels(image, [](const QColor& c) { return c != Qt::white; });
    const int bluish =
        countPixels(image, [](const QColor& c) { return c.blue() > c.red() + 40 && c.blue() > c.green() + 20; });
    const int pixels = 640 * 400;
    QVERIFY2(nonWhite > pixels / 20, qPrintable(QString("only %1 non-white pixels").arg(nonWhite)));
    QVERIFY2(bluish > pixels / 20, qPrintable(QString("only %1 bar-coloured pixels").arg(bluish)));
}

void TestWidgets::exportSvgAndPdf() {
    QTemporaryDir dir;
    LossHistogramView view;
    view.setLosses(sampleLosses(2000));
    QString error;

    const QString svgPath = dir.filePath("hist.svg");
    QVERIFY2(view.exportTo(svgPath, QSize(640, 400), &error), qPrintable(error));
    const QByteArray svg = readAll(svgPath);
    QVERIFY(svg.startsWith("<?xml"));
    QVERIFY(svg.contains("<svg"));
    QVERIFY(svg.contains("viewBox=\"0 0 640 400\""));  // the requested size
    QVERIFY(svg.size() > 5000);              // bars, ticks and labels, not an empty page

    const QString pdfPath = dir.filePath("hist.pdf");
    QVERIFY2(view.exportTo(pdfPath, QSize(640, 400), &error), qPrintable(error));
    const QByteArray pdf = readAll(pdfPath);
    QVERIFY(pdf.startsWith("%PDF-"));
    QVERIFY(pdf.size() > 1000);
}

// A figure of 85 x 60 mm: the PNG has that size at its dpi (and says so), the PDF page and the
// SVG are that size.
void TestWidgets::exportFigureSizeAndDpi() {
    QTemporaryDir dir;
    LossHistogramView view;
    view.setLosses(sampleLosses(2000));
    const ls::widgets::FigureSize figure{85, 60, 600};
    QString error;
    const QString png = dir.filePath("hist.png");
    QVERIFY2(ls::widgets::savePlotImage(view.plot(), png, figure, &error), qPrintable(error));
    const QImage image(png);
    // 85 mm at 600 dpi = 2008 px; laid out in whole pixels at 96 dpi, so within 0.5 %.
    QCOMPARE_NEAR(image.width(), 85 / 25.4 * 600, 0, 0.005);
    QCOMPARE_NEAR(image.height(), 60 / 25.4 * 600, 0, 0.005);
    QCOMPARE_NEAR(image.dotsPerMeterX() * 0.0254, 600.0, 0.5, 0);
    // Drawn, not blank: a good share of non-white pixels.
    int ink = 0;
    for (int y = 0; y < image.height(); y += 8)
        for (int x = 0; x < image.width(); x += 8) ink += image.pixelColor(x, y) != Qt::white;
    QVERIFY2(ink > (image.width() / 8) * (image.height() / 8) / 50, qPrintable(QString::number(ink)));

    const QString pdf = dir.filePath("hist.pdf");
    QVERIFY2(ls::widgets::savePlotImage(view.plot(), pdf, figure, &error), qPrintable(error));
    const QByteArray bytes = readAll(pdf);
    const QRegularExpressionMatch box =
        QRegularExpression(R"(/MediaBox \[\s*0\s+0\s+([0-9.]+)\s+([0-9.]+)\s*\])").match(QString::fromLatin1(bytes));
    QVERIFY2(box.hasMatch(), bytes.left(600).constData());
    QCOMPARE_NEAR(box.captured(1).toDouble(), 85 / 25.4 * 72, 0, 0.01);  // points
    QCOMPARE_NEAR(box.captured(2).toDouble(), 60 / 25.4 * 72, 0, 0.01);

    const QString svg = dir.filePath("hist.svg");
    QVERIFY2(ls::widgets::savePlotImage(view.plot(), svg, figure, &error), qPrintable(error));
    const QString text = QString::fromUtf8(readAll(svg));
    const QRegularExpressionMatch size = QRegularExpression(R"(width="([0-9.]+)mm" height="([0-9.]+)mm")").match(text);
    QVERIFY2(size.hasMatch(), qPrintable(text.left(600)));
    QCOMPARE_NEAR(size.captured(1).toDouble(), 85.0, 0, 0.01);
    QCOMPARE_NEAR(size.captured(2).toDouble(), 60.0, 0, 0.01);
}

// On a dark window the chart's paper colours are swapped for dark ones before it is drawn; an
// export is on paper again, and the screen gets its dark colours back.
void TestWidgets::darkThemeCharts() {
    QPalette dark;
    dark.setColor(QPalette::Window, QColor(50, 53, 56));
    dark.setColor(QPalette::Base, QColor(37, 40, 43));
    LossHistogramView view;
    view.setPalette(dark);
    view.setLosses(sampleLosses(2000));
    QCustomPlot* plot = view.plot();
    QCOMPARE(screenColours(plot), ChartColours::Dark);
    plot->replot();
    QVERIFY2(plot->xAxis->tickLabelColor().lightness() > 200, qPrintable(plot->xAxis->tickLabelColor().name()));
    QVERIFY(plot->xAxis->basePen().color().lightness() > 200);
    const QImage screen = plot->toPixmap(400, 300).toImage();
    QVERIFY2(screen.pixelColor(2, 2).lightness() < 60, qPrintable(screen.pixelColor(2, 2).name()));

    QTemporaryDir dir;
    const QString path = dir.filePath("hist.png");
    QString error;
    QVERIFY2(savePlotImage(plot, path, QSize(400, 300), &error), qPrintable(error));
    const QImage figure(path);
    QCOMPARE(figure.pixelColor(2, 2), QColor(Qt::white));
    // Dark ink on it: the darkest pixels are the axes and labels.
    const int ink = countPixels(figure, [](const QColor& c) { return c.lightness() < 60; });
    QVERIFY2(ink > 200, qPrintable(QString::number(ink)));

    plot->replot();  // the screen's colours again
    QVERIFY(plot->xAxis->tickLabelColor().lightness() > 200);
    // Swapping twice changes nothing; swapping back gives the paper colours exactly.
    recolourChart(plot, ChartColours::Dark);
    QVERIFY(plot->xAxis->tickLabelColor().lightness() > 200);
    recolourChart(plot, ChartColours::Paper);
    QCOMPARE(plot->xAxis->tickLabelColor(), QColor(Qt::black));

    // A light window keeps the paper colours.
    LossHistogramView light;
    QPalette paper;
    paper.setColor(QPalette::Window, QColor(239, 239, 239));
    light.setPalette(paper);
    QCOMPARE(screenColours(light.plot()), ChartColours::Paper);
    // And the text helpers read on either.
    for (const QPalette& window : {dark, paper}) {
        const QColor base = window.color(QPalette::Base);
        for (const QColor& c : {palette::kBlue, palette::kOrange, palette::kSkyBlue, palette::kVermillion}) {
            const QColor text = palette::readableText(c, window);
            // WCAG 2 contrast ratio: relative luminance from linear sRGB.
            auto luminance = [](const QColor& q) {
                const double y = labAsSeen(q, kColourVisions[0].second)[0];  // L* back to Y
                return y > 8 ? std::pow((y + 16) / 116, 3) : y / 903.3;
            };
            const double ratio = (std::max(luminance(text), luminance(base)) + 0.05) /
                                 (std::min(luminance(text), luminance(base)) + 0.05);
            QVERIFY2(ratio >= 4.4, qPrintable(QStringLiteral("%1 on %2: %3:1").arg(text.name(), base.name()).arg(ratio)));
        }
    }
}

// The chart series (in their order) stay apart for each common colour-vision deficiency: CIE76
// delta E >= 15 between every two of them (Okabe-Ito's palette is made for this).
void TestWidgets::seriesColoursStayApartForColourBlindness() {
    constexpr int kSeries = 7;
    for (const auto& [name, vision] : kColourVisions) {
        double closest = 1e9;
        QString pair;
        for (int i = 0; i < kSeries; ++i)
            for (int j = i + 1; j < kSeries; ++j) {
                const double d = deltaE(labAsSeen(palette::series(i), vision), labAsSeen(palette::series(j), vision));
                if (d < closest) {
                    closest = d;
                    pair = palette::series(i).name() + " / " + palette::series(j).name();
                }
            }
        QVERIFY2(closest >= 15, qPrintable(QStringLiteral("%1: %2 only %3 apart").arg(name, pair).arg(closest)));
    }
}

// Colour scales read by lightness alone, so they survive grey print and colour blindness: the
// sequential scale gets darker all the way (after its white zero), the diverging one is
// lightest at its centre and darker towards either end, for every colour vision.
void TestWidgets::colourScalesRunInLightness() {
    const QCPRange unit(0, 1);
    constexpr int kSteps = 60;
    for (const auto& [name, vision] : kColourVisions) {
        QCPColorGradient sequential = palette::sequentialGradient();  // color() is not const
        double previous = 101;
        for (int k = 1; k <= kSteps; ++k) {
            const double t = 0.01 + 0.99 * k / kSteps;
            const double l = labAsSeen(QColor::fromRgb(sequential.color(t, unit)), vision)[0];
            QVERIFY2(l < previous + 0.5, qPrintable(QStringLiteral("%1: sequential L* %2 at %3 after %4").arg(name).arg(l).arg(t).arg(previous)));
            previous = l;
        }
        QVERIFY2(previous < 25, qPrintable(QStringLiteral("%1: darkest L* %2").arg(name).arg(previous)));

        QCPColorGradient diverging = palette::divergingGradient();
        const double centre = labAsSeen(QColor::fromRgb(diverging.color(0.5, unit)), vision)[0];
        for (int side : {-1, 1}) {
            double last = centre;
            for (int k = 1; k <= kSteps / 2; ++k) {
                const double t = 0.5 + side * 0.5 * k / (kSteps / 2);
                const double l = labAsSeen(QColor::fromRgb(diverging.color(t, unit)), vision)[0];
                QVERIFY2(l < last + 0.5, qPrintable(QStringLiteral("%1: diverging L* %2 at %3 after %4").arg(name).arg(l).arg(t).arg(last)));
                last = l;
            }
            QVERIFY2(centre - last > 60, qPrintable(QStringLiteral("%1: diverging ends only %2 below the centre").arg(name).arg(centre - last)));
        }
    }
}

void TestWidgets::exportCsv() {
    QTemporaryDir dir;
    LossHistogramView view;
    view.setBinCount(12);
    view.setLosses(sampleLosses(777));
    const QString path = dir.filePath("hist.csv");
    QString error;
    QVERIFY2(view.exportTo(path, {}, &error), qPrintable(error));

    const QStringList lines = QString::fromUtf8(readAll(path)).split('\n', Qt::SkipEmptyParts);
    QCOMPARE(lines.size(), 1 + 12);
    QCOMPARE(lines[0], QString("bin_lo,bin_hi,count"));
    qint64 total = 0;
    for (int i = 0; i < 12; ++i) {
        const QStringList cells = lines[i + 1].split(',');
        QCOMPARE(cells.size(), 3);
        QCOMPARE_NEAR(cells[0].toDouble(), view.bins().edge(i), 0, 0);  // shortest round-trip text: exact
        QCOMPARE_NEAR(cells[1].toDouble(), view.bins().edge(i + 1), 0, 0);
        QCOMPARE(cells[2].toLongLong(), qint64(view.bins().counts[i]));
        total += cells[2].toLongLong();
    }
    QCOMPARE(total, qint64(777));
}

void TestWidgets::exportReplacesAtomically() {
    // Figures are painted into "<name>.partial.<suffix>" and renamed over the old file: the
    // folder holds the old figure or the new one, and no temporary file afterwards.
    QTemporaryDir dir;
    LossHistogramView view;
    view.setLosses(sampleLosses(500));
    for (const QString suffix : {"png", "pdf", "svg"}) {
        const QString path = dir.filePath("fig." + suffix);
        {
            QFile old(path);
            QVERIFY(old.open(QIODevice::WriteOnly));
            old.write("the previous figure");
        }
        QString error;
        QVERIFY2(view.exportTo(path, QSize(320, 200), &error), qPrintable(error));
        QVERIFY(readAll(path) != "the previous figure");
        QVERIFY(readAll(path).size() > 500);
        QCOMPARE(QDir(dir.path()).entryList({"*.partial*"}, QDir::Files), QStringList());
    }
    // A failed export (folder missing) leaves nothing behind either.
    QString error;
    QVERIFY(!view.exportTo(dir.filePath("missing-dir/fig.png"), {}, &error));
    QVERIFY(error.contains("fig.png"));
}

void TestWidgets::exportUnknownSuffix() {
    QTemporaryDir dir;
    LossHistogramView view;
    view.setLosses({1, 2});
    QString error;
    QVERIFY(!view.exportTo(dir.filePath("hist.bmpx"), {}, &error));
    QVERIFY(error.contains("hist.bmpx"));
    QVERIFY(!view.exportTo(dir.filePath("missing-dir/hist.csv"), {}, &error));
    QVERIFY(error.contains("hist.csv"));
}

// ---- summary table and progress bar ----------------------------------------------------

void TestWidgets::summaryTable() {
    ModelSummaryView view;
    view.setSections({{"Model", {{"Architecture", "GPT-2"}, {"Layers", "12"}}},
                      {"Dataset", {{"Tokens", "5,000"}}}});
    QCOMPARE(view.table()->rowCount(), 2 + 2 + 1);  // two titles, three rows
    QCOMPARE(view.table()->item(2, 0)->text(), QString("Layers"));
    QCOMPARE(view.table()->item(2, 1)->text(), QString("12"));
    QCOMPARE(view.table()->columnSpan(0, 0), 2);  // section title spans the table
    QCOMPARE(view.toText(), QString("Model\nArchitecture: GPT-2\nLayers: 12\nDataset\nTokens: 5,000"));
    view.clear();
    QCOMPARE(view.table()->rowCount(), 0);
}

void TestWidgets::progressBar() {
    TaskProgressBar bar;
    QSignalSpy cancel(&bar, &TaskProgressBar::cancelRequested);
    QVERIFY(!bar.isActive());
    bar.start("Evaluating");
    QVERIFY(bar.isActive());
    QCOMPARE(bar.stageText(), QString("Evaluating"));

    bar.setProgress(0.25, "window 3/12");
    QCOMPARE_NEAR(bar.fraction(), 0.25, 1e-12, 0);  // 250 of the bar's 1000 steps
    QCOMPARE(bar.stageText(), QString("window 3/12"));
    QCOMPARE(bar.etaText(), QString());  // less than a second in: no estimate yet
    bar.setProgress(0.5, "");
    QCOMPARE(bar.stageText(), QString("Evaluating"));  // empty stage falls back to the title

    auto* button = bar.findChild<QPushButton*>();
    QVERIFY(button);
    button->click();
    QCOMPARE(cancel.count(), 1);
    QVERIFY(!button->isEnabled());
    bar.setProgress(0.6, "window 7/12");
    QVERIFY(bar.stageText().startsWith("Canceling"));  // stays until the task ends

    bar.finish();
    QVERIFY(!bar.isActive());
}

// ---- token preview ---------------------------------------------------------------------

void TestWidgets::visibleWhitespace_data() {
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("label");
    QTest::newRow("word") << "cat" << "cat";
    QTest::newRow("leading space") << " the" << QString::fromUtf8("·the");
    QTest::newRow("newline") << "\n" << QString::fromUtf8("↵");
    QTest::newRow("CRLF") << "\r\n" << QString::fromUtf8("↵");
    QTest::newRow("tab and spaces") << "\t  x" << QString::fromUtf8("→··x");
    QTest::newRow("empty") << "" << QString::fromUtf8("∅");
}

void TestWidgets::visibleWhitespace() {
    QFETCH(QString, text);
    QFETCH(QString, label);
    QCOMPARE(TokenPreviewView::visibleWhitespace(text), label);
}

namespace {

// Two windows: "Hello world\n" + "Next" and one context token + "x".
QList<PreviewWindow> sampleWindows() {
    PreviewWindow first{"Window 1", {}, {}};
    first.tokens = {{"Hello", 15496, "id 15496", true},
                    {" world", 995, "id 995", false},
                    {"\n", 198, "id 198", false},
                    {"Next", 10019, "id 10019", false}};
    PreviewWindow second{"Window 2", {{"a", 1, "id 1", true}, {" x", 2, "id 2", false}}, "… 3 more tokens"};
    return {first, second};
}

}  // namespace

void TestWidgets::previewBoxes() {
    TokenPreviewView view;
    view.resize(600, 300);
    view.show();  // lays the viewport out
    QVERIFY(QTest::qWaitForWindowExposed(&view));
    view.setWindows(sampleWindows());

    // One box per token, in order, with visible whitespace.
    const QVector<TokenPreviewView::Box>& boxes = view.boxes();
    QCOMPARE(boxes.size(), 6);
    QStringList labels;
    for (const auto& box : boxes)
        labels << box.label;
    QCOMPARE(labels, QStringList({"Hello", QString::fromUtf8("·world"), QString::fromUtf8("↵"), "Next", "a",
                                  QString::fromUtf8("·x")}));
    QCOMPARE(boxes[1].window, 0);
    QCOMPARE(boxes[1].token, 1);
    QCOMPARE(boxes[4].window, 1);
    QCOMPARE(boxes[4].token, 0);

    // Same row until the newline token, which ends it; boxes do not overlap.
    QCOMPARE(boxes[1].rect.top(), boxes[0].rect.top());
    QCOMPARE(boxes[2].rect.top(), boxes[0].rect.top());
    QVERIFY(boxes[1].rect.left() > boxes[0].rect.right());
    QVERIFY(boxes[3].rect.top() > boxes[2].rect.bottom());
    QCOMPARE(boxes[3].rect.left(), boxes[0].rect.left());
    // The second window starts below the first (after its title).
    QVERIFY(boxes[4].rect.top() > boxes[3].rect.bottom() + view.fontMetrics().height());
    // Each box is wide enough for its label.
    for (const auto& box : boxes)
        QVERIFY2(box.rect.width() >= view.fontMetrics().horizontalAdvance(box.label), qPrintable(box.label));

    view.clear();
    QCOMPARE(view.boxes().size(), 0);
}

void TestWidgets::previewWrapsAndHitTests() {
    TokenPreviewView view;
    QVERIFY(showExposed(view, 200, 400));
    PreviewWindow window{"w", {}, {}};
    for (int i = 0; i < 200; ++i)
        window.tokens.append({QStringLiteral(" tok%1").arg(i), i, QStringLiteral("id %1").arg(i), false});
    view.setWindows({window});

    // Rows wrap within the viewport and fill it.
    QCOMPARE(view.boxes().size(), 200);
    QSet<int> rows;
    for (const auto& box : view.boxes()) {
        QVERIFY(box.rect.right() < view.viewport()->width());
        rows.insert(box.rect.top());
    }
    QVERIFY(rows.size() > 5);
    QVERIFY(view.contentHeight() > view.viewport()->height());  // so it scrolls
    QVERIFY(view.verticalScrollBar()->maximum() > 0);

    // Hit tests follow the scroll position.
    const QRect third = view.boxes()[2].rect;
    QCOMPARE(view.boxAt(third.center()), 2);
    QCOMPARE(view.boxAt(QPoint(1, 1)), -1);
    view.verticalScrollBar()->setValue(view.verticalScrollBar()->maximum());
    const auto& last = view.boxes().last();
    QCOMPARE(view.boxAt(last.rect.center() - QPoint(0, view.verticalScrollBar()->value())), 199);
}

void TestWidgets::previewPaintsAlternatingBoxes() {
    TokenPreviewView view;
    PreviewWindow window{"Window 1", {}, {}};
    for (const char* word : {"alpha", "beta", "gamma", "delta"})
        window.tokens.append({QString::fromLatin1(word), 0, {}, false});
    QVERIFY(showExposed(view, 600, 200));
    view.setWindows({window});
    const QImage image = view.viewport()->grab().toImage();

    // A pixel inside each box, left of its text, has one of two fills that alternate.
    QList<QColor> fills;
    for (const auto& box : view.boxes())
        fills << image.pixelColor(box.rect.left() + 2, box.rect.center().y());
    QVERIFY2(fills[0] != Qt::white && fills[1] != Qt::white, "boxes are filled");
    QVERIFY(fills[0] != fills[1]);
    QCOMPARE(fills[2], fills[0]);
    QCOMPARE(fills[3], fills[1]);
    // Between two boxes the background shows.
    const QRect a = view.boxes()[0].rect, b = view.boxes()[1].rect;
    QCOMPARE(image.pixelColor((a.right() + b.left()) / 2 + 1, a.center().y()),
             view.viewport()->palette().color(QPalette::Base));
}

// ---- training curve --------------------------------------------------------------------

void TestWidgets::trainingCurveGraphs() {
    TrainingCurveView view;
    const double nan = std::numeric_limits<double>::quiet_NaN();
    // Validation at steps 20 and 40; the best (lowest) is the second.
    const QVector<LossCurvePoint> points = {{10, 4.2, nan}, {20, 3.6, 3.7}, {30, 3.1, nan}, {40, 2.9, 3.2}};
    for (const LossCurvePoint& p : points)
        view.addPoint(p);

    QCPGraph* train = view.trainGraph();
    QCOMPARE(train->data()->size(), 4);
    int i = 0;
    for (auto it = train->data()->constBegin(); it != train->data()->constEnd(); ++it, ++i) {
        QCOMPARE_NEAR(it->key, points[i].step, 0, 0);  // the points as given: exact
        QCOMPARE_NEAR(it->value, points[i].trainLoss, 0, 0);
    }
    QCPGraph* val = view.validationGraph();
    QCOMPARE(val->data()->size(), 2);
    QCOMPARE_NEAR(val->data()->at(0)->key, 20.0, 0, 0);
    QCOMPARE_NEAR(val->data()->at(0)->value, 3.7, 0, 0);
    QCOMPARE_NEAR(val->data()->at(1)->key, 40.0, 0, 0);
    QCOMPARE(view.bestGraph()->data()->size(), 1);
    QCOMPARE_NEAR(view.bestGraph()->data()->at(0)->key, 40.0, 0, 0);
    QCOMPARE_NEAR(view.bestGraph()->data()->at(0)->value, 3.2, 0, 0);

    // A worse validation keeps the best where it was.
    view.addPoint({50, 2.8, 3.5});
    QCOMPARE_NEAR(view.bestGraph()->data()->at(0)->key, 40.0, 0, 0);

    // The axes show all points: steps from 0, losses with some room.
    const QCPRange x = view.plot()->xAxis->range(), y = view.plot()->yAxis->range();
    QCOMPARE_NEAR(x.lower, 0.0, 0, 0);  // set to 0, not computed
    QVERIFY(x.upper >= 50);
    QVERIFY(y.lower >= 0 && y.lower < 2.8);
    QVERIFY(y.upper > 4.2);

    view.clear();
    QCOMPARE(view.trainGraph()->data()->size(), 0);
    QCOMPARE(view.validationGraph()->data()->size(), 0);
    QCOMPARE(view.bestGraph()->data()->size(), 0);
    QCOMPARE(view.points().size(), 0);
}

void TestWidgets::trainingCurveExport() {
    QTemporaryDir dir;
    TrainingCurveView view;
    QVector<LossCurvePoint> points;
    for (int step = 1; step <= 100; ++step)
        points.append({double(step), 5.0 * std::exp(-step / 30.0) + 1.0,
                       step % 20 == 0 ? 5.2 * std::exp(-step / 30.0) + 1.1 : std::numeric_limits<double>::quiet_NaN()});
    view.setPoints(points);
    const QString path = dir.filePath("curve.png");
    QString error;
    QVERIFY2(view.exportTo(path, QSize(640, 400), &error), qPrintable(error));
    const QImage image(path);
    QCOMPARE(image.size(), QSize(640, 400));
    // Both curves were drawn: blue (train) and orange (validation) pixels.
    const int blue =
        countPixels(image, [](const QColor& c) { return c.blue() > c.red() + 60 && c.blue() > c.green() + 20; });
    const int orange = countPixels(
        image, [](const QColor& c) { return c.red() > 180 && c.green() > 60 && c.green() < 140 && c.blue() < 60; });
    QVERIFY2(blue > 300, qPrintable(QString("only %1 train-curve pixels").arg(blue)));
    QVERIFY2(orange > 100, qPrintable(QString("only %1 validation-curve pixels").arg(orange)));
}

// A wheel over a spin box in a scrolling panel scrolls the panel until the box is focused.
void TestWidgets::spinTakesTheWheelOnlyWhenFocused() {
    QScrollArea area;
    auto* content = new QWidget;
    auto* layout = new QVBoxLayout(content);
    QSpinBox* spin = ls::widgets::makeSpin(content, "spin", 0, 100, 50, {});
    layout->addWidget(spin);
    layout->addSpacing(3000);  // taller than the area: it scrolls
    area.setWidget(content);
    area.resize(200, 200);
    area.show();
    QVERIFY(QTest::qWaitForWindowExposed(&area));
    auto wheel = [&] {
        const QPoint at = spin->rect().center();
        QWheelEvent event(at, spin->mapToGlobal(at), QPoint(), QPoint(0, -120), Qt::NoButton, Qt::NoModifier,
                          Qt::NoScrollPhase, false);
        QApplication::sendEvent(spin, &event);
        return event.isAccepted();
    };
    area.setFocus();  // not the spin box (the only field, it took the focus as the window showed)
    QTRY_VERIFY(!spin->hasFocus());
    // Ignored: Qt hands a wheel from the mouse on to the parent, the scroll area (an event sent
    // like this one is not passed on, so the scrolling itself is not seen here).
    QVERIFY(!wheel());
    QCOMPARE(spin->value(), 50);
    spin->setFocus();
    QTRY_VERIFY(spin->hasFocus());
    QVERIFY(wheel());
    QCOMPARE(spin->value(), 49);
}

// ---- generation ------------------------------------------------------------------------------

// The Generation tab while a run goes: a column shows its continuation as it grows, then with its
// numbers once finished; the finished result replaces the live ones.
void TestWidgets::generationColumnsStream() {
    ls::widgets::GenerationView view;
    view.beginRun({"baseline", "relu:L0H1"});
    ls::GenerationProgress growing;
    growing.continuation.condition = 1;
    growing.continuation.ids = {4, 5, 6};
    growing.continuation.text = "four five six";
    growing.finished = false;
    growing.promptText = "one two three";
    view.addContinuation(growing);
    QCOMPARE(view.columnText(0), QStringLiteral("(not generated yet)"));
    QVERIFY2(view.columnText(1).contains("four five six") && view.columnText(1).contains("generating… 3 tokens"),
             qPrintable(view.columnText(1)));
    ls::GenerationProgress done = growing;
    done.finished = true;
    done.continuation.ids = {4, 5, 6, 7};
    done.continuation.text = "four five six seven";
    done.continuation.pplBase = 12.5;
    done.continuation.pplSelf = 3.25;
    view.addContinuation(done);
    QVERIFY2(view.columnText(1).contains("ids: 4 5 6 7") && view.columnText(1).contains("ppl_base 12.50"),
             qPrintable(view.columnText(1)));
    QVERIFY(!view.columnText(1).contains("generating"));

    auto result = std::make_shared<ls::GenerationResult>();
    result->conditions = {{"baseline", ls::GenerationCondition::Kind::Baseline, {}}};
    result->prompts = {{"one two three", {1, 2, 3}}};
    ls::Continuation c;
    c.ids = {9};
    c.text = "nine";
    c.pplBase = c.pplSelf = 2;
    result->continuations = {c};
    result->bestOf = {1};
    ls::ModelConfig config;
    config.modelType = "gpt2";
    config.numLayers = 1;
    config.numHeads = config.numKvHeads = 1;
    config.hiddenSize = config.headDim = 4;
    config.intermediateSize = 8;
    config.vocabSize = 10;
    ls::summariseGeneration(*result, config);
    view.setResult(result);
    QVERIFY2(view.columnText(0).startsWith("nine"), qPrintable(view.columnText(0)));
    QCOMPARE(view.summaryTable()->rowCount(), 1);
}

QTEST_MAIN(TestWidgets)
#include "test_widgets.moc"
