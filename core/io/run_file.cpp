#include "io/run_file.h"

#include <nlohmann/json.hpp>

#include "analysis/capture_file.h"
#include "analysis/registry.h"
#include "common/error.h"
#include "io/hdf5_file.h"

namespace ls {

namespace {

using nlohmann::json;

// The analyses whose groups the run has: those asked for (and those they added), in
// registry order.
std::vector<const AnalysisSpec*> analysesOf(const LayerRunParams& params) {
    std::vector<const AnalysisSpec*> out;
    for (const AnalysisSpec& a : analysisRegistry())
        if (params.wants(a.name)) out.push_back(&a);
    return out;
}

json paramsJson(const AnalysisSpec& spec, const LayerRunParams& params) {
    json j = json::object();
    if (spec.paramsToJson) spec.paramsToJson(params, j);
    return j;
}

// params_json, and each parameter as an attribute of its own (h5dump, h5py).
void writeParams(H5Writer& w, const std::string& group, const json& params) {
    w.attribute(group, "params_json", params.dump());
    for (const auto& [key, value] : params.items()) {
        if (value.is_string()) w.attribute(group, key, value.get<std::string>());
        else if (value.is_boolean()) w.attribute(group, key, static_cast<int64_t>(value.get<bool>()));
        else if (value.is_number_integer()) w.attribute(group, key, value.get<int64_t>());
        else if (value.is_number()) w.attribute(group, key, value.get<double>());
        else w.attribute(group, key, value.dump());  // lists as JSON text
    }
}

std::string groupOf(const AnalysisSpec& a) { return "analyses/" + a.name; }

}  // namespace

void writeRunFile(const std::filesystem::path& path, const LayerRun& run) {
    H5Writer w(path);
    w.attribute("/", "format", std::string("layerscope-run"));
    w.attribute("/", "format_version", static_cast<int64_t>(kRunFileFormatVersion));
    w.attribute("/", "layerscope_version", run.info.layerscopeVersion);
    w.attribute("/", "status", std::string(run.info.complete ? "complete" : "partial"));
    w.attribute("/", "started_at", run.info.startedAt);
    w.attribute("/", "finished_at", run.info.finishedAt);

    w.attribute("meta", "model_path", run.info.modelPath);
    w.attribute("meta", "model_hash", run.info.modelHash);
    w.attribute("meta", "model_summary", run.info.modelSummary);
    w.attribute("meta", "dataset_path", run.info.datasetPath);
    w.attribute("meta", "dataset_hash", run.info.datasetHash);
    w.attribute("meta", "hash_algorithm", std::string("FNV-1a 64 of the file bytes (model: config.json + weights)"));
    // Where the run's time went (common/phase_times.h); the writing of this file is not known yet.
    for (const auto& [phase, seconds] : run.info.times.named())
        if (phase != "writing") w.attribute("meta", "seconds_" + phase, seconds);
    // /meta holds every parameter of the run (scripts read them there); each analysis's group
    // holds its own, which is where a reader takes them from.
    writeParams(w, "meta", runParamsJson(run.params));
    // After the parameters, whose dataset_format is the option asked for: the format read wins
    // (they differ for a generation, whose input is prompts, not a dataset).
    w.attribute("meta", "dataset_format", run.info.datasetFormat);
    writeCapture(run.capture, w);
    for (const AnalysisSpec* a : analysesOf(run.params)) {
        const std::string group = groupOf(*a);
        w.attribute(group, "title", a->title);
        writeParams(w, group, paramsJson(*a, run.params));
        if (a->write) a->write(run, w, group);
    }
    for (const Table& t : run.tables()) w.table("tables/" + t.name, t);
    w.commit();
}

namespace {
LayerRun readSealedRunFile(const std::filesystem::path& path);
}  // namespace

LayerRun readRunFile(const std::filesystem::path& path) {
    // Damaged bytes stop at the seal (Seal::Required), before libhdf5; crafted ones that
    // pass it but make libhdf5 crash or hang do so in a child process, not in this one.
    checkFileBeforeHdf5(path, H5Reader::Seal::Required);  // once, and no child for a damaged file
    rehearseInChildProcess(path, [&] { readSealedRunFile(path); });
    return readSealedRunFile(path);
}

namespace {

LayerRun readSealedRunFile(const std::filesystem::path& path) {
    H5Reader r(path, H5Reader::Seal::Checked);  // by readRunFile, once for both reads
    if (!r.hasAttribute("/", "format") || r.stringAttribute("/", "format") != "layerscope-run")
        throw Error(path, "is an HDF5 file but not a LayerScope run file");
    const int64_t version = r.integerAttribute("/", "format_version");
    if (version > kRunFileFormatVersion)
        throw Error(path, "was written by a newer LayerScope (run-file format " + std::to_string(version) +
                              "; this version reads format " + std::to_string(kRunFileFormatVersion) +
                              " and older): update LayerScope to open it");
    if (version < 1) throw Error(path, "has an invalid run-file format version " + std::to_string(version));

    LayerRun run;
    RunInfo& info = run.info;
    info.layerscopeVersion = r.stringAttribute("/", "layerscope_version");
    info.complete = r.stringAttribute("/", "status") == "complete";
    info.startedAt = r.stringAttribute("/", "started_at");
    info.finishedAt = r.stringAttribute("/", "finished_at");
    info.modelPath = r.stringAttribute("meta", "model_path");
    info.modelHash = r.stringAttribute("meta", "model_hash");
    info.modelSummary = r.stringAttribute("meta", "model_summary");
    info.datasetPath = r.stringAttribute("meta", "dataset_path");
    info.datasetHash = r.stringAttribute("meta", "dataset_hash");
    info.datasetFormat = r.stringAttribute("meta", "dataset_format");
    for (const auto& [phase, seconds] : PhaseTimes().named())  // runs written before 0.1.0's phases have none
        if (r.hasAttribute("meta", "seconds_" + phase)) *info.times.find(phase) = r.realAttribute("meta", "seconds_" + phase);
    std::string where = "meta/params_json";
    try {
        const json meta = json::parse(r.stringAttribute("meta", "params_json"));
        sharedParams().paramsFromJson(meta, run.params);
        for (const AnalysisSpec* a : analysesOf(run.params)) {
            if (!a->paramsFromJson) continue;
            // Format 1 kept every parameter in /meta.
            where = version == 1 ? "meta/params_json" : groupOf(*a) + "/params_json";
            a->paramsFromJson(version == 1 ? meta : json::parse(r.stringAttribute(groupOf(*a), "params_json")),
                              run.params);
        }
    } catch (const Error&) {
        throw;
    } catch (const std::exception& e) {  // json's errors, and jsonInteger's
        throw Error(path, "its parameters (" + where + ") are damaged: " + e.what());
    }
    run.capture = readCapture(r, path);
    for (const AnalysisSpec* a : analysesOf(run.params)) {
        if (!a->read) continue;
        try {
            a->read(r, groupOf(*a), static_cast<int>(version), run);
        } catch (const Error& e) {
            throw Error(path, "its " + a->name + " results are damaged: " + e.what());
        }
    }
    try {
        summariseLayerRun(run);
    } catch (const Error& e) {
        throw Error(path, std::string("cannot rebuild the results: ") + e.what());
    }
    return run;
}

}  // namespace

}  // namespace ls
