#pragma once
// The waiting policy of the two thread pools every forward pass uses.
//
// LibTorch's element-wise ops run on OpenMP's threads (libgomp) and its matrix products on
// OpenBLAS's own threads. After its work each pool's threads keep spinning for a while, and
// on a machine with few cores the spinning threads of one pool take the cores the other pool
// needs next (measured on 2 cores: GPT-2-small eval at 310-350 tokens/s with the defaults,
// 450-520 with short spins). Both libraries read their setting once, when they are loaded,
// before main() runs; so a program calls tuneThreadPools first thing in main(): unless the user
// set them already, it sets GOMP_SPINCOUNT and OPENBLAS_THREAD_TIMEOUT and re-executes itself,
// once (loading LibTorch twice costs about 0.8 s, so the CLI does it only for the commands that
// compute). It returns when nothing needed changing or the re-execution failed.

namespace ls {

void tuneThreadPools(char** argv);

}  // namespace ls
