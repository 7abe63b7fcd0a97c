#pragma once
// Small helpers shared by the Qt Test executables.
#include <QString>
#include <QtTest>

#include <cmath>
#include <initializer_list>
#include <utility>
#include <vector>

#include "common/error.h"

// The ls::Error message f() throws, or an empty string if it throws none.
template <typename F>
QString errorOf(F&& f) {
    try {
        f();
    } catch (const ls::Error& e) {
        return QString::fromStdString(e.what());
    }
    return {};
}

// Floating-point comparisons state their tolerance: |actual - expected| <= abs + rel * |expected|.
// QCOMPARE on doubles is Qt's relative fuzzy compare, which fails against exact 0 for any
// rounding at all, and whose tolerance nobody reads; use these instead. NaN matches NaN only,
// an infinity itself only. An exact comparison (abs = rel = 0) is right only for values that
// one code path computes from exact inputs (integers, counts, a file's bytes read back).
inline bool withinTolerance(double actual, double expected, double abs, double rel) {
    if (std::isnan(expected)) return std::isnan(actual);
    if (std::isinf(expected)) return actual == expected;
    return std::abs(actual - expected) <= abs + rel * std::abs(expected);
}

inline QString toleranceMessage(const char* actualText, double actual, double expected, double abs, double rel) {
    return QStringLiteral("%1 = %2, expected %3 within %4 + %5 x |expected| (differs by %6)")
        .arg(QString::fromLatin1(actualText))
        .arg(actual, 0, 'g', 17)
        .arg(expected, 0, 'g', 17)
        .arg(abs, 0, 'g', 3)
        .arg(rel, 0, 'g', 3)
        .arg(std::abs(actual - expected), 0, 'g', 3);
}

// QCOMPARE_NEAR(actual, expected, abs, rel): fails the test with both values and the tolerance.
#define QCOMPARE_NEAR(actual, expected, abs, rel)                                                          \
    do {                                                                                                    \
        const double actual_ = double(actual), expected_ = double(expected);                               \
        QVERIFY2(withinTolerance(actual_, expected_, (abs), (rel)),                                         \
                 qPrintable(toleranceMessage(#actual, actual_, expected_, (abs), (rel))));                  \
    } while (false)

// withinTolerance element by element: the first element outside it (or a size mismatch) as a
// message, or an empty string. QCOMPARE on a std::vector<double> compares the elements with
// qFuzzyCompare instead; for values one code path computes exactly, or reads back bit for bit:
//   QCOMPARE(mismatchOf(got, expected, 0, 0), QString());
inline QString mismatchOf(const std::vector<double>& got, const std::vector<double>& expected, double abs,
                          double rel) {
    if (got.size() != expected.size())
        return QStringLiteral("%1 values, expected %2").arg(got.size()).arg(expected.size());
    for (size_t i = 0; i < got.size(); ++i)
        if (!withinTolerance(got[i], expected[i], abs, rel))
            return toleranceMessage(qPrintable(QStringLiteral("element %1").arg(i)), got[i], expected[i], abs, rel);
    return {};
}

// ---- data-driven tests ------------------------------------------------------------------

// Data columns of one type, in order:
//   addColumns<QString>({"tmpl", "instruction", "input", "output", "expected"});
template <typename T>
void addColumns(std::initializer_list<const char*> names) {
    for (const char* name : names)
        QTest::addColumn<T>(name);
}

// One data column and a row per (tag, value):
//   addRows<QString>("type", {{"gpt2 (output bias kept)", "gpt2"}, {"llama gqa", "llama"}});
template <typename T>
void addRows(const char* column, std::initializer_list<std::pair<const char*, T>> rows) {
    QTest::addColumn<T>(column);
    for (const auto& [tag, value] : rows)
        QTest::newRow(tag) << value;
}

// The two model layouts, as a QString column whose rows are named by their value.
inline void addLayoutRows(const char* column) { addRows<QString>(column, {{"gpt2", "gpt2"}, {"llama", "llama"}}); }

// QString data columns and a row per {tag, value, ...}, a value for each column:
//   addStringRows({"what", "expected"}, {{"loss size", "loss", "the loss has 99 values"}, ...});
inline void addStringRows(std::initializer_list<const char*> columns,
                          std::initializer_list<std::initializer_list<const char*>> rows) {
    addColumns<QString>(columns);
    for (const std::initializer_list<const char*>& row : rows) {
        QTEST_ASSERT(row.size() == columns.size() + 1);
        QTestData& data = QTest::newRow(*row.begin());
        for (auto value = row.begin() + 1; value != row.end(); ++value)
            data << QString::fromUtf8(*value);
    }
}
