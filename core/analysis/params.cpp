#include "analysis/params.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/error.h"

namespace ls {

namespace {

// The whole of text as a number by parse (std::stod / std::stoll), or false.
template <typename T, typename Parse>
bool parseWhole(const std::string& text, Parse parse, T& out) {
    size_t used = 0;
    try {
        out = parse(text, &used);
    } catch (const std::exception&) {
        return false;
    }
    return used != 0 && used == text.size();
}

double parseDouble(const std::string& s, size_t* used) { return std::stod(s, used); }
long long parseInteger(const std::string& s, size_t* used) { return std::stoll(s, used); }

std::vector<double> realList(const ParamSpec& spec, const std::string& text) {
    std::vector<double> out;
    size_t start = 0;
    while (start <= text.size()) {
        const size_t comma = std::min(text.find(',', start), text.size());
        double v = 0;
        if (!parseWhole(text.substr(start, comma - start), parseDouble, v))
            throw ParamError(spec.key, "needs comma-separated numbers, got '" + text + "'");
        out.push_back(v);
        start = comma + 1;
    }
    return out;
}

template <typename T>
std::string joined(const std::vector<T>& values, const char* format) {
    if (values.empty()) return "none";
    std::string text;
    char buf[32];
    for (const T& v : values) {
        std::snprintf(buf, sizeof buf, format, v);
        text += (text.empty() ? "" : ", ") + std::string(buf);
    }
    return text;
}

}  // namespace

std::string listText(const std::vector<int>& values) { return joined(values, "%d"); }
std::string listText(const std::vector<double>& values) { return joined(values, "%.6g"); }

ParamSpec ParamSpec::withChoices(std::vector<std::string> values) const {
    ParamSpec spec = *this;
    spec.choices = std::move(values);
    return spec;
}

ParamSpec ParamSpec::withPlaceholder(std::string text) const {
    ParamSpec spec = *this;
    spec.placeholder = std::move(text);
    return spec;
}

ParamSpec ParamSpec::layerBounded() const {
    ParamSpec spec = *this;
    spec.atMostLayers = true;
    return spec;
}

ParamSpec ParamSpec::windowIndex() const {
    ParamSpec spec = *this;
    spec.datasetWindow = true;
    return spec;
}

std::string paramText(const ParamSpec& spec, const ParamValue& value) {
    using Kind = ParamSpec::Kind;
    switch (spec.kind) {
        case Kind::Flag: return "";
        case Kind::Text: return std::get<std::string>(value);
        case Kind::Integer: return std::to_string(std::get<int64_t>(value));
        case Kind::Real: return listText(std::vector<double>{std::get<double>(value)});
        case Kind::IntegerList: {
            const auto& values = std::get<std::vector<int>>(value);
            return values.empty() ? "" : listText(values);
        }
        case Kind::RealList: {
            const auto& values = std::get<std::vector<double>>(value);
            return values.empty() ? "" : listText(values);
        }
    }
    return "";
}

ParamValue parseParam(const ParamSpec& spec, const std::string& text) {
    using Kind = ParamSpec::Kind;
    switch (spec.kind) {
        case Kind::Flag: return true;
        case Kind::Text: return text;
        case Kind::Integer: {
            long long v = 0;
            if (!parseWhole(text, parseInteger, v)) throw ParamError(spec.key, "needs an integer, got '" + text + "'");
            if (v < spec.minimum)
                throw ParamError(spec.key,
                                 "must be at least " + std::to_string(spec.minimum) + ", got " + std::to_string(v));
            return int64_t(v);
        }
        case Kind::Real: {
            double v = 0;
            if (!parseWhole(text, parseDouble, v)) throw ParamError(spec.key, "needs a number, got '" + text + "'");
            return v;
        }
        case Kind::RealList: return realList(spec, text);
        case Kind::IntegerList: {
            std::vector<int> out;
            for (const double v : realList(spec, text)) {
                if (!(std::abs(v) < 2e9) || v != std::floor(v))
                    throw ParamError(spec.key, "needs whole numbers, got '" + text + "'");
                out.push_back(static_cast<int>(v));
            }
            return out;
        }
    }
    return text;
}

std::vector<std::string> splitNames(const std::string& list) {
    std::vector<std::string> out;
    size_t start = 0;
    while (start <= list.size()) {
        const size_t comma = std::min(list.find(',', start), list.size());
        std::string name = list.substr(start, comma - start);
        const size_t first = name.find_first_not_of(" \t"), last = name.find_last_not_of(" \t");
        if (first != std::string::npos) out.push_back(name.substr(first, last - first + 1));
        start = comma + 1;
    }
    return out;
}

}  // namespace ls
