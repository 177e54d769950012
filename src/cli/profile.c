/* SPDX-License-Identifier: MIT */
/*
 * The profile's part of the command: `cordon run --profile claude --
 * claude` and `cordon claude` are one path. When the command is an agent
 * profile's program, the agent is found on the host the way its installers
 * put it, its arguments (its own sandbox off, cordon's hook) go before the
 * user's, and the cordon binary the hook names is bound at a fixed path
 * inside. --allow-loopback puts cordon's relay in front of the command.
 * Also NO_PROXY for inside (cordon's entries plus the user's).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/policy_run.h"
#include "common/cleanup.h"
#include "common/log.h"
#include "common/xalloc.h"
#include "presets/presets.h"

#define SHIM_TAG "cordon-shim" /* marks a wrapper written by `cordon shim install` */

bool
cli_is_shim(const char *path, bool follow)
{
	_cleanup_close_ int fd =
	    open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (follow ? 0 : O_NOFOLLOW));
	char buf[512];
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return strstr(buf, SHIM_TAG) != NULL;
}

static bool
executable(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, X_OK) == 0;
}

char *
cli_agent_find(const char *name, const char *home)
{
	const char *path = getenv("PATH");
	_cleanup_free_ char *copy = xstrdup(path ? path : "/usr/local/bin:/usr/bin:/bin");
	static const char *const extra[] = { ".local/bin", ".claude/local" };

	if (strchr(name, '/') != NULL)
		return xstrdup(name);
	for (char *save = NULL, *dir = strtok_r(copy, ":", &save); dir != NULL;
	     dir = strtok_r(NULL, ":", &save)) {
		_cleanup_free_ char *cand = NULL;

		if (dir[0] != '/')
			continue; /* a relative PATH entry depends on the cwd: skip */
		cand = xasprintf("%s/%s", dir, name);
		if (executable(cand) && !cli_is_shim(cand, true))
			return steal_ptr(cand);
	}
	/* Native installers put the agent in ~/.local/bin, which a PATH may lack. */
	for (size_t i = 0; home != NULL && i < ARRAY_SIZE(extra); i++) {
		_cleanup_free_ char *cand = xasprintf("%s/%s/%s", home, extra[i], name);

		if (executable(cand) && !cli_is_shim(cand, true))
			return steal_ptr(cand);
	}
	return NULL;
}

static bool
under(const char *p, const char *dir)
{
	size_t n = strlen(dir);

	return n > 0 && strncmp(p, dir, n) == 0 && (p[n] == '/' || p[n] == '\0');
}

/* The agent preset of rp's profile that runs cmd0, or NULL. */
static const struct cordon_preset *
agent_for(const struct session_policy *rp, const char *cmd0)
{
	const char *base = strrchr(cmd0, '/');
	char names[256], *save = NULL;

	base = base ? base + 1 : cmd0;
	if (rp->profile == NULL ||
	    snprintf(names, sizeof(names), "%s", rp->profile) >= (int)sizeof(names))
		return NULL;
	for (char *n = strtok_r(names, ",", &save); n != NULL; n = strtok_r(NULL, ",", &save)) {
		const struct cordon_preset *p = preset_lookup(n);

		if (p != NULL && p->kind == PRESET_AGENT &&
		    (rp->as_agent || strcmp(base, p->program) == 0))
			return p;
	}
	return NULL;
}

static int
add_mount(struct sb_mount *mounts, size_t *n, size_t max, char *path, char *origin, char *target,
	  struct cordon_err *err)
{
	if (*n == max) {
		free(path);
		cordon_err_set(err, E2BIG, "more than %zu path rules", max);
		return cordon_err_hint(err, "use fewer path rules");
	}
	memset(&mounts[*n], 0, sizeof(mounts[*n]));
	mounts[*n].kind = SB_MOUNT_RO;
	mounts[*n].path = path;
	mounts[*n].origin = origin;
	mounts[*n].target = target;
	(*n)++;
	return 0;
}

/* This binary at CLI_SELF_INSIDE, once. */
static int
bind_self(struct sb_mount *mounts, size_t *n, size_t max, struct cordon_err *err)
{
	char *self;

	for (size_t i = 0; i < *n; i++)
		if (mounts[i].target != NULL && strcmp(mounts[i].target, CLI_SELF_INSIDE) == 0)
			return 0;
	self = realpath("/proc/self/exe", NULL);
	if (self == NULL)
		return cordon_err_set(err, errno, "cannot find the cordon binary to bind inside");
	return add_mount(mounts, n, max, self, (char *)"cordon (agent hook, loopback relay)",
			 (char *)CLI_SELF_INSIDE, err);
}

static int
port_of(const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 1 || v > 65535 || s[0] == '+' ||
	    s[0] == '-')
		return -1;
	return (int)v;
}

const char *
cli_loopback_port(const char *pattern)
{
	static const char *const hosts[] = { "127.0.0.1:", "localhost:", "[::1]:" };

	for (size_t i = 0; i < ARRAY_SIZE(hosts); i++)
		if (strncasecmp(pattern, hosts[i], strlen(hosts[i])) == 0 &&
		    port_of(pattern + strlen(hosts[i])) > 0)
			return pattern + strlen(hosts[i]);
	return NULL;
}

/*
 * --allow-loopback PORT as network rules of the command-line layer: the
 * proxy then lets exactly 127.0.0.1:PORT and [::1]:PORT through (an allow
 * rule for an address inside a refused range is the one way past the
 * proxy's address checks). Called by cli_run_policy_apply and
 * `policy show`.
 */
int
cli_run_policy_loopback_rules(struct session_policy *rp, struct cordon_policy *cli,
			      struct cordon_err *err)
{
	/* Checked here, where run and `policy show` both pass first. */
	if (rp->policy_twice) {
		cordon_err_set(err, 0,
			       "--policy given more than once (the last would replace the "
			       "others, not add to them)");
		return cordon_err_hint(err, "give one --policy file: put the rules of both in it, "
					    "or keep one in your settings (cordon policy show "
					    "lists where they are read)");
	}
	if (rp->loopback_overflow) {
		cordon_err_set(err, E2BIG, "more than %d --allow-loopback", CLI_MAX_LOOPBACK);
		return cordon_err_hint(err, "name the ports the command needs");
	}
	for (size_t i = 0; i < rp->n_loopback; i++) {
		int port = port_of(rp->loopback[i]);
		char v4[32], v6[32];

		if (port < 0) {
			cordon_err_set(err, EINVAL, "--allow-loopback %s: not a port number",
				       rp->loopback[i]);
			return cordon_err_hint(err,
					       "give the TCP port of the service on this "
					       "machine's loopback, e.g. --allow-loopback 8080");
		}
		snprintf(v4, sizeof(v4), "127.0.0.1:%d", port);
		snprintf(v6, sizeof(v6), "[::1]:%d", port);
		if (policy_add_rule(cli, POLICY_NET_ALLOWED_DOMAINS, v4, POLICY_LAYER_CLI, err) <
			0 ||
		    policy_add_rule(cli, POLICY_NET_ALLOWED_DOMAINS, v6, POLICY_LAYER_CLI, err) < 0)
			return -1;
	}
	return 0;
}

/* "@CORDON@" -> CLI_SELF_INSIDE. */
static char *
subst_self(const char *arg)
{
	const char *at = strstr(arg, "@CORDON@");

	if (at == NULL)
		return xstrdup(arg);
	return xasprintf("%.*s%s%s", (int)(at - arg), arg, CLI_SELF_INSIDE, at + 8);
}

static void
push(char ***v, size_t *n, char *s)
{
	*v = xrealloc(*v, (*n + 2) * sizeof(**v));
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

int
cli_run_policy_command(struct session_policy *rp, char *const *cmd, struct sb_mount *mounts,
		       size_t *n_mounts, size_t max, struct cordon_err *err)
{
	const struct cordon_preset *agent = agent_for(rp, cmd[0]);
	const char *home = rp->have_home ? rp->home : NULL;
	_cleanup_free_ char *prog = NULL;
	char **v = NULL;
	size_t n = 0;
	bool self = false;

	if (agent != NULL) {
		prog = cli_agent_find(cmd[0], home);
		if (prog == NULL) {
			cordon_err_set(err, 0,
				       "%s (%s) is not installed: not in PATH, ~/.local/bin or "
				       "~/.claude/local",
				       cmd[0], agent->summary);
			return cordon_err_hint(err,
					       "install it with `%s`, or name the program with "
					       "`cordon %s --bin PATH`",
					       agent->install, agent->name);
		} else {
			char *real = realpath(prog, NULL);

			/*
			 * An agent installed in the home (~/.local/bin/claude ->
			 * ~/.local/share/claude/versions/X, an npm prefix under ~):
			 * its directory read-only, run by its real path, so that it
			 * is there in the private home a root invoker gets.
			 */
			if (real != NULL && home != NULL && under(real, home)) {
				char *dir = xstrdup(real);

				*strrchr(dir, '/') = '\0';
				if (add_mount(mounts, n_mounts, max, dir, (char *)"agent program",
					      NULL, err) < 0) {
					free(real);
					return -1;
				}
				free(prog);
				prog = steal_ptr(real);
			}
			free(real);
		}
		for (size_t i = 0; agent->agent_args != NULL && agent->agent_args[i] != NULL; i++)
			self = self || strstr(agent->agent_args[i], "@CORDON@") != NULL;
	}
	if (rp->n_loopback > 0) {
		char ports[CLI_MAX_LOOPBACK * 8] = "";
		size_t o = 0;

		for (size_t i = 0; i < rp->n_loopback; i++)
			o += (size_t)snprintf(ports + o, sizeof(ports) - o, "%s%d", i ? "," : "",
					      port_of(rp->loopback[i]));
		push(&v, &n, xstrdup(CLI_SELF_INSIDE));
		push(&v, &n, xstrdup("__loopback-relay"));
		push(&v, &n, xstrdup(ports));
		push(&v, &n, xstrdup("--"));
		self = true;
	}
	if (self && bind_self(mounts, n_mounts, max, err) < 0) {
		for (size_t i = 0; i < n; i++)
			free(v[i]);
		free(v);
		return -1;
	}
	push(&v, &n, prog ? steal_ptr(prog) : xstrdup(cmd[0]));
	for (size_t i = 0; agent != NULL && agent->agent_args != NULL && agent->agent_args[i]; i++)
		push(&v, &n, subst_self(agent->agent_args[i]));
	for (size_t i = 1; cmd[i] != NULL; i++)
		push(&v, &n, xstrdup(cmd[i]));
	if (agent != NULL)
		log_debug("running %s as the %s agent, with its preset's arguments",
			  v[rp->n_loopback > 0 ? 4 : 0], agent->name);
	rp->argv = v;
	return 0;
}

/* ---- NO_PROXY ---- */

static bool
listed(const char *list, const char *s, size_t len)
{
	for (const char *p = list; *p;) {
		const char *e = strchr(p, ',');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == len && strncasecmp(p, s, len) == 0)
			return true;
		p += n + (e != NULL);
	}
	return false;
}

char *
cli_no_proxy_assignment(const char *name, char *const *env)
{
	static const char *const names[] = { "NO_PROXY=", "no_proxy=" };
	char *out = xasprintf("%s=localhost,127.0.0.1,::1", name);
	size_t skip = strlen(name) + 1;

	for (size_t k = 0; k < ARRAY_SIZE(names); k++) {
		for (size_t i = 0; env != NULL && env[i] != NULL; i++) {
			const char *val;

			if (strncmp(env[i], names[k], strlen(names[k])) != 0)
				continue;
			val = env[i] + strlen(names[k]);
			for (const char *p = val; *p;) {
				const char *s = p, *e;
				size_t len;

				while (*s == ' ' || *s == '\t')
					s++;
				e = s;
				while (*e && *e != ',')
					e++;
				len = (size_t)(e - s);
				while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
					len--;
				if (len > 0 && len < 1024 && !listed(out + skip, s, len)) {
					char *more = xasprintf("%s,%.*s", out, (int)len, s);

					free(out);
					out = more;
				}
				p = *e ? e + 1 : e;
			}
		}
	}
	return out;
}
