#pragma once
// The start-up sequence the command line asks for (main.cpp, and tests): open the model, the
// dataset, evaluate, run layer analyses, open a run file, compare run files, show a tab, then take a screenshot
// or quit. Each step starts when the previous one has finished; a failure ends the chain.
// Driven only through MainWindow's public tasks, so the window knows nothing of it.
#include <QObject>
#include <QString>
#include <QStringList>

class MainWindow;

struct StartupOptions {
    QString modelDir;
    QString dataPath;
    bool run = false;          // evaluate once model and data are loaded
    QStringList analyses;      // layer analyses to run once model and data are loaded
    bool plan = false;         // plan them (the Analysis panel's Plan) instead of running them
    QString lens;              // the Lens field: "logit" or "tuned:DIR" (empty: as it is)
    bool compareLenses = false;  // run them through the logit and the tuned lens, compared
    int seqLen = 0;            // --seq-len as given (0: not given); more than the model's context is an error
    bool generate = false;     // continue generatePrompts with the Generation panel's settings (after the analyses)
    QString generatePrompts;
    QString prompt;            // run this prompt in the Microscope panel once the model is loaded (after generating)
    QString pairs;             // patch these prompt pairs in the Microscope panel (after the prompt)
    QString openRun;           // a run file to open (after the analyses, if both)
    QStringList compare;       // run files to compare (last)
    QString tab;               // the tab to show at the end (MainWindow::tabNames())
    QString screenshot;        // save window()->grab() here, then quit
    bool quitAfterRun = false;
    // Unattended: no message boxes, errors to stderr, exit code tells the result.
    bool batch() const { return !screenshot.isEmpty() || quitAfterRun; }
};

class StartupSequence : public QObject {
    Q_OBJECT
public:
    // Runs the steps on window (its child: it goes with the window).
    static void start(MainWindow* window, const StartupOptions& options);

private:
    StartupSequence(MainWindow* window, const StartupOptions& options);
    void run();
    void finish(bool ok);
    // The window parameters asked for against the model just opened (as the command line
    // checks them); false, with error_ set, when they do not fit.
    bool windowsFitTheModel();

    MainWindow* window_;
    StartupOptions options_;
    QString error_;  // a failure of the sequence itself (not of a task: MainWindow::lastError())
};
