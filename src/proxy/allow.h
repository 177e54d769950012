/* SPDX-License-Identifier: MIT */
#ifndef CORDON_PROXY_ALLOW_H
#define CORDON_PROXY_ALLOW_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/*
 * The egress policy: which host names, ports and addresses may be reached.
 * Pure code: no syscalls, no allocation after px_rules_add.
 *
 * Pattern grammar (one pattern per px_rules_add call):
 *   example.com          that exact name (not its subdomains)
 *   *.example.com        any subdomain of example.com, at any depth; NOT the
 *                        apex example.com itself (add both to get both)
 *   NAME:PORT            either of the above, only on that port
 *   NAME:*               either of the above, on every port (explicitly)
 *   192.0.2.7            one IPv4 address, in any spelling (0xc0.0.2.7, ...)
 *   198.51.100.0/24      an IPv4 CIDR
 *   [2001:db8::1]        one IPv6 address; [2001:db8::]/32 an IPv6 CIDR
 *   ADDR:PORT, CIDR:PORT, [V6]:PORT, [V6]/N:PORT  the same, on that port
 *   ADDR:*, CIDR:*, ...  the same, on every port
 * An allow rule without a port allows ports 80 and 443 only (the web: an
 * allowed name must not open its SSH, SMTP or database ports); a deny rule
 * without a port denies every port.
 * Names are compared case-insensitively, without a trailing dot, after IDNA
 * (UTS #46 mapping, then punycode) of names with non-ASCII characters. Deny beats allow; nothing matches
 * an empty allowlist. A name rule never matches an IP literal and a CIDR rule
 * never matches a name (names are checked again, by address, after
 * resolution).
 */

#define PX_RULES_MAX 4096
#define PX_HOST_MAX  254 /* longest DNS name plus NUL */

/* The ports an allow rule without ":PORT" allows. */
#define PX_PORT_HTTP  80
#define PX_PORT_HTTPS 443

/* A normalised IP address: IPv4 is kept as IPv4-mapped IPv6. */
struct px_addr {
	uint8_t a[16];
};

struct px_rule {
	int deny;
	int is_cidr;                 /* else a name rule */
	int wildcard;                /* "*.suffix" */
	uint16_t port;               /* 0: no ":PORT" (allow 80 and 443, deny all) */
	int any_port;                /* ":*": every port */
	char name[PX_HOST_MAX];      /* normalised name or suffix (without "*.") */
	struct px_addr net;          /* CIDR network (mapped for IPv4) */
	unsigned prefix;             /* 0..128, on the mapped form */
	char text[PX_HOST_MAX + 16]; /* the pattern as normalised, for messages */
};

struct px_rules {
	struct px_rule *v;
	size_t n, cap;
	int allow_loopback;    /* test-only switch, see px_rules_allow_loopback */
	struct px_addr *local; /* the host's own addresses (refused) */
	size_t n_local;
};

enum px_verdict {
	PX_VERDICT_DENY_DEFAULT = 0, /* no allow rule matched */
	PX_VERDICT_ALLOW,
	PX_VERDICT_DENY_RULE,    /* a deny rule matched */
	PX_VERDICT_DENY_ADDRESS, /* the address is in a refused range */
};

struct px_match {
	enum px_verdict verdict;
	const struct px_rule *rule; /* the rule that decided, or NULL */
	const char *why;            /* for DENY_ADDRESS: "loopback", ... */
	/*
	 * DENY_DEFAULT only: an allow rule that matches the host but not this
	 * port (the refusal then says which port to add), or NULL.
	 */
	const struct px_rule *port_rule;
};

/* Initialise / release a rule set. */
void px_rules_init(struct px_rules *r);
void px_rules_fini(struct px_rules *r);

/*
 * Parse pattern (grammar above) and append it as an allow (deny == 0) or
 * deny rule. 0, or -1 with err set (bad pattern, too many rules, ENOMEM).
 */
int px_rules_add(struct px_rules *r, const char *pattern, int deny, struct cordon_err *err);

/*
 * Set the host's own addresses (refused like loopback). Copies addrs.
 * 0 or -1 (ENOMEM).
 */
int px_rules_set_local(struct px_rules *r, const struct px_addr *addrs, size_t n);

/*
 * Decide on a request for host:port before resolution. host is the raw
 * name or IP literal (any spelling) from the request. For an IP literal
 * this is the final decision (address checks included); for a name an
 * ALLOW means "resolve it, then call px_rules_check_addr on each address".
 * Fills m; returns m->verdict.
 */
enum px_verdict px_rules_match(const struct px_rules *r, const char *host, uint16_t port,
			       struct px_match *m);

/*
 * Whether rule applies on port: its own port, every port for ":*", and for
 * a rule without a port 80 and 443 (allow) or every port (deny). Pure.
 */
int px_rule_port_matches(const struct px_rule *rule, uint16_t port);

/*
 * Check a resolved (or literal) address for port: deny CIDR rules, then the
 * refused ranges (loopback, private, link-local, metadata, multicast, ...,
 * the host's own addresses) unless an allow CIDR rule lying inside that
 * range covers the address. Fills m; returns m->verdict (ALLOW, DENY_RULE or
 * DENY_ADDRESS).
 */
enum px_verdict px_rules_check_addr(const struct px_rules *r, const struct px_addr *a,
				    uint16_t port, struct px_match *m);

/*
 * Normalise a host: UTS #46 mapping and punycode (libidn2) when it has
 * any non-ASCII byte, then lowercase and strip one trailing dot. If it is an IP literal in any spelling (bracketed IPv6, IPv4 in
 * decimal/octal/hex/short forms) fills *addr, sets *is_ip and writes the
 * canonical text form to out. 0 or -1 (EINVAL: not a valid host name).
 */
int px_host_normalize(const char *in, char *out, size_t outlen, int *is_ip, struct px_addr *addr);

/* Parse an IPv4 literal as inet_aton does (1-4 parts, 0x/0 prefixes). 0/-1. */
int px_parse_ipv4_any(const char *s, uint32_t *out);

/* Format a normalised address (IPv4 dotted if mapped). Returns out. */
char *px_addr_str(const struct px_addr *a, char *out, size_t outlen);

/* Build from / convert to sockaddr. */
void px_addr_from_in(struct px_addr *a, const struct in_addr *in4);
void px_addr_from_in6(struct px_addr *a, const struct in6_addr *in6);
int px_addr_is_v4(const struct px_addr *a);

/*
 * Why an address is refused ("loopback", "private (RFC 1918)", ...), or
 * NULL when it is an ordinary public address. *prefix gets the length of
 * the refused block on the mapped form. Pure.
 */
const char *px_addr_refused(const struct px_addr *a, unsigned *prefix);

#endif
