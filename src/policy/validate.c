/* SPDX-License-Identifier: MIT */
/*
 * Checks on single values of the policy schema. Pure: no syscalls, no
 * allocation. Each checker explains what it expected in `why`.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/policy.h"
#include "proxy/http_rules.h"

static bool fail(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static bool
fail(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return false;
}

void
policy_sanitize(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	if (len == 0)
		return;
	for (; s != NULL && *s && o + 1 < len; s++) {
		unsigned char ch = (unsigned char)*s;

		buf[o++] = (ch >= 0x20 && ch != 0x7f) ? *s : '?';
	}
	if (s != NULL && *s && len > 4) {
		memcpy(buf + len - 4, "...", 3);
		o = len - 1;
	}
	buf[o] = '\0';
}

bool
policy_has_glob(const char *s)
{
	return strpbrk(s, "*?[{") != NULL;
}

static bool
has_ctl(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* What every path in a policy is: not empty, bounded, no control character. */
static bool
path_basics(const char *s, char *why, size_t len)
{
	if (s[0] == '\0')
		return fail(why, len, "expected a path, got an empty string");
	if (strlen(s) >= PATH_MAX)
		return fail(why, len, "path longer than %d bytes", PATH_MAX - 1);
	if (has_ctl(s))
		return fail(why, len, "path contains a control character");
	return true;
}

bool
policy_check_path(const char *s, char *why, size_t len)
{
	if (!path_basics(s, why, len))
		return false;
	if (s[0] == '~' && s[1] != '\0' && s[1] != '/')
		return fail(why, len,
			    "`~name` paths are not supported; expected `~`, `~/...`, "
			    "an absolute path or a path relative to the workspace");
	if (strstr(s, "**") != NULL) {
		/* `**` only as a whole path component. */
		for (const char *p = strstr(s, "**"); p != NULL; p = strstr(p + 2, "**")) {
			bool start = p == s || p[-1] == '/';
			bool end = p[2] == '\0' || p[2] == '/';

			if (!start || !end || p[2] == '*')
				return fail(why, len,
					    "`**` must be a whole path component, as in "
					    "`**/*.pem`");
		}
	}
	return true;
}

static bool
host_label_char(char c)
{
	return isalnum((unsigned char)c) || c == '-' || c == '_' || (unsigned char)c >= 0x80;
}

/* IPv4 dotted quad or IPv6 literal (possibly with /prefix). */
static bool
ip_literal(const char *s, size_t n, int *maxbits)
{
	size_t i;
	int dots = 0, colons = 0;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] == '.')
			dots++;
		else if (s[i] == ':')
			colons++;
		else if (!isxdigit((unsigned char)s[i]))
			return false;
	}
	if (colons >= 2) {
		*maxbits = 128;
		return true;
	}
	if (colons != 0 || dots != 3)
		return false;
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]) && s[i] != '.')
			return false;
	*maxbits = 32;
	{
		unsigned a, b, c, d;
		char tail;
		char tmp[64];

		if (n >= sizeof(tmp))
			return false;
		memcpy(tmp, s, n);
		tmp[n] = '\0';
		if (sscanf(tmp, "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) != 4)
			return false;
		return a < 256 && b < 256 && c < 256 && d < 256;
	}
}

bool
policy_check_domain(const char *s, char *why, size_t len)
{
	const char *host = s, *end;
	size_t n = strlen(s);
	int maxbits = 0;

	if (n == 0)
		return fail(why, len, "expected a domain, got an empty string");
	if (n > 260)
		return fail(why, len, "domain longer than 253 characters");
	if (strcmp(s, "*") == 0)
		return fail(why, len,
			    "a bare `*` would allow every host; name the domains "
			    "(`*.example.com` covers its subdomains)");
	if (strstr(s, "://") != NULL) {
		const char *h = strstr(s, "://") + 3;
		int hl = (int)strcspn(h, "/?#@");

		return fail(why, len, "a URL, not a domain: write `%.*s`", hl > 200 ? 200 : hl, h);
	}
	if (s[0] == '.' && s[1] != '\0' && s[1] != '.')
		return fail(why, len,
			    "a leading dot: did you mean `*%s` (its subdomains) or `%s` (the "
			    "host itself)?",
			    s, s + 1);
	/* [v6]:port, v4/len, v6/len, host:port */
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');
		unsigned long port;
		char *e;

		if (rb == NULL || !ip_literal(s + 1, (size_t)(rb - s - 1), &maxbits) ||
		    maxbits != 128)
			return fail(why, len, "expected `[IPv6]` or `[IPv6]:port`");
		if (rb[1] == '\0')
			return true;
		if (rb[1] != ':')
			return fail(why, len, "expected `[IPv6]:port`");
		if (strcmp(rb + 2, "*") == 0)
			return true; /* every port */
		port = strtoul(rb + 2, &e, 10);
		if (rb[2] == '\0' || *e != '\0' || port == 0 || port > 65535)
			return fail(why, len, "port must be 1-65535");
		return true;
	}
	{
		const char *slash = strchr(s, '/');

		if (slash != NULL) {
			unsigned long bits;
			char *e;

			if (!ip_literal(s, (size_t)(slash - s), &maxbits))
				return fail(why, len,
					    "a `/prefix` is only allowed after an IP "
					    "address (CIDR)");
			bits = strtoul(slash + 1, &e, 10);
			if (slash[1] == '\0' || *e != '\0' || bits > (unsigned long)maxbits)
				return fail(why, len, "CIDR prefix must be 0-%d", maxbits);
			return true;
		}
	}
	if (ip_literal(s, n, &maxbits))
		return true;
	end = strrchr(s, ':');
	if (end != NULL) {
		unsigned long port;
		char *e;

		port = strtoul(end + 1, &e, 10);
		if (strcmp(end + 1, "*") != 0 &&
		    (end[1] == '\0' || *e != '\0' || port == 0 || port > 65535))
			return fail(why, len,
				    "expected `host`, `host:port` with port 1-65535, or `host:*`");
		n = (size_t)(end - s);
	}
	if (n > 0 && host[n - 1] == '.')
		n--; /* trailing dot: same name */
	if (n == 0)
		return fail(why, len, "expected a domain name");
	if (host[0] == '*') {
		if (n < 3 || host[1] != '.')
			return fail(why, len,
				    "a wildcard must be a whole first label, as in "
				    "`*.example.com`");
		host += 2;
		n -= 2;
	}
	for (size_t i = 0, lab = 0; i <= n; i++) {
		if (i == n || host[i] == '.') {
			if (lab == 0)
				return fail(why, len, "empty label in domain name");
			if (lab > 63)
				return fail(why, len, "label longer than 63 characters");
			lab = 0;
			continue;
		}
		if (host[i] == '*')
			return fail(why, len,
				    "a wildcard must be a whole first label, as in "
				    "`*.example.com`");
		if (!host_label_char(host[i]))
			return fail(why, len, "invalid character '%c' in domain name",
				    isprint((unsigned char)host[i]) ? host[i] : '?');
		lab++;
	}
	return true;
}

bool
policy_check_host(const char *s, char *why, size_t len)
{
	if (!policy_check_domain(s, why, len))
		return false;
	if (strchr(s, '/') != NULL)
		return fail(
		    why, len,
		    "a CIDR names many hosts; rules and injected credentials name one "
		    "host (`example.com`, `*.example.com`, an address), optionally `:port`");
	return true;
}

bool
policy_check_env_pattern(const char *s, char *why, size_t len)
{
	if (s[0] == '\0')
		return fail(why, len, "expected a variable name or pattern, got an empty string");
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '*' && *p != '?')
			return fail(why, len,
				    "expected a variable name (letters, digits, `_`) "
				    "with optional `*` and `?` wildcards");
	return true;
}

bool
policy_check_env_name(const char *s, char *why, size_t len)
{
	if (s[0] == '\0' || isdigit((unsigned char)s[0]))
		return fail(why, len, "expected a variable name");
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_')
			return fail(why, len, "expected a variable name (letters, digits, `_`)");
	return true;
}

bool
policy_check_method(const char *s, char *why, size_t len)
{
	if (s[0] == '\0' || strlen(s) > 32)
		return fail(why, len, "expected an HTTP method such as \"GET\"");
	for (const char *p = s; *p; p++)
		if (!isupper((unsigned char)*p))
			return fail(why, len,
				    "expected an HTTP method in capitals, such as "
				    "\"GET\"");
	return true;
}

bool
policy_check_url_path(const char *s, char *why, size_t len)
{
	if (s[0] != '/')
		return fail(why, len, "expected a URL path starting with `/`");
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return fail(why, len, "URL path contains a space or control character");
	if (strpbrk(s, "?#") != NULL)
		return fail(why, len,
			    "a path pattern matches the path only: leave out the query (`?`) "
			    "and fragment (`#`)");
	return true;
}

bool
policy_check_header(const char *s, char *why, size_t len)
{
	if (s[0] == '\0')
		return fail(why, len, "expected a header name");
	for (const char *p = s; *p; p++)
		if (!isalnum((unsigned char)*p) && strchr("!#$%&'*+-.^_`|~", *p) == NULL)
			return fail(why, len, "expected a header name (letters, digits, `-`)");
	return true;
}

bool
policy_check_inject_header(const char *s, char *why, size_t len)
{
	/* fields that frame the message or the connection: never the proxy's to set */
	static const char *const framing[] = {
		"Host",
		"Content-Length",
		"Transfer-Encoding",
		"Connection",
		"Upgrade",
		"TE",
		"Trailer",
		"Keep-Alive",
		"Expect",
		"Proxy-Authorization",
		"Proxy-Connection",
	};

	if (!policy_check_header(s, why, len))
		return false;
	for (size_t i = 0; i < sizeof(framing) / sizeof(framing[0]); i++)
		if (strcasecmp(s, framing[i]) == 0)
			return fail(why, len,
				    "%s frames the request or the connection and cannot carry a "
				    "credential; use Authorization or the API's own header",
				    framing[i]);
	return true;
}

bool
policy_check_header_value(const char *s, char *why, size_t len)
{
	for (const char *p = s; *p; p++)
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return fail(why, len, "a header value cannot hold a control character");
	return true;
}

bool
policy_check_inject_file(const char *s, char *why, size_t len)
{
	if (!path_basics(s, why, len))
		return false;
	if (s[0] != '/' && strncmp(s, "~/", 2) != 0)
		return fail(why, len,
			    "expected an absolute path or `~/...`: the file is read on the host, "
			    "where no workspace is implied");
	if (strcspn(s, "*?[") != strlen(s))
		return fail(why, len, "expected one file, not a pattern");
	return true;
}

bool
policy_check_basic_user(const char *s, char *why, size_t len)
{
	if (s[0] == '\0')
		return fail(why, len, "expected a user name, got an empty string");
	if (strchr(s, ':') != NULL)
		return fail(why, len, "a Basic user name cannot hold `:` (RFC 7617)");
	if (has_ctl(s))
		return fail(why, len, "a user name cannot hold a control character");
	return true;
}

bool
policy_check_url(const char *s, char *why, size_t len)
{
	if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
		return fail(why, len, "expected an http:// or https:// URL");
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return fail(why, len, "URL contains a space or control character");
	return true;
}

bool
policy_parse_memory(const char *s, uint64_t *bytes, char *why, size_t len)
{
	uint64_t v = 0, mul = 1;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return fail(why, len, "expected a size such as \"512m\" or \"4g\"");
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return fail(why, len, "size too large");
		v = v * 10 + (uint64_t)(*p - '0');
	}
	switch (tolower((unsigned char)*p)) {
	case '\0':
		break;
	case 'k':
		mul = 1ull << 10;
		p++;
		break;
	case 'm':
		mul = 1ull << 20;
		p++;
		break;
	case 'g':
		mul = 1ull << 30;
		p++;
		break;
	case 't':
		mul = 1ull << 40;
		p++;
		break;
	default:
		return fail(why, len,
			    "expected a size such as \"512m\" or \"4g\" (units k, m, g, t)");
	}
	if (*p == 'b' || *p == 'B')
		p++;
	if (*p != '\0')
		return fail(why, len,
			    "expected a size such as \"512m\" or \"4g\" (units k, m, g, t)");
	if (v == 0)
		return fail(why, len, "size must be greater than zero");
	if (v > UINT64_MAX / mul)
		return fail(why, len, "size too large");
	*bytes = v * mul;
	return true;
}

/*
 * Keys this version parses but cannot enforce. Accepting one would promise
 * a wall that is not there, so a file that uses one is refused, as a bad
 * policy is. network.rules and credentials.inject are enforced (the proxy
 * reads the requests to the hosts they name, TLS included); what cannot be
 * is such an entry for a host tls.bypass keeps unread, refused here (a key
 * added to the parser before it is enforced goes here too, never in
 * silence).
 */
int
policy_refuse_unenforced(const struct cordon_policy *pol, struct cordon_err *err)
{
	return policy_check_tls_bypass(pol, err);
}

/*
 * A host pattern as the proxy reads it (px_host_pat_parse: IDNA, address
 * spellings, case, brackets), so that a conflict is found exactly where
 * the proxy would apply both. "HOST:*" is any port. false: not a host.
 */
static bool
host_pat(const char *s, struct px_host_pat *p)
{
	char buf[PX_HOST_MAX + 16];
	size_t n = strlen(s);

	if (n >= sizeof(buf))
		return false;
	memcpy(buf, s, n + 1);
	if (n > 2 && strcmp(buf + n - 2, ":*") == 0)
		buf[n - 2] = '\0';
	return px_host_pat_parse(buf, p) == 0;
}

bool
policy_hosts_overlap(const char *a, const char *b)
{
	struct px_host_pat pa, pb;
	size_t la, lb;

	/* One the proxy cannot read is taken as overlapping: refused, never bypassed unseen. */
	if (!host_pat(a, &pa) || !host_pat(b, &pb))
		return true;
	if (pa.port != 0 && pb.port != 0 && pa.port != pb.port)
		return false;
	pa.port = pb.port = 0; /* the names alone from here */
	la = strlen(pa.name);
	lb = strlen(pb.name);
	if (pa.wildcard && pb.wildcard) /* one suffix within the other */
		return la >= lb
			   ? px_host_pat_match(&pb, pa.name, 0) || strcmp(pa.name, pb.name) == 0
			   : px_host_pat_match(&pa, pb.name, 0);
	if (pa.wildcard)
		return px_host_pat_match(&pa, pb.name, 0);
	if (pb.wildcard)
		return px_host_pat_match(&pb, pa.name, 0);
	return strcmp(pa.name, pb.name) == 0;
}

/* The message names both entries; the other one's origin short when in the same file. */
static int
bypass_conflict(const struct policy_rule *by, const char *key, const char *host,
		const struct policy_origin *o, struct cordon_err *err)
{
	char v[128], h[128], file[128], org[300];

	policy_sanitize(by->value, v, sizeof(v));
	policy_sanitize(host, h, sizeof(h));
	if (o->file != NULL && by->origin.file != NULL && strcmp(o->file, by->origin.file) == 0)
		snprintf(org, sizeof(org), "line %u", o->line);
	else
		policy_origin_format(o, org, sizeof(org));
	if (by->origin.file != NULL) {
		policy_sanitize(by->origin.file, file, sizeof(file));
		cordon_err_set(err, 0,
			       "%s:%u:%u: key `sandbox.tls.bypass`: \"%s\" conflicts with %s "
			       "\"%s\" (%s), which needs the tunnel read",
			       file, by->origin.line, by->origin.col, v, key, h, org);
	} else {
		cordon_err_set(err, 0,
			       "%s: key `sandbox.tls.bypass`: \"%s\" conflicts with %s \"%s\" "
			       "(%s), which needs the tunnel read",
			       policy_layer_name(by->origin.layer), v, key, h, org);
	}
	return cordon_err_hint(err,
			       "remove one of the two: a bypassed host is never read, so the %s "
			       "entry could not be enforced on it",
			       key);
}

int
policy_check_tls_bypass(const struct cordon_policy *pol, struct cordon_err *err)
{
	const struct policy_rules *by = &pol->lists[POLICY_TLS_BYPASS];

	for (size_t i = 0; i < by->n; i++) {
		for (size_t j = 0; j < pol->n_net_rules; j++)
			if (policy_hosts_overlap(by->v[i].value, pol->net_rules[j].host))
				return bypass_conflict(&by->v[i], "network.rules",
						       pol->net_rules[j].host,
						       &pol->net_rules[j].origin, err);
		for (size_t j = 0; j < pol->n_inject; j++)
			if (policy_hosts_overlap(by->v[i].value, pol->inject[j].host))
				return bypass_conflict(&by->v[i], "credentials.inject",
						       pol->inject[j].host, &pol->inject[j].origin,
						       err);
	}
	return 0;
}
