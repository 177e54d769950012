/* SPDX-License-Identifier: MIT */
/*
 * The network namespace starts with only a loopback device, down. Bring it
 * up so that tools can talk to their own servers on 127.0.0.1 inside; no
 * other interface exists, so nothing routes out.
 */
#include <errno.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "sandbox/steps.h"

int
sb_net_lo_up(struct sb_child_ctx *ctx)
{
	_cleanup_close_ int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;

	(void)ctx;
	if (fd < 0)
		return -1;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, "lo", 3);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	return ioctl(fd, SIOCSIFFLAGS, &ifr);
}

/*
 * The egress proxy's listener, created here in the sandbox's network
 * namespace and listen()ed before the command starts, so its first
 * connection waits in the backlog instead of failing. The supervisor
 * accepts on it from outside (it receives the fd over the control socket).
 */
int
sb_proxy_listener(struct sb_child_ctx *ctx)
{
	struct sockaddr_in sa;
	int fd, one = 1, r;

	if (ctx->spec->proxy_port == 0)
		return 0;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(ctx->spec->proxy_port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4096) < 0) {
		r = errno;
		close(fd);
		errno = r;
		return -1;
	}
	r = sb_child_send_fd(ctx, SB_FD_PROXY, fd);
	close(fd);
	return r;
}
