/* SPDX-License-Identifier: MIT */
/*
 * Egress policy matching: host normalisation (case, trailing dot, IDNA,
 * every spelling of an IP literal), name and CIDR rules, and the address
 * ranges refused after resolution. Pure: no syscalls.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include "proxy/allow.h"

void
px_rules_init(struct px_rules *r)
{
	memset(r, 0, sizeof(*r));
}

void
px_rules_fini(struct px_rules *r)
{
	free(r->v);
	r->v = NULL;
	free(r->local);
	r->local = NULL;
	r->n = r->cap = r->n_local = 0;
}

int
px_rules_set_local(struct px_rules *r, const struct px_addr *addrs, size_t n)
{
	struct px_addr *v = NULL;

	if (n > 0) {
		v = calloc(n, sizeof(*v));
		if (v == NULL) {
			errno = ENOMEM;
			return -1;
		}
		memcpy(v, addrs, n * sizeof(*v));
	}
	free(r->local);
	r->local = v;
	r->n_local = n;
	return 0;
}

/* ---- addresses ---- */

void
px_addr_from_in(struct px_addr *a, const struct in_addr *in4)
{
	memset(a->a, 0, 10);
	a->a[10] = a->a[11] = 0xff;
	memcpy(a->a + 12, &in4->s_addr, 4);
}

void
px_addr_from_in6(struct px_addr *a, const struct in6_addr *in6)
{
	memcpy(a->a, in6->s6_addr, 16);
}

int
px_addr_is_v4(const struct px_addr *a)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	return memcmp(a->a, mapped, 12) == 0;
}

char *
px_addr_str(const struct px_addr *a, char *out, size_t outlen)
{
	if (px_addr_is_v4(a)) {
		snprintf(out, outlen, "%u.%u.%u.%u", a->a[12], a->a[13], a->a[14], a->a[15]);
		return out;
	}
	if (inet_ntop(AF_INET6, a->a, out, (socklen_t)outlen) == NULL && outlen > 0)
		out[0] = '\0';
	return out;
}

static int
addr_in_net(const struct px_addr *a, const struct px_addr *net, unsigned prefix)
{
	unsigned full = prefix / 8, rest = prefix % 8;

	if (memcmp(a->a, net->a, full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a->a[full] ^ net->a[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

static void
mask_net(struct px_addr *net, unsigned prefix)
{
	for (unsigned i = 0; i < 16; i++) {
		if (prefix >= 8 * (i + 1))
			continue;
		if (prefix <= 8 * i)
			net->a[i] = 0;
		else
			net->a[i] &= (uint8_t)(0xff << (8 - (prefix - 8 * i)));
	}
}

/* v4 ranges, as (a.b.c.d, prefix) on the IPv4 form. */
static const struct {
	uint8_t net[4];
	unsigned prefix;
	const char *why;
} refused_v4[] = {
	{ { 0, 0, 0, 0 }, 8, "unspecified (0.0.0.0/8)" },
	{ { 10, 0, 0, 0 }, 8, "private (RFC 1918)" },
	{ { 100, 64, 0, 0 }, 10, "shared address space (CGNAT 100.64.0.0/10)" },
	{ { 127, 0, 0, 0 }, 8, "loopback" },
	{ { 169, 254, 169, 254 }, 32, "cloud metadata (169.254.169.254)" },
	{ { 169, 254, 0, 0 }, 16, "link-local" },
	{ { 172, 16, 0, 0 }, 12, "private (RFC 1918)" },
	{ { 192, 0, 0, 0 }, 24, "IETF protocol assignments (192.0.0.0/24)" },
	{ { 192, 168, 0, 0 }, 16, "private (RFC 1918)" },
	{ { 224, 0, 0, 0 }, 4, "multicast" },
	{ { 255, 255, 255, 255 }, 32, "broadcast" },
	{ { 240, 0, 0, 0 }, 4, "reserved (240.0.0.0/4)" },
};

static const char *
refused_v4_addr(const uint8_t *v4, unsigned *prefix)
{
	struct px_addr a, net;

	memset(&a, 0, sizeof(a));
	a.a[10] = a.a[11] = 0xff;
	memcpy(a.a + 12, v4, 4);
	for (size_t i = 0; i < sizeof(refused_v4) / sizeof(refused_v4[0]); i++) {
		net = a;
		memcpy(net.a + 12, refused_v4[i].net, 4);
		if (addr_in_net(&a, &net, 96 + refused_v4[i].prefix)) {
			*prefix = 96 + refused_v4[i].prefix;
			return refused_v4[i].why;
		}
	}
	return NULL;
}

const char *
px_addr_refused(const struct px_addr *a, unsigned *prefix)
{
	static const uint8_t nat64[12] = { 0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t nat64_local[6] = { 0, 0x64, 0xff, 0x9b, 0, 1 };
	static const uint8_t metadata6[16] = { 0xfd, 0, 0x0e, 0xc2, 0, 0, 0,    0,
					       0,    0, 0,    0,    0, 0, 0x02, 0x54 };
	static const uint8_t zero[16];
	unsigned dummy;
	const uint8_t *p = a->a;
	uint8_t v4[4];

	if (prefix == NULL)
		prefix = &dummy;
	if (px_addr_is_v4(a))
		return refused_v4_addr(p + 12, prefix);
	if (memcmp(p, zero, 16) == 0) {
		*prefix = 128;
		return "unspecified (::)";
	}
	if (memcmp(p, zero, 15) == 0 && p[15] == 1) {
		*prefix = 128;
		return "loopback";
	}
	if (memcmp(p, zero, 12) == 0) {
		/* IPv4-compatible ::a.b.c.d (deprecated, still routed by some stacks) */
		*prefix = 96;
		return refused_v4_addr(p + 12, prefix) ? "IPv4-compatible form of a refused address"
						       : "IPv4-compatible IPv6 (::/96)";
	}
	if (memcmp(p, nat64, 12) == 0 && refused_v4_addr(p + 12, prefix)) {
		*prefix = 96;
		return "NAT64 form of a refused address";
	}
	if (memcmp(p, nat64_local, 6) == 0) {
		*prefix = 48;
		return "local-use NAT64 (64:ff9b:1::/48)";
	}
	memcpy(v4, p + 2, 4);
	if (p[0] == 0x20 && p[1] == 0x02 && refused_v4_addr(v4, prefix)) {
		*prefix = 48;
		return "6to4 form of a refused address";
	}
	if (memcmp(p, metadata6, 16) == 0) {
		*prefix = 128;
		return "cloud metadata (fd00:ec2::254)";
	}
	if ((p[0] & 0xfe) == 0xfc) {
		*prefix = 7;
		return "unique local (fc00::/7)";
	}
	if (p[0] == 0xfe && (p[1] & 0xc0) == 0x80) {
		*prefix = 10;
		return "link-local";
	}
	if (p[0] == 0xfe && (p[1] & 0xc0) == 0xc0) {
		*prefix = 10;
		return "site-local (fec0::/10)";
	}
	if (p[0] == 0xff) {
		*prefix = 8;
		return "multicast";
	}
	return NULL;
}

/* ---- IP literals ---- */

static int
parse_num(const char *s, size_t len, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = 10;
	size_t i = 0;

	if (len == 0)
		return -1;
	if (len >= 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		i = 2;
		if (len == 2) {
			*out = 0; /* "0x" is 0 to inet_aton */
			return 0;
		}
	} else if (len >= 2 && s[0] == '0') {
		base = 8;
		i = 1;
	}
	for (; i < len; i++) {
		unsigned d;
		char c = s[i];

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			d = (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			d = (unsigned)(c - 'A' + 10);
		else
			return -1;
		if (d >= base)
			return -1;
		v = v * base + d;
		if (v > 0xffffffffULL)
			return -1;
	}
	*out = v;
	return 0;
}

int
px_parse_ipv4_any(const char *s, uint32_t *out)
{
	uint64_t part[4];
	size_t n = 0;
	const char *p = s;

	for (;;) {
		const char *dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);

		if (n == 4 || parse_num(p, len, &part[n]) < 0)
			return -1;
		n++;
		if (dot == NULL)
			break;
		p = dot + 1;
		if (*p == '\0')
			break; /* one trailing dot, as a name may have */
	}
	switch (n) {
	case 1:
		*out = (uint32_t)part[0];
		return 0;
	case 2:
		if (part[0] > 0xff || part[1] > 0xffffff)
			return -1;
		*out = (uint32_t)(part[0] << 24 | part[1]);
		return 0;
	case 3:
		if (part[0] > 0xff || part[1] > 0xff || part[2] > 0xffff)
			return -1;
		*out = (uint32_t)(part[0] << 24 | part[1] << 16 | part[2]);
		return 0;
	case 4:
		for (int i = 0; i < 4; i++)
			if (part[i] > 0xff)
				return -1;
		*out = (uint32_t)(part[0] << 24 | part[1] << 16 | part[2] << 8 | part[3]);
		return 0;
	default:
		return -1;
	}
}

/* IPv6 text (no brackets, no zone) -> addr, IPv4-compatible folded to mapped. */
static int
parse_ipv6(const char *s, struct px_addr *a)
{
	struct in6_addr in6;
	static const uint8_t zero[12];

	if (strchr(s, '%') != NULL || inet_pton(AF_INET6, s, &in6) != 1)
		return -1;
	px_addr_from_in6(a, &in6);
	/* ::a.b.c.d (not :: or ::1) is the IPv4 address a.b.c.d */
	if (memcmp(a->a, zero, 12) == 0 && !(a->a[12] == 0 && a->a[13] == 0 && a->a[14] == 0))
		a->a[10] = a->a[11] = 0xff;
	return 0;
}

/* Does the last label look numeric (WHATWG: then the host must be IPv4)? */
static int
last_label_numeric(const char *s, size_t len)
{
	size_t start = len;

	while (start > 0 && s[start - 1] != '.')
		start--;
	if (start == len)
		return 0;
	if (len - start >= 2 && s[start] == '0' && (s[start + 1] == 'x' || s[start + 1] == 'X')) {
		for (size_t i = start + 2; i < len; i++)
			if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') ||
			      (s[i] >= 'A' && s[i] <= 'F')))
				return 0;
		return 1;
	}
	for (size_t i = start; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* ---- IDNA ---- */

/*
 * A name with any non-ASCII byte goes through UTS #46 non-transitional
 * processing (libidn2): case folding, NFC, width and compatibility mapping,
 * ignored characters dropped, then punycode. The ASCII result is classified
 * and checked like any other input: full-width digits and ideographic full
 * stops spelling 127.0.0.1 are the IP literal 127.0.0.1, and a full-width
 * solidus maps to '/' and is refused.
 */
static int
idna_to_ascii(const char *in, char *out, size_t outlen)
{
	char *a = NULL;
	size_t n;

	if (idn2_to_ascii_8z(in, &a, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL) != IDN2_OK)
		return -1;
	n = strlen(a);
	if (n >= outlen) {
		idn2_free(a);
		return -1;
	}
	memcpy(out, a, n + 1);
	idn2_free(a);
	return 0;
}

static int
has_non_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

static int
name_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int
px_host_normalize(const char *in, char *out, size_t outlen, int *is_ip, struct px_addr *addr)
{
	char buf[PX_HOST_MAX * 4];
	size_t len = strlen(in), o = 0;
	uint32_t v4;

	*is_ip = 0;
	if (len == 0 || len >= sizeof(buf) || outlen < 2)
		goto bad;
	if (has_non_ascii(in)) {
		if (idna_to_ascii(in, buf, sizeof(buf)) < 0)
			goto bad;
		return px_host_normalize(buf, out, outlen, is_ip, addr);
	}
	if (in[0] == '[') {
		if (in[len - 1] != ']' || len - 2 >= 64)
			goto bad;
		memcpy(buf, in + 1, len - 2);
		buf[len - 2] = '\0';
		if (parse_ipv6(buf, addr) < 0)
			goto bad;
		*is_ip = 1;
		px_addr_str(addr, out, outlen);
		return 0;
	}
	if (strchr(in, ':') != NULL) {
		if (parse_ipv6(in, addr) < 0)
			goto bad;
		*is_ip = 1;
		px_addr_str(addr, out, outlen);
		return 0;
	}
	memcpy(buf, in, len + 1);
	if (len > 1 && buf[len - 1] == '.')
		buf[--len] = '\0';
	if (last_label_numeric(buf, len) ||
	    (len > 0 && buf[0] >= '0' && buf[0] <= '9' && strchr(buf, '.') == NULL)) {
		struct in_addr in4;

		if (px_parse_ipv4_any(buf, &v4) < 0)
			goto bad;
		in4.s_addr = htonl(v4);
		px_addr_from_in(addr, &in4);
		*is_ip = 1;
		px_addr_str(addr, out, outlen);
		return 0;
	}
	/* label by label, lowercased */
	for (size_t i = 0; i <= len;) {
		size_t j = i;
		char label[64];

		while (j < len && buf[j] != '.')
			j++;
		if (j == i || j - i > 63)
			goto bad;
		for (size_t k = i; k < j; k++) {
			char c = buf[k];

			if (c >= 'A' && c <= 'Z')
				c = (char)(c + 32);
			if (!name_char_ok(c))
				goto bad;
			label[k - i] = c;
		}
		label[j - i] = '\0';
		if (label[0] == '-' || label[strlen(label) - 1] == '-')
			goto bad;
		if (o + strlen(label) + 2 > outlen || o + strlen(label) + 1 > PX_HOST_MAX)
			goto bad;
		if (o > 0)
			out[o++] = '.';
		memcpy(out + o, label, strlen(label));
		o += strlen(label);
		out[o] = '\0';
		i = j + 1;
	}
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

/* ---- rules ---- */

static int
parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 65535)
			return -1;
	}
	if (v == 0)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static int
parse_prefix(const char *s, unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (*s == '\0' || strlen(s) > 3)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static int
rule_parse(const char *pattern, struct px_rule *rule)
{
	char buf[PX_HOST_MAX * 4 + 16], host[PX_HOST_MAX * 4 + 16];
	char *colon, *slash;
	int is_ip = 0;
	struct px_addr a;
	unsigned prefix = 0;
	int have_prefix = 0;

	memset(rule, 0, sizeof(*rule));
	if (strlen(pattern) >= sizeof(buf) || pattern[0] == '\0')
		return -1;
	strcpy(buf, pattern);
	/* split off ":port": after "]" for IPv6, else the only ':' */
	if (buf[0] == '[') {
		char *close = strchr(buf, ']');

		if (close == NULL)
			return -1;
		colon = strchr(close, ':');
	} else {
		colon = strchr(buf, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL)
			return -1; /* bare IPv6: must be bracketed in a rule */
	}
	if (colon != NULL) {
		*colon = '\0';
		if (strcmp(colon + 1, "*") == 0)
			rule->any_port = 1;
		else if (parse_port(colon + 1, &rule->port) < 0)
			return -1;
	}
	slash = strchr(buf, '/');
	if (slash != NULL) {
		*slash = '\0';
		have_prefix = 1;
	}
	strcpy(host, buf);
	if (strncmp(host, "*.", 2) == 0) {
		if (have_prefix)
			return -1;
		rule->wildcard = 1;
		if (px_host_normalize(host + 2, rule->name, sizeof(rule->name), &is_ip, &a) < 0 ||
		    is_ip)
			return -1;
	} else {
		if (px_host_normalize(host, rule->name, sizeof(rule->name), &is_ip, &a) < 0)
			return -1;
		if (!is_ip && have_prefix)
			return -1;
	}
	if (is_ip) {
		int v4 = px_addr_is_v4(&a);

		rule->is_cidr = 1;
		if (have_prefix) {
			if (parse_prefix(slash + 1, v4 ? 32 : 128, &prefix) < 0)
				return -1;
			if (v4)
				prefix += 96;
		} else {
			prefix = 128;
		}
		mask_net(&a, prefix);
		rule->net = a;
		rule->prefix = prefix;
		px_addr_str(&a, rule->name, sizeof(rule->name));
	}
	/* canonical text for messages */
	{
		char pfx[8] = "", port[8] = "";
		int v6 = rule->is_cidr && !px_addr_is_v4(&rule->net);

		if (rule->is_cidr && rule->prefix != 128)
			snprintf(pfx, sizeof(pfx), "/%u", v6 ? rule->prefix : rule->prefix - 96);
		if (rule->port)
			snprintf(port, sizeof(port), ":%u", rule->port);
		else if (rule->any_port)
			snprintf(port, sizeof(port), ":*");
		snprintf(rule->text, sizeof(rule->text), "%s%s%s%s%s%s", rule->wildcard ? "*." : "",
			 v6 ? "[" : "", rule->name, v6 ? "]" : "", pfx, port);
	}
	return 0;
}

int
px_rules_add(struct px_rules *r, const char *pattern, int deny, struct cordon_err *err)
{
	struct px_rule rule;

	if (rule_parse(pattern, &rule) < 0) {
		cordon_err_set(err, EINVAL, "bad %s pattern '%.200s'", deny ? "deny" : "allow",
			       pattern);
		return cordon_err_hint(err, "use a host name (example.com), a wildcard "
					    "(*.example.com), an IP or CIDR (192.0.2.0/24, "
					    "[2001:db8::]/32), each optionally with :PORT or :* "
					    "(every port; without a port: 80 and 443)");
	}
	rule.deny = deny;
	if (r->n == PX_RULES_MAX) {
		cordon_err_set(err, E2BIG, "more than %d network rules", PX_RULES_MAX);
		return cordon_err_hint(err, "use wildcards (*.example.com) or CIDRs");
	}
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 16;
		struct px_rule *v = realloc(r->v, cap * sizeof(*v));

		if (v == NULL)
			return cordon_err_set(err, ENOMEM, "add network rule");
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = rule;
	return 0;
}

static int
name_matches(const struct px_rule *rule, const char *host)
{
	size_t hl, nl;

	if (!rule->wildcard)
		return strcmp(rule->name, host) == 0;
	hl = strlen(host);
	nl = strlen(rule->name);
	/* "*.example.test" needs at least one label and a dot before the suffix */
	return hl > nl + 1 && host[hl - nl - 1] == '.' && strcmp(host + hl - nl, rule->name) == 0;
}

int
px_rule_port_matches(const struct px_rule *rule, uint16_t port)
{
	if (rule->any_port)
		return 1;
	if (rule->port != 0)
		return rule->port == port;
	return rule->deny || port == PX_PORT_HTTP || port == PX_PORT_HTTPS;
}

enum px_verdict
px_rules_check_addr(const struct px_rules *r, const struct px_addr *a, uint16_t port,
		    struct px_match *m)
{
	const char *why;
	unsigned block = 0;
	int local = 0;

	memset(m, 0, sizeof(*m));
	for (size_t i = 0; i < r->n; i++) {
		const struct px_rule *rule = &r->v[i];

		if (rule->deny && rule->is_cidr && px_rule_port_matches(rule, port) &&
		    addr_in_net(a, &rule->net, rule->prefix)) {
			m->rule = rule;
			m->verdict = PX_VERDICT_DENY_RULE;
			return m->verdict;
		}
	}
	why = px_addr_refused(a, &block);
	for (size_t i = 0; why == NULL && i < r->n_local; i++)
		if (memcmp(r->local[i].a, a->a, 16) == 0) {
			why = "an address of this host";
			block = 128;
			local = 1;
		}
	if (why != NULL && r->allow_loopback && !local) {
		struct px_addr lo = { { 0 } };

		/* test-only: loopback upstreams (CORDON_TEST_HOOKS=1) */
		lo.a[15] = 1;
		if ((px_addr_is_v4(a) && a->a[12] == 127) || memcmp(a->a, lo.a, 16) == 0)
			why = NULL;
	}
	if (why == NULL) {
		m->verdict = PX_VERDICT_ALLOW;
		return m->verdict;
	}
	/* a refused range passes only with an allow CIDR inside that range */
	for (size_t i = 0; i < r->n; i++) {
		const struct px_rule *rule = &r->v[i];

		if (!rule->deny && rule->is_cidr && px_rule_port_matches(rule, port) &&
		    rule->prefix >= block && addr_in_net(a, &rule->net, rule->prefix)) {
			m->rule = rule;
			m->verdict = PX_VERDICT_ALLOW;
			return m->verdict;
		}
	}
	m->why = why;
	m->verdict = PX_VERDICT_DENY_ADDRESS;
	return m->verdict;
}

enum px_verdict
px_rules_match(const struct px_rules *r, const char *host, uint16_t port, struct px_match *m)
{
	char norm[PX_HOST_MAX];
	struct px_addr a;
	int is_ip;

	memset(m, 0, sizeof(*m));
	if (px_host_normalize(host, norm, sizeof(norm), &is_ip, &a) < 0) {
		m->why = "not a valid host name";
		m->verdict = PX_VERDICT_DENY_DEFAULT;
		return m->verdict;
	}
	if (is_ip) {
		const struct px_rule *allow = NULL;

		for (size_t i = 0; i < r->n; i++) {
			const struct px_rule *rule = &r->v[i];

			if (!rule->is_cidr || !addr_in_net(&a, &rule->net, rule->prefix))
				continue;
			if (!px_rule_port_matches(rule, port)) {
				if (!rule->deny && m->port_rule == NULL)
					m->port_rule = rule;
				continue;
			}
			if (rule->deny) {
				m->rule = rule;
				m->verdict = PX_VERDICT_DENY_RULE;
				return m->verdict;
			}
			if (allow == NULL)
				allow = rule;
		}
		if (allow == NULL) {
			const struct px_rule *other = m->port_rule;

			/* another port is allowed, but this address never is: say that */
			if (other != NULL &&
			    px_rules_check_addr(r, &a, port, m) == PX_VERDICT_DENY_ADDRESS)
				return m->verdict;
			memset(m, 0, sizeof(*m));
			m->port_rule = other;
			m->verdict = PX_VERDICT_DENY_DEFAULT;
			return m->verdict;
		}
		m->port_rule = NULL;
		if (px_rules_check_addr(r, &a, port, m) == PX_VERDICT_ALLOW && m->rule == NULL)
			m->rule = allow;
		return m->verdict;
	}
	for (size_t i = 0; i < r->n; i++) {
		const struct px_rule *rule = &r->v[i];

		if (rule->deny && !rule->is_cidr && px_rule_port_matches(rule, port) &&
		    name_matches(rule, norm)) {
			m->rule = rule;
			m->verdict = PX_VERDICT_DENY_RULE;
			return m->verdict;
		}
	}
	for (size_t i = 0; i < r->n; i++) {
		const struct px_rule *rule = &r->v[i];

		if (rule->deny || rule->is_cidr || !name_matches(rule, norm))
			continue;
		if (!px_rule_port_matches(rule, port)) {
			if (m->port_rule == NULL)
				m->port_rule = rule;
			continue;
		}
		m->rule = rule;
		m->port_rule = NULL;
		m->verdict = PX_VERDICT_ALLOW;
		return m->verdict;
	}
	m->verdict = PX_VERDICT_DENY_DEFAULT;
	return m->verdict;
}
