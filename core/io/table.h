#pragma once
// A named table of columns: the one form in which every analysis hands out its numbers.
// The CLI prints it, CSV and HDF5 run files store it, the GUI shows and exports it.
// Plain C++ (layerscope_base).
#include <cstdint>
#include <deque>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace ls {

struct Column {
    enum class Kind { Integer, Real, Text };
    std::string name;                // CSV header, HDF5 dataset name: "hard_ratio"
    Kind kind = Kind::Real;
    std::vector<double> numbers;     // Integer and Real columns (integers stored exactly)
    std::vector<std::string> texts;  // Text columns
    size_t size() const { return kind == Kind::Text ? texts.size() : numbers.size(); }
};

struct Table {
    std::string name;   // file stem and HDF5 group name: "cossim_layers"
    std::string title;  // for people: "Cos-sim per layer"
    std::deque<Column> columns;  // a deque: references from add() stay valid as columns are added

    size_t rows() const { return columns.empty() ? 0 : columns.front().size(); }
    // Appends an empty column and returns it.
    Column& add(const std::string& name, Column::Kind kind);
    // Throws ls::Error naming the table and the column when it is missing.
    const Column& column(const std::string& name) const;
    bool has(const std::string& name) const;
    // One cell as text: integers as integers, reals with 9 significant digits ("%.9g"),
    // NaN as "nan". full = true prints reals with 17 digits (round-trips a double).
    std::string cell(size_t column, size_t row, bool full = false) const;
};

// One cell given to addRow: a number (Integer and Real columns) or a text (Text columns).
struct Cell {
    Cell(double value) : number(value) {}
    Cell(int value) : number(value) {}  // integers by exact overloads: no narrowing warning in a brace list
    Cell(int64_t value) : number(static_cast<double>(value)) {}
    Cell(std::string value) : text(std::move(value)), isText(true) {}
    Cell(const char* value) : Cell(std::string(value)) {}
    double number = 0;
    std::string text;
    bool isText = false;
};

// Appends empty columns, in order: a table's header in one call.
void addColumns(Table& table, const std::vector<std::pair<std::string, Column::Kind>>& columns);
// Appends one row, a cell per column in column order, so that a row is one call rather than
// a push_back per column. Throws ls::Error when the count or a cell's kind does not match.
void addRow(Table& table, const std::vector<Cell>& cells);

// Header row + one line per row, comma-separated; texts with commas or quotes are quoted.
// Reals with 17 significant digits (exact round trip).
std::string toCsv(const Table& table);
// Aligned columns for a terminal, with the title above.
std::string toText(const Table& table);
// dir / (table.name + ".csv"), written atomically. Creates dir. Returns the path.
std::filesystem::path writeCsv(const Table& table, const std::filesystem::path& dir);
// The same table with only the given rows, in that order.
Table selectRows(const Table& table, const std::vector<size_t>& rows);
// Finds a table by name in a list; nullptr when absent.
const Table* findTable(const std::vector<Table>& tables, const std::string& name);
// Appends more to out (analyses adding their tables to a run's).
void appendTables(std::vector<Table>& out, std::vector<Table> more);
// The same as findTable, or ls::Error("the run has no '<name>' table").
const Table& requireTable(const std::vector<Table>& tables, const std::string& name);

}  // namespace ls
