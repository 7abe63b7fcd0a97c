// layerscope: sets the thread pools' environment and runs the desktop app from its module
// (gui_module.cpp; common/program_module.h says why).
#include "common/program_module.h"

int main(int argc, char** argv) { return ls::runProgramModule("layerscope-gui", argc, argv); }
