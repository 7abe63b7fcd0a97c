#pragma once
// Helpers shared by the tests that run layerscope-cli: with bad input (test_cli.cpp,
// test_train.cpp), the data rows name files through {PLACEHOLDERS} and every failure must be
// one "error: ..." line; the CSVs it writes, read back as rows.
#include <QString>
#include <QStringList>
#include <QtTest>

#include <initializer_list>
#include <map>
#include <vector>
#include <utility>

#include "model_reference_support.h"

// One CSV line's cells; a quoted cell may hold commas and doubled quotes.
inline QStringList csvCells(const QString& line) {
    QStringList cells{QString()};
    bool quoted = false;
    for (int i = 0; i < line.size(); ++i) {
        const QChar ch = line[i];
        if (quoted && ch == '"' && i + 1 < line.size() && line[i + 1] == '"') cells.back() += '"', ++i;
        else if (ch == '"') quoted = !quoted;
        else if (ch == ',' && !quoted) cells << QString();
        else cells.back() += ch;
    }
    return cells;
}

// A CSV (no newlines inside cells) as rows of column -> text.
inline std::vector<std::map<QString, QString>> readCsvRows(const QString& path) {
    const QStringList lines = QString::fromUtf8(reftest::readFile(path)).split('\n', Qt::SkipEmptyParts);
    std::vector<std::map<QString, QString>> rows;
    if (lines.isEmpty()) return rows;
    const QStringList header = csvCells(lines[0]);
    for (int i = 1; i < lines.size(); ++i) {
        const QStringList cells = csvCells(lines[i]);
        std::map<QString, QString> row;
        for (int c = 0; c < header.size() && c < cells.size(); ++c) row[header[c]] = cells[c];
        rows.push_back(row);
    }
    return rows;
}

// args with every placeholder replaced by its value, in the order given.
inline QStringList withPlaceholders(QStringList args, std::initializer_list<std::pair<const char*, QString>> values) {
    for (QString& arg : args)
        for (const auto& [placeholder, value] : values)
            arg.replace(placeholder, value);
    return args;
}

// A run described for the log and the failure messages: "<data tag> -> exit <code>[ (CRASHED)],
// stderr: <stderr>".
inline QString runLine(const reftest::ProcResult& r) {
    return QString("%1 -> exit %2%3, stderr: %4")
        .arg(QTest::currentDataTag())
        .arg(r.exitCode)
        .arg(r.crashed ? " (CRASHED)" : "")
        .arg(QString::fromUtf8(r.err).trimmed());
}

// Checks a run that must fail: it finished, did not crash, exited with exitCode and wrote one
// stderr line, "error: ..." naming every one of mustMention. line describes the run.
inline void expectOneErrorLine(const reftest::ProcResult& r, int exitCode, const QStringList& mustMention,
                               const QString& line) {
    const QStringList errLines = QString::fromUtf8(r.err).split('\n', Qt::SkipEmptyParts);
    QVERIFY2(r.started && r.finished, qPrintable(r.describe("did not finish")));
    QVERIFY2(!r.crashed, qPrintable(line));
    QVERIFY2(r.exitCode == exitCode, qPrintable(QString("exit code %1, want %2: ").arg(r.exitCode).arg(exitCode) + line));
    QVERIFY2(errLines.size() == 1, qPrintable("stderr is not a single line: " + line));
    QVERIFY2(errLines[0].startsWith("error: "), qPrintable("stderr does not start with 'error: ': " + line));
    for (const QString& m : mustMention)
        QVERIFY2(errLines[0].contains(m), qPrintable(QString("error line does not name '%1': %2").arg(m, line)));
}
