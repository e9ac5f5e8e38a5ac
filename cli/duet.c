/* duet — the command-line entry point: dispatches to subcommands (info, bench, render, batch, play, ...). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f) {
    fprintf(f,
            "usage: duet <command> [options]\n"
            "\n"
            "commands:\n"
            "  info               version, backends and every Vulkan device with its features\n"
            "  bench ops          time each op per backend (GFLOP/s, GB/s, ratio to OpenBLAS)\n"
            "  dit                one evaluation of the joint audio-video DiT (probe, golden tests)\n"
            "  render JOB.json    render a shot script to an MP4 (docs/job-script.md)\n"
            "  batch JOBS|DIR     render many job scripts (--resume, --shard i/N)\n"
            "  play FILE          play a WAV or an MP4's audio on an output device\n"
            "  help               this text\n"
            "\n"
            "Run 'duet <command> --help' for a command's options.\n");
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version")) {
        printf("duet %s\n", DUET_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "info")) return duet_cmd_info(argc - 1, argv + 1);
    if (!strcmp(cmd, "bench")) return duet_cmd_bench(argc - 1, argv + 1);
    if (!strcmp(cmd, "dit")) return duet_cmd_dit(argc - 1, argv + 1);
    if (!strcmp(cmd, "render")) return duet_cmd_render(argc - 1, argv + 1);
    if (!strcmp(cmd, "batch")) return duet_cmd_batch(argc - 1, argv + 1);
    if (!strcmp(cmd, "play")) return duet_cmd_play(argc - 1, argv + 1);
    fprintf(stderr, "duet: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
