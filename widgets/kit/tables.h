#pragma once
// The result tables of the views: read-only, compact rows, columns that fit their contents.
#include <QString>
#include <QStringList>

class QBoxLayout;
class QLabel;
class QTableWidget;
class QTableWidgetItem;
class QWidget;

namespace ls::widgets {

// Numbers right-aligned, words left-aligned, short labels (ranks, heads) centred.
inline constexpr Qt::Alignment kNumberAlign = Qt::AlignRight | Qt::AlignVCenter;
inline constexpr Qt::Alignment kTextAlign = Qt::AlignLeft | Qt::AlignVCenter;
inline constexpr Qt::Alignment kCentreAlign = Qt::AlignCenter;

// A read-only table with these column headers (and header tooltips, where given): no row
// numbers, compact fixed-height rows, one whole row selected at a time, no word wrap. Its
// columns follow its width (fitColumns) whenever it is resized.
QTableWidget* makeTable(QWidget* parent, const QStringList& headers, const QStringList& headerTips = {});

// A table under its caption (a rich-text label).
struct CaptionedTable {
    QLabel* caption = nullptr;
    QTableWidget* table = nullptr;
};
// makeTable's table under a one-line caption. (A caption that may run long: a note, makeNote.)
CaptionedTable makeCaptionedTable(QWidget* parent, const QString& caption, const QStringList& headers,
                                  const QStringList& headerTips = {});
// Adds the caption and under it the table, with that stretch, to layout.
void addCaptionedTable(QBoxLayout* layout, const CaptionedTable& table, int tableStretch = 0);

// A label for text that may run long (captions, notes, details): rich text that wraps and can
// be selected.
QLabel* makeNote(QWidget* parent, const QString& text = {});

// Sets a cell's text, alignment and tooltip, reusing the cell's item when it has one (a
// table refilled for every snapshot of a running scan neither flickers nor allocates). Font,
// text colour and background are reset to the table's; returns the item to change them.
QTableWidgetItem* setCell(QTableWidget* table, int row, int column, const QString& text,
                          Qt::Alignment align = kNumberAlign, const QString& tip = {});

// Each shown column as wide as its contents plus an equal share of the spare width; when the
// contents alone are wider than the table, as wide as the contents (and the table scrolls).
// Call after filling a table (makeTable's tables refit themselves on resize).
void fitColumns(QTableWidget* table);

// The height that shows the header and `rows` rows without scrolling.
int tableHeight(const QTableWidget* table, int rows);

}  // namespace ls::widgets
