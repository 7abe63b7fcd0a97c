#pragma once
// HDF5 run files: one file per run, readable by h5py / pandas without LayerScope.
// Layout (format 2; docs/run-files.md describes every dataset):
//   /                    attrs format="layerscope-run", format_version, layerscope_version,
//                        status ("complete" | "partial"), started_at, finished_at
//   /meta                attrs model_path, model_hash, model_summary, dataset_path, dataset_hash,
//                        dataset_format, every parameter of the run (params_json holds them all)
//   /tokens, /cossim, /lens, /lowrank, /metrics, /metrics_lowrank, /inspect
//                        the capture pass's per-token scalars (analysis/capture_file.h)
//   /analyses/<name>/    one group per analysis: its parameters and what its own pass made,
//                        written and read by its registry entry (format 1 files have none)
//   /tables/<name>/      every table of the run, one dataset per column
// This file knows no analysis by name: the registry's entries do.
// Written atomically (temporary file, then rename).
#include <filesystem>

#include "analysis/layer_run.h"

namespace ls {

inline constexpr int kRunFileFormatVersion = 2;

void writeRunFile(const std::filesystem::path& path, const LayerRun& run);

// Throws ls::Error naming the file: not HDF5, not a LayerScope run, from a newer format,
// truncated or missing datasets.
LayerRun readRunFile(const std::filesystem::path& path);

}  // namespace ls
