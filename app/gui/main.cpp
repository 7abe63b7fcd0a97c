// layerscope: the desktop app. Command-line options make it scriptable (tests, the user
// guide's screenshots):
//   layerscope --model DIR --data FILE --run --screenshot shot.png
#include <QApplication>
#include <QCommandLineParser>
#include <iostream>

#include "default_inputs.h"
#include "main_window.h"
#include "model/model.h"

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

}  // namespace

int main(int argc, char** argv) {
    QApplication app(argc, argv);
    QApplication::setApplicationName("LayerScope");
    QApplication::setApplicationVersion(LAYERSCOPE_VERSION);
    QApplication::setOrganizationDomain("layerscope.io");
    QApplication::setDesktopFileName("layerscope");  // packaging/layerscope.desktop

    QCommandLineParser parser;
    parser.setApplicationDescription("Look inside small transformer language models.");
    parser.addHelpOption();
    parser.addVersionOption();
    parser.addOptions({
        {"model", "Hugging Face model folder (config.json + model.safetensors); default: the built-in demo "
                  "model and its corpus.", "DIR"},
        {"data", "Dataset: text, WikiText, Alpaca JSON(L), or token ids (.npy, .bin).", "PATH"},
        {"seq-len", "Tokens per evaluation window (default 1024, at most the context).", "N"},
        {"stride", "Step between window starts (default: seq-len).", "S"},
        {"max-tokens", "Evaluate only the first T tokens (default: all).", "T"},
        {"run", "Evaluate perplexity once the model and data are loaded."},
        {"screenshot", "After the run (or once loaded) save the window to FILE and quit; "
                       "exit code 1 if anything failed.", "FILE"},
        {"quit-after-run", "Quit once the run (or loading) is done; exit code 1 if it failed."},
    });
    parser.process(app);

    ls::setComputeThreads(0);  // one per core: Debian's LibTorch starts with a single thread
    ls::WindowParams params;
    int maxTokens = 0;
    if (!readIntOption(parser, "seq-len", 2, params.seqLen) ||
        !readIntOption(parser, "stride", 1, params.stride) ||
        !readIntOption(parser, "max-tokens", 1, maxTokens))
        return 2;
    params.maxTokens = maxTokens;

    StartupOptions options;
    options.modelDir = parser.value("model");
    options.dataPath = parser.value("data");
    if (!parser.isSet("model")) {  // open on the demo; its corpus only goes with its model
        const DefaultInputs demo = resolveDefaultInputs();
        options.modelDir = demo.modelDir;
        if (!parser.isSet("data"))
            options.dataPath = demo.dataPath;
    }
    options.run = parser.isSet("run");
    options.screenshot = parser.value("screenshot");
    options.quitAfterRun = parser.isSet("quit-after-run");

    MainWindow window;
    window.setWindowParams(params);
    window.show();
    window.startWith(options);
    return app.exec();
}
