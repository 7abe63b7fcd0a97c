// layerscope: the desktop app, the module the `layerscope` program loads (launcher.cpp,
// common/program_module.h). Command-line options make it scriptable (tests, the user
// guide's screenshots):
//   layerscope --model DIR --data FILE --run --screenshot shot.png
//   layerscope --analyses cossim,saturation,lowrank,inspect --tab cossim --screenshot shot.png
//   layerscope --analyses losssep,exit --tab exit --screenshot shot.png
//   layerscope --open-run run.h5 --tab inspect
#include <QApplication>
#include <QCommandLineParser>
#include <QFile>
#include <iostream>
#include <string>

#include "analysis/layer_run.h"
#include "analysis/registry.h"
#include "common/error.h"
#include "common/program_module.h"
#include "default_inputs.h"
#include "main_window.h"
#include "microscope_panel.h"
#include "model/model.h"
#include "theme.h"

namespace {

// Reads an integer option >= minimum; prints the problem and returns false otherwise.
bool readIntOption(const QCommandLineParser& parser, const QString& name, int minimum, int& value) {
    if (!parser.isSet(name))
        return true;
    bool ok = false;
    const int v = parser.value(name).toInt(&ok);
    if (!ok || v < minimum) {
        std::cerr << "layerscope: --" << name.toStdString() << " must be an integer >= " << minimum
                  << ", got '" << parser.value(name).toStdString() << "'" << std::endl;
        return false;
    }
    value = v;
    return true;
}

// Every option of the GUI, for parsing and for --help.
void describeOptions(QCommandLineParser& parser) {
    parser.setApplicationDescription("Look inside transformer language models: where predictions settle, which "
                                     "layers and heads matter.");
    parser.addHelpOption();
    parser.addVersionOption();
    QString analyses;
    for (const ls::AnalysisSpec& a : ls::analysisRegistry())
        if (a.ownCommand.empty()) analyses += (analyses.isEmpty() ? "" : ", ") + QString::fromStdString(a.name);
    parser.addOptions({
        {"model", "Hugging Face model folder (config.json + model.safetensors); default: the built-in demo "
                  "model and its corpus.", "DIR"},
        {"data", "Dataset: text, WikiText, Alpaca JSON(L), or token ids (.npy, .bin).", "PATH"},
        {"seq-len", "Tokens per evaluation window (default 1024, at most the context).", "N"},
        {"stride", "Step between window starts (default: seq-len).", "S"},
        {"max-tokens", "Evaluate only the first T tokens (default: all).", "T"},
        {"run", "Evaluate perplexity once the model and data are loaded."},
        {"analyses", "Run these layer analyses once the model and data are loaded (after --run): a "
                     "comma-separated list of " + analyses + ".", "LIST"},
        {"plan", "Plan the layer analyses (--analyses, or those checked) instead of running them: the Analysis "
                 "panel shows their time, memory and file size, as its Plan button does."},
        {"lens", "The Lens field of the layer analyses: logit, or tuned:DIR (a folder made by Train Tuned Lens or "
                 "layerscope-cli lens train).", "LENS"},
        {"compare-lenses", "Run the layer analyses through the logit lens and through --lens's tuned lens and compare "
                           "them (Analysis > Compare Lenses) instead of one run."},
        {"generate", "Continue these prompts (a text file, one per line) with the Generation panel's settings once "
                     "the model is loaded (after --analyses).", "FILE"},
        {"prompt", "Run this prompt in the Microscope panel (attention patterns, direct logit attribution) once the "
                   "model is loaded (after --generate).", "TEXT"},
        {"pairs", "Patch these prompt pairs (JSONL, as layerscope-cli patch --pairs) in the Microscope panel once the "
                  "model is loaded (after --prompt).", "FILE"},
        {"open-run", "Open a run file of layer analyses (written by Save Run As or layerscope-cli run "
                     "--out). Without --model the demo is not loaded.", "FILE"},
        {"compare", "Compare these run files (comma-separated, two or more) in the Compare tab, as File > "
                    "Compare Runs does. Without --model the demo is not loaded.", "FILES"},
        {"tab", "The tab to show at the end: " + MainWindow::tabNames().join(", ") + ".", "NAME"},
        {"screenshot", "After the run (or once loaded) save the window to FILE and quit; "
                       "exit code 1 if anything failed.", "FILE"},
        {"quit-after-run", "Quit once the run (or loading) is done; exit code 1 if it failed."},
        {"theme", "desktop, light or dark for this start (default: the choice in View > Theme, at first "
                  "the desktop's).", "NAME"},
    });
}

// --help and --version need no display: they are answered before QApplication connects to one.
bool asksForHelpOrVersion(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "-h" || a == "--help" || a == "--help-all" || a == "-?" || a == "-v" || a == "--version") return true;
    }
    return false;
}

void describeApplication() {
    QCoreApplication::setApplicationName("LayerScope");
    QCoreApplication::setApplicationVersion(LAYERSCOPE_VERSION);
    QCoreApplication::setOrganizationDomain("layerscope.io");
}

}  // namespace

extern "C" LAYERSCOPE_MODULE_ENTRY int layerscope_module_main(int argc, char** argv) {
    if (asksForHelpOrVersion(argc, argv)) {
        QCoreApplication app(argc, argv);
        describeApplication();
        QCommandLineParser parser;
        describeOptions(parser);
        parser.process(app);  // prints the help or the version and exits with 0
        return 0;
    }
    QApplication app(argc, argv);
    describeApplication();
    QApplication::setDesktopFileName("layerscope");  // packaging/layerscope.desktop

    QCommandLineParser parser;
    describeOptions(parser);
    parser.process(app);
    std::optional<ThemeChoice> theme = savedThemeChoice();
    if (parser.isSet("theme") && !(theme = parseThemeChoice(parser.value("theme")))) {
        std::cerr << "layerscope: --theme must be desktop, light or dark, got '"
                  << parser.value("theme").toStdString() << "'" << std::endl;
        return 2;
    }
    applyTheme(app, *theme);  // before any window: every widget is built in it

    ls::setComputeThreads(0);  // one per core: Debian's LibTorch starts with a single thread
    ls::WindowParams params;
    int maxTokens = 0;
    if (!readIntOption(parser, "seq-len", 2, params.seqLen) ||
        !readIntOption(parser, "stride", 1, params.stride) ||
        !readIntOption(parser, "max-tokens", 1, maxTokens))
        return 2;
    params.maxTokens = maxTokens;

    StartupOptions options;
    if (parser.isSet("analyses")) {
        try {
            for (const std::string& name : ls::parseAnalysisList(parser.value("analyses").toStdString()))
                options.analyses << QString::fromStdString(name);
        } catch (const ls::Error& e) {
            std::cerr << "layerscope: --analyses: " << e.what() << std::endl;
            return 2;
        }
    }
    options.seqLen = parser.isSet("seq-len") ? params.seqLen : 0;
    options.openRun = parser.value("open-run");
    if (parser.isSet("generate")) {
        QFile prompts(parser.value("generate"));
        if (!prompts.open(QIODevice::ReadOnly)) {
            std::cerr << "layerscope: --generate: cannot read " << parser.value("generate").toStdString() << std::endl;
            return 2;
        }
        options.generatePrompts = QString::fromUtf8(prompts.readAll());
        options.generate = true;
    }
    options.prompt = parser.value("prompt");
    options.pairs = parser.value("pairs");
    if (parser.isSet("compare")) options.compare = parser.value("compare").split(',', Qt::SkipEmptyParts);
    options.tab = parser.value("tab");
    if (!options.tab.isEmpty() && !MainWindow::tabNames().contains(options.tab, Qt::CaseInsensitive)) {
        std::cerr << "layerscope: --tab " << options.tab.toStdString() << " is not one of "
                  << MainWindow::tabNames().join(", ").toStdString() << std::endl;
        return 2;
    }
    options.modelDir = parser.value("model");
    options.dataPath = parser.value("data");
    // Open on the demo (its corpus only goes with its model), unless only a run file is
    // to be opened: a run file needs neither model nor data.
    const bool runFileOnly =
        (parser.isSet("open-run") || parser.isSet("compare")) && !parser.isSet("analyses") && !parser.isSet("run") &&
        !parser.isSet("generate") && !parser.isSet("prompt") && !parser.isSet("pairs");
    DefaultInputs demo;  // the demo's inputs when it is opened
    if (!parser.isSet("model") && !runFileOnly) {
        demo = resolveDefaultInputs();
        options.modelDir = demo.modelDir;
        if (!parser.isSet("data"))
            options.dataPath = demo.dataPath;
    }
    options.run = parser.isSet("run");
    options.plan = parser.isSet("plan");
    options.lens = parser.value("lens");
    options.compareLenses = parser.isSet("compare-lenses");
    options.screenshot = parser.value("screenshot");
    options.quitAfterRun = parser.isSet("quit-after-run");

    MainWindow window;
    window.setWindowParams(params);
    window.microscopePanel()->setPromptText(demo.prompt);  // the demo's examples, ready to run
    window.microscopePanel()->setPairsPath(demo.pairsPath);
    window.show();
    window.startWith(options);
    return app.exec();
}
