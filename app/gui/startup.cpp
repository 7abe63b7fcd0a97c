#include "startup.h"

#include <QApplication>
#include <QMessageBox>
#include <QTimer>
#include <functional>
#include <iostream>

#include "analysis_panel.h"
#include "layer_results.h"
#include "generation_panel.h"
#include "main_window.h"
#include "microscope_panel.h"

void StartupSequence::start(MainWindow* window, const StartupOptions& options) {
    window->setUnattended(options.batch());
    (new StartupSequence(window, options))->run();
}

StartupSequence::StartupSequence(MainWindow* window, const StartupOptions& options)
    : QObject(window), window_(window), options_(options) {}

void StartupSequence::run() {
    using Then = MainWindow::Then;
    // Built from the last step back: each runs its task (if asked for) and then the next.
    const Then finish = [this](bool ok) { this->finish(ok); };
    const Then compare = [this, finish](bool ok) {
        if (ok && !options_.compare.isEmpty())
            window_->compareRunFiles(options_.compare, finish);
        else
            finish(ok);
    };
    const Then openRun = [this, compare](bool ok) {
        if (ok && !options_.openRun.isEmpty())
            window_->openRunFile(options_.openRun, compare);
        else
            compare(ok);
    };
    const Then patch = [this, openRun](bool ok) {
        if (ok && !options_.pairs.isEmpty()) {
            window_->microscopePanel()->setPairsPath(options_.pairs);
            window_->runPatching(openRun);
        } else {
            openRun(ok);
        }
    };
    const Then prompt = [this, patch](bool ok) {
        if (ok && !options_.prompt.isEmpty()) {
            window_->microscopePanel()->setPromptText(options_.prompt);
            window_->runPrompt(patch);
        } else {
            patch(ok);
        }
    };
    const Then generate = [this, prompt](bool ok) {
        if (ok && options_.generate) {
            window_->generationPanel()->setPromptsText(options_.generatePrompts);
            window_->runGeneration(prompt);
        } else {
            prompt(ok);
        }
    };
    const Then analyses = [this, generate](bool ok) {
        if (ok && (!options_.analyses.isEmpty() || options_.plan)) {
            std::vector<std::string> names;
            for (const QString& name : options_.analyses)
                names.push_back(name.toStdString());
            if (!names.empty())
                window_->analysisPanel()->setAnalyses(names);
            if (options_.lens.startsWith(QStringLiteral("tuned:")))
                window_->useTunedLens(options_.lens.mid(6));
            else if (!options_.lens.isEmpty())
                window_->analysisPanel()->setFieldText(QStringLiteral("lens"), options_.lens);
            if (options_.compareLenses)
                window_->compareLenses(generate);
            else if (options_.plan)
                window_->planLayerAnalyses(generate);
            else
                window_->runLayerAnalyses(generate);
        } else {
            generate(ok);
        }
    };
    const Then evaluate = [this, analyses](bool ok) {
        if (ok && options_.run)
            window_->evaluate(analyses);
        else
            analyses(ok);
    };
    const Then data = [this, evaluate](bool ok) {
        ok = ok && windowsFitTheModel();
        if (ok && !options_.dataPath.isEmpty())
            window_->openDataset(options_.dataPath, evaluate);
        else
            evaluate(ok);
    };
    if (!options_.modelDir.isEmpty())
        window_->openModel(options_.modelDir, data);
    else
        data(true);
}

bool StartupSequence::windowsFitTheModel() {
    const int seqLen = window_->windowParams().seqLen;  // the Dataset panel holds it within the context
    if (options_.seqLen <= seqLen)
        return true;
    error_ = tr("--seq-len %1 exceeds the context of %2 (%3 positions)").arg(options_.seqLen).arg(options_.modelDir).arg(seqLen);
    if (!options_.batch())
        QMessageBox::warning(window_, tr("Seq len"), error_ + tr(": the Dataset panel uses %1.").arg(seqLen));
    return false;
}

void StartupSequence::finish(bool ok) {
    QString error = error_.isEmpty() ? window_->lastError() : error_;
    if (ok && !options_.tab.isEmpty() && !window_->selectTab(options_.tab)) {
        ok = false;
        error = tr("--tab %1: no such tab is shown (tabs now: %2)")
                    .arg(options_.tab,
                         (QStringList{"preview", "loss"} + window_->layerResults()->shownTabs()).join(", "));
    }
    if (!ok && options_.batch())
        std::cerr << "layerscope: " << error.toStdString() << std::endl;
    if (!options_.screenshot.isEmpty()) {
        // Let layout and the last replot settle before grabbing what a person would see.
        QTimer::singleShot(500, this, [this, ok] {
            const bool saved = window_->window()->grab().save(options_.screenshot);
            if (!saved)
                std::cerr << "layerscope: could not write " << options_.screenshot.toStdString() << std::endl;
            QApplication::exit(ok && saved ? 0 : 1);
        });
    } else if (options_.quitAfterRun) {
        QTimer::singleShot(0, qApp, [ok] { QApplication::exit(ok ? 0 : 1); });
    }
}
