#pragma once
// HDF5 run files: one file per run, readable by h5py / pandas without LayerScope.
// Layout (format 2; docs/run-files.md describes every dataset):
//   /                    attrs format="layerscope-run", format_version, layerscope_version,
//                        status ("complete" | "partial"), started_at, finished_at
//   /meta                attrs model_path, model_hash, model_summary, dataset_path, dataset_hash,
//                        dataset_format, analyses, every parameter (params_json holds them all)
//   /tokens              target_index (N) int64, target_id (N) int32, loss (N) float32 [nats]
//   /cossim/values       (L, N) float32, row l-1 = c_l
//   /lens/top1           (L+1, N) int32, row l = top1_l;  /lens/post_attention_top1 (L, N)
//   /lowrank/...         singular_values, counts per rank, timings
//   /inspect/...         the token inspector grid of one window
//   /analyses/<name>/    an analysis's own results (LayerRun::results), written and read by
//                        its registry entry (format 2; format 1 files have none)
//   /tables/<name>/      every table of the run, one dataset per column
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
