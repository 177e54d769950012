/* SPDX-License-Identifier: MIT */
/* `cordon ca show|path|rotate`: the CA of TLS interception. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/cleanup.h"
#include "common/fd.h"
#include "policy/load.h"
#include "proxy/ca.h"
#include "session/session.h"

static const char ca_usage[] =
    "Usage: cordon ca show [--pem]\n"
    "       cordon ca path [--key]\n"
    "       cordon ca rotate\n"
    "\n"
    "The certificate authority cordon's proxy uses to read TLS to the hosts that\n"
    "network.rules or credentials.inject name (see cordon-policy(5)). It is made\n"
    "on first use, in ~/.config/cordon/ca/ (ca.key mode 0600, ca.crt), and only\n"
    "sandboxes trust it: the proxy mints a certificate per host, and the sandbox\n"
    "gets a CA bundle with it. The key is masked inside every sandbox.\n"
    "\n"
    "show    where the CA is, its subject, SHA-256 fingerprint and validity\n"
    "        (made now if there is none); --pem adds the certificate itself\n"
    "path    the certificate's path (made now if there is none); --key: the key's\n"
    "rotate  replace the CA with a new one; sessions started from now on use it,\n"
    "        running ones keep theirs\n"
    "\n"
    "Exit status: 0 done; 125 an error (said on stderr).\n";

static int
ca_paths(struct px_ca_paths *p, struct cordon_err *err)
{
	char home[PATH_MAX], dir[PATH_MAX];
	bool have_home = session_home(home, sizeof(home)) == 0;

	if (policy_config_dir(have_home ? home : NULL, dir, sizeof(dir)) < 0) {
		cordon_err_set(err, 0, "no configuration directory for the CA");
		return cordon_err_hint(err, "set HOME");
	}
	return px_ca_paths_for(dir, p, err);
}

static int
ensure(const struct px_ca_paths *p, struct cordon_err *err)
{
	bool created = false;

	if (px_ca_ensure(p, &created, err) < 0)
		return -1;
	if (created)
		fprintf(stderr, "cordon: made the interception CA %s\n", p->crt);
	return 0;
}

static int
print_file(const char *path, struct cordon_err *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	_cleanup_free_ char *text = NULL;
	size_t len = 0;

	if (fd < 0 || (text = fd_read_whole(fd, 1u << 20, &len)) == NULL)
		return cordon_err_set(err, errno, "read %s", path);
	fwrite(text, 1, len, stdout);
	return 0;
}

int
cli_ca(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pem", no_argument, NULL, 'p' },
		{ "key", no_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cordon_err err = { 0 };
	struct px_ca_paths p;
	const char *sub;
	bool pem = false, key = false;
	char desc[2048];
	int c;

	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(ca_usage, argc < 2 ? stderr : stdout);
		return argc < 2 ? 125 : 0;
	}
	sub = argv[1];
	optind = 1;
	while ((c = getopt_long(argc - 1, argv + 1, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			pem = true;
			break;
		case 'k':
			key = true;
			break;
		case 'h':
			fputs(ca_usage, stdout);
			return 0;
		default:
			return cli_usage_error("ca", "bad option for `cordon ca %s`", sub);
		}
	}
	if (optind < argc - 1)
		return cli_usage_error("ca", "unexpected argument '%s'", argv[1 + optind]);
	if ((pem && strcmp(sub, "show") != 0) || (key && strcmp(sub, "path") != 0))
		return cli_usage_error("ca", "%s is for `cordon ca %s`", pem ? "--pem" : "--key",
				       pem ? "show" : "path");
	if (ca_paths(&p, &err) < 0)
		goto fail;
	if (strcmp(sub, "path") == 0) {
		if (ensure(&p, &err) < 0)
			goto fail;
		printf("%s\n", key ? p.key : p.crt);
		return 0;
	}
	if (strcmp(sub, "show") == 0) {
		if (ensure(&p, &err) < 0 || px_ca_describe(&p, desc, sizeof(desc), &err) < 0)
			goto fail;
		fputs(desc, stdout);
		if (pem && print_file(p.crt, &err) < 0)
			goto fail;
		return 0;
	}
	if (strcmp(sub, "rotate") == 0) {
		if (px_ca_rotate(&p, &err) < 0 || px_ca_describe(&p, desc, sizeof(desc), &err) < 0)
			goto fail;
		printf("made a new interception CA; sessions started from now on use it\n%s", desc);
		return 0;
	}
	return cli_usage_error("ca", "unknown subcommand '%s' (show, path, rotate)", sub);
fail:
	cli_print_err(&err);
	return 125;
}
