#pragma once
// Small helpers shared by the Qt Test executables.
#include <QString>

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
