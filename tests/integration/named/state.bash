# state_base PREFIX: a fresh directory for named sandboxes' state (printed),
# on a file system overlayfs can take as upper layer: not overlayfs itself.
# $T lies in /var/tmp, which named sandboxes see through their overlay.
# Returns 1 when /tmp and /dev/shm are both overlayfs.
state_base() {
	local d
	for d in /tmp /dev/shm; do
		[ "$(stat -f -c %T "$d" 2>/dev/null)" = overlayfs ] && continue
		mktemp -d "$d/$1.XXXXXX" 2>/dev/null && return 0
	done
	return 1
}
