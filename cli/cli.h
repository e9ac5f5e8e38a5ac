/* duet — subcommands of the duet command. Each takes argv starting at its own name and returns
 * the process exit code (0 ok, 1 failure, 2 usage error). */
#ifndef DUET_CLI_H
#define DUET_CLI_H

int duet_cmd_info(int argc, char **argv);
int duet_cmd_bench(int argc, char **argv);
int duet_cmd_dit(int argc, char **argv);
int duet_cmd_render(int argc, char **argv);
int duet_cmd_batch(int argc, char **argv);
int duet_cmd_play(int argc, char **argv);

#endif
