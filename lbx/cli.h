/* SPDX-License-Identifier: MIT */
/* lbx's command-line interface: one function per subcommand. */
#ifndef LBX_CLI_H
#define LBX_CLI_H

#include <stddef.h>

/* Each returns the process exit status. argv[0] is the subcommand name. */
int lbx_cmd_exec(int argc, char **argv);
int lbx_cmd_enter(int argc, char **argv);
int lbx_cmd_up(int argc, char **argv);
int lbx_cmd_down(int argc, char **argv);
int lbx_cmd_status(int argc, char **argv);
int lbx_cmd_ls(int argc, char **argv);
int lbx_cmd_logs(int argc, char **argv);
int lbx_cmd_rm(int argc, char **argv);
int lbx_cmd_net(int argc, char **argv);
int lbx_cmd_build(int argc, char **argv);
/* Hidden: what `lbx up` would run, as JSON (cmd_engine_argv.c; for tests). */
int lbx_cmd_engine_argv(int argc, char **argv);
int lbx_cmd_allow(int argc, char **argv);
int lbx_cmd_device(int argc, char **argv);

/*
 * $XDG_RUNTIME_DIR/lbx/NAME/FILE (or /run/user/UID/... , else /tmp/lbx-UID/...)
 * into buf; -EINVAL for a name that is not a valid box name.
 */
int lbx_runtime_path(const char *name, const char *file, char *buf, size_t sz);
/* Box names: 1-63 of a-z A-Z 0-9 . _ -, not starting with . or -. */
int lbx_valid_box_name(const char *name);

#endif
