#include "default_inputs.h"

DefaultInputs resolveDefaultInputs() {
    return {};
}
