// The command line of both layers of layerscope-cli (commands.h): find the command, parse its
// arguments, run it here or in the compute module, and turn errors into exit codes.
#include <cstdio>
#include <string>

#include "commands.h"
#include "common/error.h"

namespace cli {

std::vector<Command> allCommands() {
    return {infoCommand(), evalCommand(), runCommand(), mergeCommand(), showCommand(), compareCommand(), trainCommand(), lensCommand(), generateCommand(), promptCommand(), patchCommand(), demoCorpusCommand()};
}

namespace {

std::string overview() {
    std::string text = "usage: layerscope-cli COMMAND [options]\n\ncommands:\n";
    for (const Command& c : allCommands()) {
        std::string name = "  " + c.spec.name;
        name.resize(16, ' ');
        text += name + c.spec.summary + "\n";
    }
    text += "\n'layerscope-cli COMMAND --help' lists a command's options.\n"
            "Exit codes: 0 success, 2 bad input or usage, 1 internal failure, 130 interrupted.\n";
    return text;
}

}  // namespace

int runCommandLine(int argc, char** argv, const ComputeRunner& compute) {
    const std::string first = argc >= 2 ? argv[1] : "";
    if (argc < 2 || first == "--help" || first == "-h") {
        std::fputs(overview().c_str(), argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (const Command& command : allCommands()) {
        if (command.spec.name != first) continue;
        try {
            const Args args = parseArgs(command.spec, argc, argv);
            if (args.help) {
                std::fputs(helpText(command.spec).c_str(), stdout);
                return 0;
            }
            if (command.needsCompute && command.needsCompute(args)) return compute(command, args);
            return command.run(args);
        } catch (const ls::ParamError& e) {  // core names the parameter; here it is an option
            std::fprintf(stderr, "error: --%s: %s\n", e.key().c_str(), e.problem().c_str());
            return 2;
        } catch (const ls::Canceled&) {
            std::fprintf(stderr, "\ninterrupted: nothing was written\n");
            return 130;
        } catch (const ls::Error& e) {
            std::fprintf(stderr, "error: %s\n", e.what());
            return 2;
        } catch (const std::exception& e) {
            std::fprintf(stderr, "error: internal failure: %s\n", e.what());
            return 1;
        }
    }
    std::fprintf(stderr, "error: unknown command '%s' (see layerscope-cli --help)\n", first.c_str());
    return 2;
}

}  // namespace cli
