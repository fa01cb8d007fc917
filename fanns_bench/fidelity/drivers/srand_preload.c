/* Seeds the C library's rand() before a program's main, through LD_PRELOAD: for authors'
   programs that draw from rand() without ever seeding it (NHQ-KGraph's index_construction).
   `fanns-bench fidelity nhq_kgraph --builds N` runs their build b with FANNS_SRAND=b+1 (b = 0
   is their program as published: an unseeded rand() is srand(1)) and ours with seed b. Build:
   gcc -shared -fPIC -O2 srand_preload.c -o libfanns_srand.so */
#include <stdlib.h>

__attribute__((constructor)) static void fanns_srand(void) {
  const char *seed = getenv("FANNS_SRAND");
  if (seed != NULL && *seed != '\0') srand((unsigned)strtoul(seed, NULL, 10));
}
