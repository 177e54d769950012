/* SPDX-License-Identifier: MIT */
/*
 * Transparent capture, set up in the sandbox's own network namespace while
 * the child still holds CAP_NET_ADMIN there (before the caps are dropped):
 *
 *   - a route that makes every destination local (`local 0.0.0.0/0 dev lo`,
 *     and ::/0 for IPv6), so connect() to any address finds a route
 *     instead of failing with ENETUNREACH; no packet can leave anyway,
 *     there is no other interface;
 *   - an nf_tables table "cordon" whose output NAT chain redirects every
 *     TCP connection not addressed to loopback to one listener on
 *     127.0.0.1 (and [::1]); the supervisor reads the original
 *     destination from the accepted socket (SO_ORIGINAL_DST);
 *   - a UDP socket and a TCP listener on 127.0.0.1:53, the DNS stub the
 *     supervisor serves (the sandbox's /etc/resolv.conf points at it).
 *     UDP to anything else reaches no listener: the local route answers
 *     port unreachable.
 *
 * The listeners go to the supervisor like the proxy's (SB_FD_CAPTURE,
 * SB_FD_CAPTURE6, SB_FD_DNS, SB_FD_DNS_TCP). A kernel without nf_tables NAT leaves capture
 * off and the sandbox as it was: programs that honour the proxy variables
 * still reach the proxy. The sandbox cannot undo any of this: it has no
 * CAP_NET_ADMIN once the command runs, and seccomp refuses netlink other
 * than NETLINK_ROUTE.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "sandbox/steps.h"

struct nlb {
	char b[2048] __attribute__((aligned(4)));
	size_t len;
	size_t cur; /* offset of the message being built */
	uint32_t seq;
	int overflow;
};

static void *
nlb_reserve(struct nlb *b, size_t len)
{
	size_t al = NLMSG_ALIGN(len);
	void *p;

	if (b->overflow || b->len + al > sizeof(b->b)) {
		b->overflow = 1;
		return NULL;
	}
	p = b->b + b->len;
	memset(p, 0, al);
	b->len += al;
	((struct nlmsghdr *)(void *)(b->b + b->cur))->nlmsg_len = (uint32_t)(b->len - b->cur);
	return p;
}

/* Start a message: header plus a family header of hlen bytes (returned). */
static void *
nlb_msg(struct nlb *b, uint16_t type, uint16_t flags, size_t hlen)
{
	struct nlmsghdr *h;

	if (b->overflow || b->len + NLMSG_HDRLEN > sizeof(b->b)) {
		b->overflow = 1;
		return NULL;
	}
	b->cur = b->len;
	h = nlb_reserve(b, NLMSG_HDRLEN);
	h->nlmsg_type = type;
	h->nlmsg_flags = flags;
	h->nlmsg_seq = ++b->seq;
	return nlb_reserve(b, hlen);
}

static void
nlb_attr(struct nlb *b, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = nlb_reserve(b, NLA_HDRLEN + len);

	if (a == NULL)
		return;
	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	memcpy((char *)a + NLA_HDRLEN, data, len);
}

static void
nlb_str(struct nlb *b, uint16_t type, const char *s)
{
	nlb_attr(b, type, s, strlen(s) + 1);
}

static void
nlb_be32(struct nlb *b, uint16_t type, uint32_t v)
{
	v = htonl(v);
	nlb_attr(b, type, &v, sizeof(v));
}

static size_t
nlb_nest(struct nlb *b, uint16_t type)
{
	size_t off = b->len;
	struct nlattr *a = nlb_reserve(b, NLA_HDRLEN);

	if (a != NULL)
		a->nla_type = type | NLA_F_NESTED;
	return off;
}

static void
nlb_nest_end(struct nlb *b, size_t off)
{
	if (!b->overflow)
		((struct nlattr *)(void *)(b->b + off))->nla_len = (uint16_t)(b->len - off);
}

/*
 * Send the messages in b and read one answer per message that asked for
 * an acknowledgement (n_acks). 0, or -1 with errno (the first error).
 */
static int
nl_talk(int proto, struct nlb *b, unsigned n_acks)
{
	_cleanup_close_ int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, proto);
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char buf[4096] __attribute__((aligned(4)));
	int first = 0;

	if (fd < 0)
		return -1;
	if (b->overflow) {
		errno = E2BIG;
		return -1;
	}
	if (sendto(fd, b->b, b->len, 0, (struct sockaddr *)&sa, sizeof(sa)) != (ssize_t)b->len)
		return -1;
	while (n_acks > 0) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (h = (struct nlmsghdr *)(void *)buf; NLMSG_OK(h, (size_t)n) && n_acks > 0;
		     h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type != NLMSG_ERROR)
				continue;
			n_acks--;
			if (((struct nlmsgerr *)NLMSG_DATA(h))->error != 0 && first == 0)
				first = -((struct nlmsgerr *)NLMSG_DATA(h))->error;
		}
	}
	if (first != 0) {
		errno = first;
		return -1;
	}
	return 0;
}

/* `ip route add local 0.0.0.0/0 dev lo table local` (or ::/0). */
static int
route_all_local(int family)
{
	struct nlb b = { .len = 0 };
	struct rtmsg *rt;
	uint32_t oif = if_nametoindex("lo");

	if (oif == 0)
		return -1;
	rt = nlb_msg(&b, RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK,
		     sizeof(*rt));
	if (rt == NULL)
		return -1;
	rt->rtm_family = (unsigned char)family;
	rt->rtm_dst_len = 0;
	rt->rtm_table = RT_TABLE_LOCAL;
	rt->rtm_protocol = RTPROT_BOOT;
	rt->rtm_scope = RT_SCOPE_HOST;
	rt->rtm_type = RTN_LOCAL;
	nlb_attr(&b, RTA_OIF, &oif, sizeof(oif));
	return nl_talk(NETLINK_ROUTE, &b, 1);
}

static void
nft_msg(struct nlb *b, uint16_t type, uint16_t flags, uint8_t family, uint16_t res_id)
{
	struct nfgenmsg *g = nlb_msg(b, type, flags, sizeof(*g));

	if (g == NULL)
		return;
	g->nfgen_family = family;
	g->version = NFNETLINK_V0;
	g->res_id = htons(res_id);
}

static size_t
expr_begin(struct nlb *b, const char *name, size_t *data)
{
	size_t elem = nlb_nest(b, NFTA_LIST_ELEM);

	nlb_str(b, NFTA_EXPR_NAME, name);
	*data = nlb_nest(b, NFTA_EXPR_DATA);
	return elem;
}

static void
expr_end(struct nlb *b, size_t elem, size_t data)
{
	nlb_nest_end(b, data);
	nlb_nest_end(b, elem);
}

/* cmp: register 1 == value */
static void
expr_cmp_eq(struct nlb *b, const void *value, size_t len)
{
	size_t e, d, v;

	e = expr_begin(b, "cmp", &d);
	nlb_be32(b, NFTA_CMP_SREG, NFT_REG_1);
	nlb_be32(b, NFTA_CMP_OP, NFT_CMP_EQ);
	v = nlb_nest(b, NFTA_CMP_DATA);
	nlb_attr(b, NFTA_DATA_VALUE, value, len);
	nlb_nest_end(b, v);
	expr_end(b, e, d);
}

static void
rule_begin(struct nlb *b, uint8_t family, size_t *exprs)
{
	nft_msg(b, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE,
		NLM_F_REQUEST | NLM_F_CREATE | NLM_F_APPEND | NLM_F_ACK, family, 0);
	nlb_str(b, NFTA_RULE_TABLE, "cordon");
	nlb_str(b, NFTA_RULE_CHAIN, "capture");
	*exprs = nlb_nest(b, NFTA_RULE_EXPRESSIONS);
}

/*
 *   table ip cordon { chain capture { type nat hook output priority -100;
 *     ip daddr 127.0.0.0/8 accept          (ip6 daddr ::1 accept)
 *     meta l4proto tcp redirect to :port } }
 */
static int
nft_redirect_tcp(uint8_t family, uint16_t port)
{
	static const uint8_t lo6[16] = { [15] = 1 };
	static const uint8_t lo4 = 127, tcp = IPPROTO_TCP;
	struct nlb b = { .len = 0 };
	size_t ex, e, d, n, n2;
	uint16_t port_be = htons(port);

	nft_msg(&b, NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
	nft_msg(&b, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWTABLE,
		NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK, family, 0);
	nlb_str(&b, NFTA_TABLE_NAME, "cordon");

	nft_msg(&b, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWCHAIN,
		NLM_F_REQUEST | NLM_F_CREATE | NLM_F_ACK, family, 0);
	nlb_str(&b, NFTA_CHAIN_TABLE, "cordon");
	nlb_str(&b, NFTA_CHAIN_NAME, "capture");
	n = nlb_nest(&b, NFTA_CHAIN_HOOK);
	nlb_be32(&b, NFTA_HOOK_HOOKNUM, NF_INET_LOCAL_OUT);
	nlb_be32(&b, NFTA_HOOK_PRIORITY, (uint32_t)-100);
	nlb_nest_end(&b, n);
	nlb_be32(&b, NFTA_CHAIN_POLICY, NF_ACCEPT);
	nlb_str(&b, NFTA_CHAIN_TYPE, "nat");

	/* loopback destinations stay as they are (the proxy, local servers) */
	rule_begin(&b, family, &ex);
	e = expr_begin(&b, "payload", &d);
	nlb_be32(&b, NFTA_PAYLOAD_DREG, NFT_REG_1);
	nlb_be32(&b, NFTA_PAYLOAD_BASE, NFT_PAYLOAD_NETWORK_HEADER);
	nlb_be32(&b, NFTA_PAYLOAD_OFFSET, family == NFPROTO_IPV4 ? 16 : 24);
	nlb_be32(&b, NFTA_PAYLOAD_LEN, family == NFPROTO_IPV4 ? 1 : 16);
	expr_end(&b, e, d);
	if (family == NFPROTO_IPV4)
		expr_cmp_eq(&b, &lo4, 1);
	else
		expr_cmp_eq(&b, lo6, sizeof(lo6));
	e = expr_begin(&b, "immediate", &d);
	nlb_be32(&b, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
	n = nlb_nest(&b, NFTA_IMMEDIATE_DATA);
	n2 = nlb_nest(&b, NFTA_DATA_VERDICT);
	nlb_be32(&b, NFTA_VERDICT_CODE, NF_ACCEPT);
	nlb_nest_end(&b, n2);
	nlb_nest_end(&b, n);
	expr_end(&b, e, d);
	nlb_nest_end(&b, ex);

	/* every other TCP connection: to the capture listener */
	rule_begin(&b, family, &ex);
	e = expr_begin(&b, "meta", &d);
	nlb_be32(&b, NFTA_META_DREG, NFT_REG_1);
	nlb_be32(&b, NFTA_META_KEY, NFT_META_L4PROTO);
	expr_end(&b, e, d);
	expr_cmp_eq(&b, &tcp, 1);
	e = expr_begin(&b, "immediate", &d);
	nlb_be32(&b, NFTA_IMMEDIATE_DREG, NFT_REG_1);
	n = nlb_nest(&b, NFTA_IMMEDIATE_DATA);
	nlb_attr(&b, NFTA_DATA_VALUE, &port_be, sizeof(port_be));
	nlb_nest_end(&b, n);
	expr_end(&b, e, d);
	e = expr_begin(&b, "redir", &d);
	nlb_be32(&b, NFTA_REDIR_REG_PROTO_MIN, NFT_REG_1);
	expr_end(&b, e, d);
	nlb_nest_end(&b, ex);

	nft_msg(&b, NFNL_MSG_BATCH_END, NLM_F_REQUEST, AF_UNSPEC, NFNL_SUBSYS_NFTABLES);
	return nl_talk(NETLINK_NETFILTER, &b, 4);
}

/* A socket of type on loopback:port (family's), listening when TCP. -1 with errno. */
static int
loopback_socket(int family, int type, uint16_t port)
{
	union {
		struct sockaddr sa;
		struct sockaddr_in in4;
		struct sockaddr_in6 in6;
	} a;
	socklen_t len;
	int fd, one = 1, e;

	memset(&a, 0, sizeof(a));
	if (family == AF_INET) {
		a.in4.sin_family = AF_INET;
		a.in4.sin_port = htons(port);
		a.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(a.in4);
	} else {
		a.in6.sin6_family = AF_INET6;
		a.in6.sin6_port = htons(port);
		a.in6.sin6_addr = in6addr_loopback;
		len = sizeof(a.in6);
	}
	fd = socket(family, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if ((family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, &a.sa, len) < 0 || (type == SOCK_STREAM && listen(fd, 4096) < 0)) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int
send_new(struct sb_child_ctx *ctx, enum sb_fd_kind kind, int fd)
{
	int r;

	if (fd < 0)
		return -1;
	r = sb_child_send_fd(ctx, kind, fd);
	close(fd);
	return r;
}

int
sb_capture_setup(struct sb_child_ctx *ctx)
{
	uint16_t port = ctx->spec->capture_port;

	if (port == 0)
		return 0;
	/*
	 * IPv4 capture or nothing: without it the sandbox stays as before
	 * (the supervisor says so when no capture listener arrives). The
	 * test switch stands for a kernel without nf_tables NAT.
	 */
	if ((ctx->spec->test_flags & SB_TEST_NO_CAPTURE) || route_all_local(AF_INET) < 0 ||
	    nft_redirect_tcp(NFPROTO_IPV4, port) < 0)
		return 0;
	if (send_new(ctx, SB_FD_CAPTURE, loopback_socket(AF_INET, SOCK_STREAM, port)) < 0 ||
	    send_new(ctx, SB_FD_DNS, loopback_socket(AF_INET, SOCK_DGRAM, 53)) < 0 ||
	    send_new(ctx, SB_FD_DNS_TCP, loopback_socket(AF_INET, SOCK_STREAM, 53)) < 0)
		return -1;
	/* IPv6 where the namespace has it; a v6 literal otherwise stays unreachable */
	if (route_all_local(AF_INET6) == 0 && nft_redirect_tcp(NFPROTO_IPV6, port) == 0) {
		int fd = loopback_socket(AF_INET6, SOCK_STREAM, port);

		if (fd >= 0 && send_new(ctx, SB_FD_CAPTURE6, fd) < 0)
			return -1;
	}
	return 0;
}
