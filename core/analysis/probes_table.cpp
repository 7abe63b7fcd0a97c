// probes table <-> ProbeResult. Plain C++ (layerscope_base): no LibTorch here.
#include <cmath>

#include "analysis/probes.h"
#include "common/error.h"

namespace ls {

namespace {

// The real columns in table order, after the integer ones (train_tokens, validation_tokens,
// test_tokens, epochs).
struct RealColumn {
    const char* name;
    double ProbeRow::*member;
};
const RealColumn kRealColumns[] = {
    {"mse", &ProbeRow::mse},           {"pearson_r", &ProbeRow::pearson},     {"r2", &ProbeRow::r2},
    {"accuracy", &ProbeRow::accuracy}, {"f1_easy", &ProbeRow::f1Easy},        {"f1_hard", &ProbeRow::f1Hard},
    {"easy_pct", &ProbeRow::easyPct},  {"easy_loss", &ProbeRow::easyLoss},    {"hard_loss", &ProbeRow::hardLoss},
    {"loss_diff", &ProbeRow::lossDiff}, {"oracle_ratio", &ProbeRow::oracleRatio},
};

}  // namespace

Table probeTable(const ProbeResult& result) {
    Table t{"probes",
            "Learned probes on the hidden states of layer " + std::to_string(result.layer) + " (" +
                std::to_string(result.sampleTokens) + " tokens; test-set numbers)",
            {}};
    Column& arch = t.add("architecture", Column::Kind::Text);
    Column& task = t.add("task", Column::Kind::Text);
    for (const ProbeRow& row : result.rows) {
        arch.texts.push_back(row.architecture);
        task.texts.push_back(row.task);
    }
    Column& trainTokens = t.add("train_tokens", Column::Kind::Integer);
    Column& validationTokens = t.add("validation_tokens", Column::Kind::Integer);
    Column& testTokens = t.add("test_tokens", Column::Kind::Integer);
    Column& epochs = t.add("epochs", Column::Kind::Integer);
    for (const ProbeRow& row : result.rows) {
        trainTokens.numbers.push_back(static_cast<double>(row.trainTokens));
        validationTokens.numbers.push_back(static_cast<double>(row.validationTokens));
        testTokens.numbers.push_back(static_cast<double>(row.testTokens));
        epochs.numbers.push_back(row.epochs);
    }
    for (const RealColumn& c : kRealColumns) {
        Column& col = t.add(c.name, Column::Kind::Real);
        for (const ProbeRow& row : result.rows) col.numbers.push_back(row.*c.member);
    }
    return t;
}

ProbeResult probeResultFromTable(const Table& table, int layer, int64_t sampleTokens) {
    ProbeResult result;
    result.layer = layer;
    result.sampleTokens = sampleTokens;
    const size_t rows = table.rows();
    auto checked = [&](const char* name, bool text) -> const Column& {
        const Column& c = table.column(name);  // throws, naming the table and the column
        if ((c.kind == Column::Kind::Text) != text)
            throw Error("table '" + table.name + "': column '" + name + "' should hold " +
                        (text ? "text" : "numbers"));
        if (c.size() != rows)
            throw Error("table '" + table.name + "': column '" + name + "' has " + std::to_string(c.size()) +
                        " rows, expected " + std::to_string(rows));
        return c;
    };
    const Column& arch = checked("architecture", true);
    const Column& task = checked("task", true);
    result.rows.resize(rows);
    for (size_t r = 0; r < rows; ++r) {
        result.rows[r].architecture = arch.texts[r];
        result.rows[r].task = task.texts[r];
    }
    const Column& trainTokens = checked("train_tokens", false);
    const Column& validationTokens = checked("validation_tokens", false);
    const Column& testTokens = checked("test_tokens", false);
    const Column& epochs = checked("epochs", false);
    for (size_t r = 0; r < rows; ++r) {
        ProbeRow& row = result.rows[r];
        row.trainTokens = std::llround(trainTokens.numbers[r]);
        row.validationTokens = std::llround(validationTokens.numbers[r]);
        row.testTokens = std::llround(testTokens.numbers[r]);
        row.epochs = static_cast<int>(std::llround(epochs.numbers[r]));
    }
    for (const RealColumn& c : kRealColumns) {
        const Column& col = checked(c.name, false);
        for (size_t r = 0; r < rows; ++r) result.rows[r].*c.member = col.numbers[r];
    }
    return result;
}

}  // namespace ls
