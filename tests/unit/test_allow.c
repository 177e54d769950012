/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "common/cleanup.h"
#include "proxy/allow.h"
#include "tap.h"

static struct px_rules R;

static void
rules(const char *const *allow, const char *const *deny)
{
	struct cordon_err err;

	px_rules_fini(&R);
	px_rules_init(&R);
	for (; allow && *allow; allow++)
		if (px_rules_add(&R, *allow, 0, &err) < 0)
			printf("# add %s: %s\n", *allow, err.msg);
	for (; deny && *deny; deny++)
		if (px_rules_add(&R, *deny, 1, &err) < 0)
			printf("# add %s: %s\n", *deny, err.msg);
}

static enum px_verdict
v(const char *host, uint16_t port)
{
	struct px_match m;

	return px_rules_match(&R, host, port, &m);
}

static int
norm_is(const char *in, const char *want, int want_ip)
{
	char out[PX_HOST_MAX];
	struct px_addr a;
	int is_ip;

	if (px_host_normalize(in, out, sizeof(out), &is_ip, &a) < 0) {
		printf("# normalize %s failed\n", in);
		return 0;
	}
	if (strcmp(out, want) != 0 || is_ip != want_ip) {
		printf("# normalize %s -> %s (ip %d), want %s\n", in, out, is_ip, want);
		return 0;
	}
	return 1;
}

static int
test_normalize_names(void)
{
	CHECK(norm_is("Example.COM", "example.com", 0));
	CHECK(norm_is("example.com.", "example.com", 0));
	CHECK(norm_is("b\xc3\xbc"
		      "cher.example",
		      "xn--bcher-kva.example", 0));
	CHECK(norm_is("\xe4\xbe\x8b\xe3\x81\x88.test", "xn--r8jz45g.test", 0));
	CHECK(norm_is("B\xc3\x9c"
		      "CHER.example.",
		      "xn--bcher-kva.example", 0));
	CHECK(norm_is("\xd0\x9f\xd0\xa0\xd0\x98\xd0\x9c\xd0\x95\xd0\xa0.test", "xn--e1afmkfd.test",
		      0));
	/* UTS #46: full-width letters and ideographic full stop */
	CHECK(norm_is("\xef\xbc\xa5\xef\xbc\xb8\xef\xbc\xa1\xef\xbc\xad\xef\xbc\xb0\xef\xbc\xac"
		      "\xef\xbc\xa5\xe3\x80\x82test",
		      "example.test", 0));
	/* decomposed e + combining acute is NFC-composed: same as precomposed */
	CHECK(norm_is("e\xcc\x81.test", "xn--9ca.test", 0));
	CHECK(norm_is("\xc3\xa9.test", "xn--9ca.test", 0));
	/* non-transitional: sharp s stays (not "fass") */
	CHECK(norm_is("fa\xc3\x9f.test", "xn--fa-hia.test", 0));
	/* ignored characters (zero-width space, soft hyphen) are dropped */
	CHECK(norm_is("exa\xe2\x80\x8bmple.test", "example.test", 0));
	CHECK(norm_is("ex\xc2\xad"
		      "ample.test",
		      "example.test", 0));
	/* a ligature and a circled letter map to plain letters */
	CHECK(norm_is("\xef\xac\x81le.test", "file.test", 0));
	/* an ASCII label after a mapped one keeps its underscore */
	CHECK(norm_is("_srv.b\xc3\xbc"
		      "cher.test",
		      "_srv.xn--bcher-kva.test", 0));
	return 0;
}

/* full-width digits and dots spell an IP literal: it is one */
static int
test_normalize_fullwidth_ip(void)
{
	CHECK(norm_is("\xef\xbc\x91\xef\xbc\x92\xef\xbc\x97\xe3\x80\x82\xef\xbc\x90\xe3\x80\x82"
		      "\xef\xbc\x90\xe3\x80\x82\xef\xbc\x91",
		      "127.0.0.1", 1));
	CHECK(norm_is("\xef\xbc\x91\xef\xbc\x96\xef\xbc\x99\xef\xbc\x8e"
		      "254.169.254",
		      "169.254.169.254", 1));
	CHECK(norm_is("\xef\xbc\x91\xef\xbc\x92\xef\xbc\x97.1", "127.0.0.1", 1));
	return 0;
}

static int
test_normalize_bad(void)
{
	char out[PX_HOST_MAX];
	struct px_addr a;
	int is_ip;
	static const char *const bad[] = {
		"",
		"a..b",
		"-a.test",
		"a-.test",
		"a b.test",
		"a/b",
		"a@b",
		"1.2.3.999",
		"[::1",
		"0x1.0x2.0x3.0x4.0x5",
		"\xff\xfe.test",
		"[fe80::1%eth0]",
		"\xc3\xbc.ex\xef\xbc\x8f"
		"ample.test", /* full-width solidus maps to '/' */
		"\xc3\xbc.ex\xef\xbc\x9a"
		"ample.test",           /* full-width colon maps to ':' */
		"\xe2\x80\x8b.test",    /* a label of only ignored characters */
		"\xc3\xbc.xn--zz.test", /* invalid punycode beside a U-label */
		"\xc3\xbc.-a.test",
		"\xc3\xbc..test",
	};

	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (px_host_normalize(bad[i], out, sizeof(out), &is_ip, &a) == 0) {
			printf("# %s accepted as %s\n", bad[i], out);
			return -1;
		}
	return 0;
}

/* every spelling of 127.0.0.1 and 169.254.169.254 */
static int
test_ip_spellings(void)
{
	static const char *const lo[] = {
		"127.0.0.1",     "2130706433",
		"0x7f000001",    "017700000001",
		"0x7f.1",        "127.1",
		"127.0.1",       "0177.0.0.1",
		"0x7F.0.0.0x1",  "[::ffff:127.0.0.1]",
		"[::127.0.0.1]", "[0:0:0:0:0:ffff:7f00:1]",
		"127.0.0.1.",
	};
	static const char *const md[] = {
		"169.254.169.254",     "2852039166",    "0xa9fea9fe",
		"0251.0376.0251.0376", "169.254.43518", "[::ffff:169.254.169.254]",
		"[::ffff:a9fe:a9fe]",
	};

	for (size_t i = 0; i < ARRAY_SIZE(lo); i++)
		CHECK(norm_is(lo[i], "127.0.0.1", 1));
	for (size_t i = 0; i < ARRAY_SIZE(md); i++)
		CHECK(norm_is(md[i], "169.254.169.254", 1));
	CHECK(norm_is("[::1]", "::1", 1));
	return 0;
}

static int
test_empty_allowlist_denies(void)
{
	rules(NULL, NULL);
	CHECK(v("example.com", 443) == PX_VERDICT_DENY_DEFAULT);
	CHECK(v("192.0.2.1", 80) == PX_VERDICT_DENY_DEFAULT);
	return 0;
}

static int
test_exact_and_wildcard(void)
{
	static const char *const allow[] = { "example.test", "*.wild.test", NULL };

	rules(allow, NULL);
	CHECK(v("example.test", 443) == PX_VERDICT_ALLOW);
	CHECK(v("EXAMPLE.test.", 80) == PX_VERDICT_ALLOW);
	CHECK(v("www.example.test", 443) == PX_VERDICT_DENY_DEFAULT);
	CHECK(v("a.wild.test", 443) == PX_VERDICT_ALLOW);
	CHECK(v("a.b.c.wild.test", 443) == PX_VERDICT_ALLOW);
	CHECK(v("wild.test", 443) == PX_VERDICT_DENY_DEFAULT); /* apex not included */
	CHECK(v("evil-wild.test", 443) == PX_VERDICT_DENY_DEFAULT);
	CHECK(v("evilwild.test", 443) == PX_VERDICT_DENY_DEFAULT);
	CHECK(v("wild.test.evil.test", 443) == PX_VERDICT_DENY_DEFAULT);
	CHECK(v("a.wild.test.evil.test", 443) == PX_VERDICT_DENY_DEFAULT);
	CHECK(v(".wild.test", 443) == PX_VERDICT_DENY_DEFAULT);
	return 0;
}

/* a rule and a request spelled differently in Unicode meet after UTS #46 */
static int
test_idn_rules(void)
{
	static const char *const allow[] = { "b\xc3\xbc"
					     "cher.test",
					     "*.\xc3\xa9t\xc3\xa9.test", NULL };
	static const char *const deny[] = { "secret.xn--t-9fab.test", NULL };

	rules(allow, deny);
	CHECK(v("xn--bcher-kva.test", 443) == PX_VERDICT_ALLOW);
	CHECK(v("B\xc3\x9c"
		"CHER.TEST",
		443) == PX_VERDICT_ALLOW);
	/* full-width B, then U + combining diaeresis */
	CHECK(v("\xef\xbc\xa2u\xcc\x88"
		"cher\xe3\x80\x82test",
		443) == PX_VERDICT_ALLOW);
	CHECK(v("bucher.test", 443) == PX_VERDICT_DENY_DEFAULT);
	CHECK(v("a.e\xcc\x81te\xcc\x81.test", 443) == PX_VERDICT_ALLOW);
	CHECK(v("xn--t-9fab.test", 443) == PX_VERDICT_DENY_DEFAULT); /* apex */
	/* the deny, written as punycode, holds against the Unicode spelling */
	CHECK(v("SECRET.\xc3\x89T\xc3\x89.test", 443) == PX_VERDICT_DENY_RULE);
	return 0;
}

static int
test_ports(void)
{
	static const char *const allow[] = { "api.test:443",      "*.any.test",
					     "ssh.test:22",       "all.test:*",
					     "*.wide.test:*",     "192.0.2.0/24",
					     "[2001:db8::]/32:*", NULL };
	static const char *const deny[] = { "no.wide.test", "all.test:25", NULL };
	struct px_match m;

	rules(allow, deny);
	CHECK(v("api.test", 443) == PX_VERDICT_ALLOW);
	CHECK(v("api.test", 80) == PX_VERDICT_DENY_DEFAULT);
	/* a rule without a port: the web ports only */
	CHECK(v("x.any.test", 443) == PX_VERDICT_ALLOW);
	CHECK(v("x.any.test", 80) == PX_VERDICT_ALLOW);
	CHECK(px_rules_match(&R, "x.any.test", 22, &m) == PX_VERDICT_DENY_DEFAULT);
	CHECK(m.port_rule != NULL && m.rule == NULL);
	CHECK_STR(m.port_rule->text, "*.any.test");
	CHECK(v("x.any.test", 8080) == PX_VERDICT_DENY_DEFAULT);
	CHECK(v("x.any.test", 25) == PX_VERDICT_DENY_DEFAULT);
	/* HOST:PORT is that port alone */
	CHECK(v("ssh.test", 22) == PX_VERDICT_ALLOW);
	CHECK(px_rules_match(&R, "ssh.test", 443, &m) == PX_VERDICT_DENY_DEFAULT);
	CHECK(m.port_rule != NULL);
	CHECK_STR(m.port_rule->text, "ssh.test:22");
	/* HOST:* is every port, written so */
	CHECK(v("all.test", 22) == PX_VERDICT_ALLOW);
	CHECK(v("all.test", 65535) == PX_VERDICT_ALLOW);
	CHECK(px_rules_match(&R, "all.test", 5432, &m) == PX_VERDICT_ALLOW);
	CHECK_STR(m.rule->text, "all.test:*");
	CHECK(v("all.test", 25) == PX_VERDICT_DENY_RULE);
	CHECK(v("a.wide.test", 3306) == PX_VERDICT_ALLOW);
	/* a deny rule without a port denies every port */
	CHECK(v("no.wide.test", 3306) == PX_VERDICT_DENY_RULE);
	CHECK(v("no.wide.test", 443) == PX_VERDICT_DENY_RULE);
	/* address rules follow the same rule */
	CHECK(v("192.0.2.9", 443) == PX_VERDICT_ALLOW);
	CHECK(px_rules_match(&R, "192.0.2.9", 22, &m) == PX_VERDICT_DENY_DEFAULT);
	CHECK(m.port_rule != NULL);
	CHECK_STR(m.port_rule->text, "192.0.2.0/24");
	CHECK(v("[2001:db8::7]", 22) == PX_VERDICT_ALLOW);
	/* nothing about other hosts */
	CHECK(px_rules_match(&R, "other.test", 22, &m) == PX_VERDICT_DENY_DEFAULT);
	CHECK(m.port_rule == NULL);
	return 0;
}

static int
test_deny_beats_allow(void)
{
	static const char *const allow[] = { "*.corp.test", "corp.test", NULL };
	static const char *const deny[] = { "secret.corp.test", NULL };
	struct px_match m;

	rules(allow, deny);
	CHECK(v("git.corp.test", 443) == PX_VERDICT_ALLOW);
	CHECK(px_rules_match(&R, "SECRET.corp.test", 443, &m) == PX_VERDICT_DENY_RULE);
	CHECK_STR(m.rule->text, "secret.corp.test");
	return 0;
}

static int
test_cidr(void)
{
	static const char *const allow[] = { "198.51.100.0/24", "[2001:db8::]/32", "192.0.2.7:80",
					     NULL };
	static const char *const deny[] = { "198.51.100.128/25", NULL };

	rules(allow, deny);
	CHECK(v("198.51.100.7", 443) == PX_VERDICT_ALLOW);
	CHECK(v("3325256711", 443) == PX_VERDICT_ALLOW); /* 198.51.100.7 in decimal */
	CHECK(v("198.51.100.200", 443) == PX_VERDICT_DENY_RULE);
	CHECK(v("[2001:db8::5]", 443) == PX_VERDICT_ALLOW);
	CHECK(v("[2001:db9::5]", 443) == PX_VERDICT_DENY_DEFAULT);
	CHECK(v("192.0.2.7", 80) == PX_VERDICT_ALLOW);
	CHECK(v("192.0.2.7", 81) == PX_VERDICT_DENY_DEFAULT);
	/* a name rule never matches a literal, a CIDR never a name */
	CHECK(v("198-51-100-7.test", 443) == PX_VERDICT_DENY_DEFAULT);
	return 0;
}

static int
test_bad_patterns(void)
{
	static const char *const bad[] = {
		"",
		"*",
		"*.",
		"a.*.test",
		"example.test:0",
		"example.test:65536",
		"example.test:x",
		"example.test:**",
		"example.test:*1",
		"*:*",
		"10.0.0.0/33",
		"[::1]/129",
		"name.test/24",
		"2001:db8::1",
		"*.10.0.0.1",
	};
	struct cordon_err err;

	px_rules_fini(&R);
	px_rules_init(&R);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (px_rules_add(&R, bad[i], 0, &err) == 0) {
			printf("# pattern '%s' accepted\n", bad[i]);
			return -1;
		}
	CHECK(strstr(err.msg, "bad allow pattern") != NULL);
	CHECK(err.hint[0] != '\0');
	return 0;
}

static int
addr_refused(const char *text)
{
	struct px_addr a;
	struct in6_addr in6;
	struct in_addr in4;

	if (inet_pton(AF_INET, text, &in4) == 1)
		px_addr_from_in(&a, &in4);
	else if (inet_pton(AF_INET6, text, &in6) == 1)
		px_addr_from_in6(&a, &in6);
	else
		return -1;
	return px_addr_refused(&a, NULL) != NULL;
}

static int
test_refused_ranges(void)
{
	static const char *const refused[] = {
		"127.0.0.1",
		"127.255.0.9",
		"10.1.2.3",
		"172.16.0.1",
		"172.31.255.255",
		"192.168.1.1",
		"100.64.0.1",
		"100.127.255.255",
		"169.254.169.254",
		"169.254.1.1",
		"0.0.0.0",
		"224.0.0.1",
		"239.255.255.250",
		"255.255.255.255",
		"240.0.0.1",
		"::1",
		"::",
		"fc00::1",
		"fd00:ec2::254",
		"fe80::1",
		"ff02::1",
		"::ffff:127.0.0.1",
		"::ffff:10.0.0.1",
		"64:ff9b::7f00:1",
		"64:ff9b::a9fe:a9fe",
		"2002:7f00:1::1",
		"::127.0.0.1",
		"64:ff9b:1::1",
	};
	static const char *const ok[] = {
		"198.51.100.7", "203.0.113.9", "198.18.0.2",       "8.8.8.8",         "172.32.0.1",
		"100.128.0.1",  "2001:db8::1", "64:ff9b::808:808", "2002:808:808::1",
	};

	for (size_t i = 0; i < ARRAY_SIZE(refused); i++)
		if (addr_refused(refused[i]) != 1) {
			printf("# %s not refused\n", refused[i]);
			return -1;
		}
	for (size_t i = 0; i < ARRAY_SIZE(ok); i++)
		if (addr_refused(ok[i]) != 0) {
			printf("# %s refused\n", ok[i]);
			return -1;
		}
	return 0;
}

static int
test_literal_refused_even_if_cidr_wide(void)
{
	static const char *const allow[] = { "0.0.0.0/0", NULL };
	struct px_match m;

	rules(allow, NULL);
	CHECK(v("198.51.100.7", 80) == PX_VERDICT_ALLOW);
	CHECK(px_rules_match(&R, "0x7f.1", 80, &m) == PX_VERDICT_DENY_ADDRESS);
	CHECK_STR(m.why, "loopback");
	CHECK(v("169.254.169.254", 80) == PX_VERDICT_DENY_ADDRESS);
	return 0;
}

static int
test_cidr_inside_range_allows_it(void)
{
	static const char *const allow[] = { "10.0.0.0/8", "ok.test", NULL };
	struct px_match m;
	struct px_addr a;
	struct in_addr in4;

	rules(allow, NULL);
	CHECK(v("10.1.2.3", 80) == PX_VERDICT_ALLOW);
	inet_pton(AF_INET, "10.9.9.9", &in4);
	px_addr_from_in(&a, &in4);
	CHECK(px_rules_check_addr(&R, &a, 443, &m) == PX_VERDICT_ALLOW);
	inet_pton(AF_INET, "192.168.0.1", &in4);
	px_addr_from_in(&a, &in4);
	CHECK(px_rules_check_addr(&R, &a, 443, &m) == PX_VERDICT_DENY_ADDRESS);
	return 0;
}

static int
test_local_addresses(void)
{
	struct px_addr a;
	struct in_addr in4;
	struct px_match m;

	rules(NULL, NULL);
	inet_pton(AF_INET, "203.0.113.5", &in4);
	px_addr_from_in(&a, &in4);
	CHECK(px_rules_check_addr(&R, &a, 80, &m) == PX_VERDICT_ALLOW);
	CHECK(px_rules_set_local(&R, &a, 1) == 0);
	CHECK(px_rules_check_addr(&R, &a, 80, &m) == PX_VERDICT_DENY_ADDRESS);
	CHECK_STR(m.why, "an address of this host");
	return 0;
}

static int
test_loopback_switch(void)
{
	struct px_addr a;
	struct in_addr in4;
	struct px_match m;

	rules(NULL, NULL);
	inet_pton(AF_INET, "127.0.0.1", &in4);
	px_addr_from_in(&a, &in4);
	CHECK(px_rules_check_addr(&R, &a, 80, &m) == PX_VERDICT_DENY_ADDRESS);
	R.allow_loopback = 1;
	CHECK(px_rules_check_addr(&R, &a, 80, &m) == PX_VERDICT_ALLOW);
	inet_pton(AF_INET, "169.254.169.254", &in4);
	px_addr_from_in(&a, &in4);
	CHECK(px_rules_check_addr(&R, &a, 80, &m) == PX_VERDICT_DENY_ADDRESS);
	return 0;
}

static int
test_rule_limit(void)
{
	struct cordon_err err;
	char p[64];

	px_rules_fini(&R);
	px_rules_init(&R);
	for (int i = 0; i < PX_RULES_MAX; i++) {
		snprintf(p, sizeof(p), "h%d.test", i);
		CHECK(px_rules_add(&R, p, 0, &err) == 0);
	}
	CHECK(px_rules_add(&R, "one-more.test", 0, &err) == -1);
	CHECK(err.code == E2BIG);
	return 0;
}

int
main(void)
{
	px_rules_init(&R);
	TAP_RUN(test_normalize_names);
	TAP_RUN(test_normalize_fullwidth_ip);
	TAP_RUN(test_normalize_bad);
	TAP_RUN(test_idn_rules);
	TAP_RUN(test_ip_spellings);
	TAP_RUN(test_empty_allowlist_denies);
	TAP_RUN(test_exact_and_wildcard);
	TAP_RUN(test_ports);
	TAP_RUN(test_deny_beats_allow);
	TAP_RUN(test_cidr);
	TAP_RUN(test_bad_patterns);
	TAP_RUN(test_refused_ranges);
	TAP_RUN(test_literal_refused_even_if_cidr_wide);
	TAP_RUN(test_cidr_inside_range_allows_it);
	TAP_RUN(test_local_addresses);
	TAP_RUN(test_loopback_switch);
	TAP_RUN(test_rule_limit);
	px_rules_fini(&R);
	return tap_done();
}
