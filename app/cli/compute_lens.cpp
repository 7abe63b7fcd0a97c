// layerscope-cli lens train, in the compute module.
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>

#include "analysis/layer_run.h"
#include "common/error.h"
#include "compute_commands.h"
#include "inputs.h"
#include "progress_printer.h"
#include "train/tuned_lens_trainer.h"

namespace fs = std::filesystem;

namespace cli {

int computeLens(const Args& args) {
    if (args.positional != "train") throw ls::Error("lens: the action is 'train' ('layerscope-cli lens train --help')");
    const fs::path outDir = args.require("out");
    const bool asJson = args.flag("json"), overwrite = args.flag("overwrite");
    ls::checkLensOutputFolder(outDir, overwrite);  // before the model is loaded
    ls::LensTrainParams p;
    p.postAttention = args.flag("post-attention");
    p.steps = args.integer("steps", p.steps, 0);
    p.learningRate = args.real("lr", p.learningRate);
    p.batchTokens = args.integer("batch-tokens", p.batchTokens, 1);
    p.evalEvery = args.integer("eval-every", 0, 0);
    p.seed = static_cast<uint64_t>(args.integer("seed", 0, 0));
    ls::validateLensTrainParams(p);

    Inputs in = loadInputs(args);
    p.windows = in.windows;
    const ls::RunInfo hashes = ls::runInfoFor(*in.model, in.dataPath, ls::dataFormatName(in.data.format));
    const ls::ModelConfig& c = in.model->config();
    if (!asJson)
        std::printf("training a tuned lens for %s (%d layers, dim %d) on %s, %lld steps of ~%lld tokens, lr %g\n",
                    in.modelDir.c_str(), c.numLayers, c.hiddenSize, in.dataPath.c_str(), static_cast<long long>(p.steps),
                    static_cast<long long>(p.batchTokens), p.learningRate);
    auto onPoint = [&](const ls::TrainPoint& pt) {
        if (asJson) return;
        if (pt.step == 0)
            std::printf("step %6d  held-out KL %.4f (the logit lens)\n", 0, pt.valLoss);
        else
            std::printf("step %6lld  epoch %5.2f  train KL %.4f  held-out KL %.4f%s\n", static_cast<long long>(pt.step),
                        pt.epoch, pt.trainLoss, pt.valLoss, pt.improved ? "  (improved, saved)" : "");
        std::fflush(stdout);
    };
    ls::Progress& progress = interruptibleProgress();
    // Progress and ETA on stderr (tokens/s counts the training steps' tokens).
    ProgressPrinter printer(progress, p.steps * p.batchTokens, !asJson);
    const ls::LensTrainResult r = ls::trainTunedLens(*in.model, in.data, hashes.modelHash, hashes.datasetHash, p, outDir,
                                                     overwrite, progress, onPoint);
    if (r.canceled) printer.stop();
    else printer.finish();
    const ls::TunedLensInfo& info = r.info;
    const double perLayerStep = r.secondsPerLayerStep();
    if (asJson) {
        nlohmann::json j = ls::tunedLensInfoJson(info);
        j["out"] = outDir.string();
        j["outcome"] = r.canceled ? "canceled" : "finished";
        j["saved"] = r.saved;
        j["model_seconds"] = r.modelSeconds;
        j["translator_seconds"] = r.translatorSeconds;
        j["seconds_per_layer_step"] = perLayerStep;
        std::cout << j.dump(2) << "\n";
    } else {
        std::printf("%s after %lld steps in %.1f s (model forwards %.1f s; translators %.1f s, %.3f s per layer per step)\n",
                    r.canceled ? "canceled" : "finished", static_cast<long long>(r.steps), info.seconds, r.modelSeconds,
                    r.translatorSeconds, perLayerStep);
        std::printf("held-out KL(p_L || p_l), nats, %lld windows (%lld tokens) never trained on:\n",
                    static_cast<long long>(info.heldOutWindows), static_cast<long long>(info.heldOutTokens));
        std::printf("  stage      layer   logit lens   tuned lens\n");
        for (const ls::LensLayerKl& k : info.heldOutKl)
            std::printf("  %-9s  %5d   %10.4f   %10.4f\n", k.stage.c_str(), k.layer, k.logitKl, k.tunedKl);
        if (r.saved) std::printf("saved in %s (use: run ... --lens tuned:%s)\n", outDir.c_str(), outDir.c_str());
    }
    return r.canceled ? 130 : 0;
}

}  // namespace cli
