#include "io/table.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iterator>

#include "common/error.h"
#include "common/file_io.h"

namespace ls {

Column& Table::add(const std::string& columnName, Column::Kind kind) {
    columns.push_back(Column{columnName, kind, {}, {}});
    return columns.back();
}

void addColumns(Table& table, const std::vector<std::pair<std::string, Column::Kind>>& columns) {
    for (const auto& [columnName, kind] : columns) table.add(columnName, kind);
}

void addRow(Table& table, const std::vector<Cell>& cells) {
    if (cells.size() != table.columns.size())
        throw Error("table '" + table.name + "': a row of " + std::to_string(cells.size()) + " cells for " +
                    std::to_string(table.columns.size()) + " columns");
    for (size_t c = 0; c < cells.size(); ++c) {
        Column& column = table.columns[c];
        if (cells[c].isText != (column.kind == Column::Kind::Text))
            throw Error("table '" + table.name + "': the wrong kind of cell for column '" + column.name + "'");
        if (cells[c].isText) column.texts.push_back(cells[c].text);
        else column.numbers.push_back(cells[c].number);
    }
}

bool Table::has(const std::string& columnName) const {
    return std::any_of(columns.begin(), columns.end(), [&](const Column& c) { return c.name == columnName; });
}

const Column& Table::column(const std::string& columnName) const {
    for (const Column& c : columns)
        if (c.name == columnName) return c;
    throw Error("table '" + name + "' has no column '" + columnName + "'");
}

std::string Table::cell(size_t col, size_t row, bool full) const {
    const Column& c = columns.at(col);
    if (c.kind == Column::Kind::Text) return c.texts.at(row);
    const double v = c.numbers.at(row);
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    char buf[64];
    if (c.kind == Column::Kind::Integer)
        std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
    else
        std::snprintf(buf, sizeof buf, full ? "%.17g" : "%.9g", v);
    return buf;
}

namespace {

std::string csvField(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string out = "\"";
    for (char ch : s) {
        if (ch == '"') out += '"';
        out += ch;
    }
    return out + "\"";
}

}  // namespace

std::string toCsv(const Table& table) {
    std::string out;
    for (size_t c = 0; c < table.columns.size(); ++c) out += (c ? "," : "") + csvField(table.columns[c].name);
    out += '\n';
    for (size_t r = 0; r < table.rows(); ++r) {
        for (size_t c = 0; c < table.columns.size(); ++c) out += (c ? "," : "") + csvField(table.cell(c, r, true));
        out += '\n';
    }
    return out;
}

std::string toText(const Table& table) {
    const size_t cols = table.columns.size(), rows = table.rows();
    std::vector<size_t> width(cols);
    for (size_t c = 0; c < cols; ++c) {
        width[c] = table.columns[c].name.size();
        for (size_t r = 0; r < rows; ++r) width[c] = std::max(width[c], table.cell(c, r).size());
    }
    std::string out = table.title.empty() ? table.name : table.title + " (" + table.name + ")";
    out += '\n';
    auto line = [&](auto text) {
        for (size_t c = 0; c < cols; ++c) {
            const std::string s = text(c);
            const bool left = table.columns[c].kind == Column::Kind::Text;
            const std::string pad(width[c] - s.size(), ' ');
            out += (c ? "  " : "") + (left ? s + pad : pad + s);
        }
        out += '\n';
    };
    line([&](size_t c) { return table.columns[c].name; });
    for (size_t r = 0; r < rows; ++r) line([&](size_t c) { return table.cell(c, r); });
    return out;
}

std::filesystem::path writeCsv(const Table& table, const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) throw Error(dir, "cannot create the CSV folder: " + ec.message());
    const std::filesystem::path path = dir / (table.name + ".csv");
    writeFileAtomically(path, toCsv(table));
    return path;
}

Table selectRows(const Table& table, const std::vector<size_t>& rows) {
    Table out{table.name, table.title, {}};
    for (const Column& c : table.columns) {
        Column& copy = out.add(c.name, c.kind);
        for (size_t r : rows) {
            if (c.kind == Column::Kind::Text) copy.texts.push_back(c.texts.at(r));
            else copy.numbers.push_back(c.numbers.at(r));
        }
    }
    return out;
}

const Table* findTable(const std::vector<Table>& tables, const std::string& name) {
    for (const Table& t : tables)
        if (t.name == name) return &t;
    return nullptr;
}

void appendTables(std::vector<Table>& out, std::vector<Table> more) {
    out.insert(out.end(), std::make_move_iterator(more.begin()), std::make_move_iterator(more.end()));
}

const Table& requireTable(const std::vector<Table>& tables, const std::string& name) {
    const Table* t = findTable(tables, name);
    if (!t) throw Error("the run has no '" + name + "' table");
    return *t;
}

}  // namespace ls
