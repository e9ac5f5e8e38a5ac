/* duet — `duet info`: version, the backends this build has, and what each can open. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/backend.h"
#include "core/log.h"

int duet_cmd_info(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: duet info\n\nPrints the version, the backends and the Vulkan devices.\n");
            return 0;
        }
        fprintf(stderr, "duet info: unknown option '%s'\n", argv[i]);
        return 2;
    }
    printf("duet %s\n", DUET_VERSION);
    printf("backends:\n");
    const duet_backend_kind kinds[] = {DUET_BACKEND_CPU, DUET_BACKEND_VULKAN};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        duet_backend_params p = duet_backend_default_params();
        p.kind = kinds[i];
        duet_backend *be = NULL;
        duet_status st = duet_backend_new(&p, &be);
        if (st == DUET_OK) printf("  %s\n", duet_backend_name(be));
        else printf("  %s: unavailable (%s)\n", i ? "vulkan" : "cpu", duet_status_str(st));
        duet_backend_free(&be);
    }
    return 0;
}
