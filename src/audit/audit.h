/* SPDX-License-Identifier: MIT */
#ifndef CORDON_AUDIT_AUDIT_H
#define CORDON_AUDIT_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

/*
 * The audit log: JSON Lines, schema v1 (docs/audit-schema.md), one record
 * per write(2) on an O_APPEND fd, each carrying "prev", the SHA-256 of the
 * previous line of the same file (without its newline). Several sessions
 * may append to one file at once: every write happens under flock(), and a
 * writer that finds the file grew since its own last record re-reads the
 * last line to link to it. The log never goes through log_*.
 *
 * Not safe after fork (allocates, takes locks). One struct cordon_audit per
 * session; audit_close releases it.
 */

#define AUDIT_SCHEMA_VERSION 1
#define AUDIT_HASH_HEX       64            /* hex SHA-256 */
#define AUDIT_SESSION_ID_LEN 32            /* hex, 128 random bits */
#define AUDIT_MAX_LINE       (1024 * 1024) /* longest record cordon writes or reads */
#define AUDIT_LOG_NAME       "audit.jsonl" /* file name inside the audit directory */

/* Exec records: bounds on what is copied from the target (documented). */
#define AUDIT_EXEC_MAX_ARGS       256   /* argv entries recorded */
#define AUDIT_EXEC_MAX_ARG        4096  /* bytes per argv entry */
#define AUDIT_EXEC_MAX_ARGV_BYTES 65536 /* bytes of argv in total */
#define AUDIT_EXEC_MAX_PATH       4096  /* bytes of the path */

/*
 * Records the sandbox can cause (exec, net, violation) are rate-limited per
 * type: within each AUDIT_RATE_WINDOW_S window at most AUDIT_RATE_RECORDS
 * records and AUDIT_RATE_BYTES bytes of one type are written; beyond, one
 * "limit" record says so, the rest are only counted, and a "suppressed"
 * record ("N similar records suppressed in T s") is written when the window
 * is over (with the next record of any type) or at the session's end.
 */
#define AUDIT_RATE_WINDOW_S 60
#define AUDIT_RATE_RECORDS  3000
#define AUDIT_RATE_BYTES    (4u << 20)

struct cordon_audit;
struct audit_export;

struct audit_options {
	const char *path;          /* log file; NULL: audit_default_path() */
	bool fail_closed;          /* a record that cannot be written stops the session */
	const char *otlp_endpoint; /* "http://host:port[/path]" or NULL */
	bool syslog;               /* also send every record to syslog(3) */
	unsigned rate_records;     /* 0: AUDIT_RATE_RECORDS (lower for tests) */
	uint64_t rate_bytes;       /* 0: AUDIT_RATE_BYTES */
	const char *session_id;    /* the session's id (audit_session_id_new); NULL: a new one */
};

/* Counters, reported in the session end record. */
struct audit_counters {
	uint64_t records;      /* written by this session, end record excluded */
	uint64_t exec;         /* exec records with outcome "ran": programs run */
	uint64_t exec_failed;  /* ... outcome "failed" */
	uint64_t exec_unknown; /* ... outcome "unknown" */
	uint64_t net;
	uint64_t net_denied;
	uint64_t violations;
	uint64_t policy;
	uint64_t credential;
	uint64_t write_errors;
	uint64_t suppressed; /* records over the rate bound, summarised */
	uint64_t limits;     /* limit records */
};

/* Layers in force, for the session start record. */
struct audit_layers {
	const char *const *namespaces; /* NULL-terminated names: "user", "mnt", ... */
	bool seccomp;
	int landlock_abi;   /* 0: no ruleset; -1: unknown (setup failed before) */
	const char *limits; /* "none", "cgroup v2", "rlimits"; NULL: unknown */
	/* The ceilings in force (0: none), when limits is not NULL. */
	uint64_t memory_max, disk_max;
	uint32_t cpu_millis, pids_max;
	bool exec_audit;
	const char *identity; /* who the command is (sb_report): "user", "idmap", "owner",
				 "root-uid"; NULL when the sandbox was not built */
	size_t host_masks;    /* root-only host files masked (root-uid, owner) */
};

/* One workspace of a session (docs/audit-schema.md `workspaces`). */
struct audit_workspace {
	const char *path; /* canonical */
	bool ro;          /* read-only inside */
};

struct audit_session_info {
	char *const *argv; /* the command, NULL-terminated */
	const char *cwd;   /* the workspace */
	/* every workspace, the primary (cwd) first; NULL/0: cwd alone, read-write */
	const struct audit_workspace *workspaces;
	size_t n_workspaces;
	const char *user; /* login name, may be NULL */
	uid_t uid;
	const char *policy_digest; /* "sha256:<hex>" */
	const struct audit_layers *layers;
};

struct audit_session_end {
	int status;         /* exit status cordon returns */
	const char *reason; /* "exit", "not-started", "setup-error", "audit-failure" */
	/* Layers known only once the sandbox is built (layers.capture): "on", or
	   "off" (no nf_tables NAT); NULL when the sandbox was not built. */
	const char *capture;
};

/* Who closes a session whose supervisor died before its end record. */
struct audit_closer {
	const char *command; /* "run", "ps", ... (the cordon command that found it) */
	const char *session; /* that command's own session id, or NULL */
	pid_t pid;           /* its pid */
};

/* No record: an exec_request over the record rate was counted, not written. */
#define AUDIT_SEQ_NONE UINT64_MAX

struct audit_exec_event {
	pid_t pid;           /* in the supervisor's pid namespace */
	const char *syscall; /* "execve" or "execveat" */
	int dirfd;           /* execveat only, else AT_FDCWD */
	int flags;           /* execveat flags */
	const char *path;    /* bytes as read; need not be UTF-8 */
	size_t path_len;
	const char *const *argv; /* entries as read; each need not be UTF-8 */
	const size_t *argv_len;
	size_t argc;                 /* entries in argv */
	bool truncated;              /* argv or path cut at the AUDIT_EXEC_* bounds */
	bool argv_from_command_line; /* unreadable; argv is cordon's own command line */
	/*
	 * The outcome (exec records only; an exec_request record ignores
	 * everything below). outcome: "ran", "failed" or "unknown".
	 */
	const char *outcome;
	uint64_t request_seq; /* seq of the exec_request record of this call, or
				 AUDIT_SEQ_NONE (not written: over the record rate) */
	bool fd_exec;         /* the program was named by a file descriptor */
	bool script;          /* the path named a "#!" script: file is its interpreter */
	bool claimed_known;   /* claimed_dev/ino: what the path named at the call */
	uint64_t claimed_dev, claimed_ino;
	int error;                   /* failed: errno cordon's own lookup found, or 0 */
	const char *file_path;       /* ran: /proc/PID/exe after the exec, or NULL */
	uint64_t file_dev, file_ino; /* ran and file_path: its identity */
	bool path_mismatch;          /* file is not what the path named at the call */
	const char *digest;          /* "sha256:<hex>" of file, or NULL */
	const char *digest_skipped;  /* why no digest was taken where one was due */
};

struct audit_net_event {
	const char *host; /* as requested (name or literal) */
	uint16_t port;
	const char *address;           /* resolved address connected to, or NULL */
	const char *protocol;          /* "http-connect", "http", "socks5", ... */
	const char *decision;          /* "allow" or "deny" */
	const char *rule;              /* rule that decided, or NULL (default deny) */
	const char *reason;            /* why denied, or NULL */
	uint64_t bytes_up, bytes_down; /* client->upstream, upstream->client */
	uint64_t duration_ms;
	const char *method; /* a request the proxy read: its method; NULL for a connection */
	const char *path;   /* ... and its path without the query, else NULL */
	int status;         /* ... and its response's status (403: refused), 0 if none */
	bool intercepted;   /* the proxy terminated the tunnel's TLS */
};

struct audit_violation {
	const char *kind;   /* "net", "fs", "syscall", "socket", "exec", ... */
	const char *what;   /* the object: a path, a host, a syscall name */
	const char *reason; /* why it was refused */
	pid_t pid;          /* 0 when unknown */
};

struct audit_policy_change {
	const char *action; /* "allow-domain", ... */
	const char *target; /* "example.com" */
	const char *origin; /* who asked: "cordon allow" */
};

/* A per-session bound was reached (proxy connections, buffers, audit rate). */
struct audit_limit {
	const char *limit;   /* "proxy.connections", "proxy.buffers", "audit.records", ... */
	const char *kind;    /* the record type concerned, or NULL */
	uint64_t max;        /* the bound */
	uint64_t value;      /* what was reached */
	const char *message; /* one sentence */
};

/* `cordon exec`: a command joined the running session (join, join_end). */
struct audit_join {
	int32_t join;         /* its number in the session, from 1 */
	char *const *argv;    /* the command, NULL-terminated (join) */
	const char *cwd;      /* where it starts (join) */
	uid_t uid;            /* the client's uid on the host (join) */
	pid_t client_pid;     /* the client, `cordon exec`, on the host (join) */
	bool tty;             /* it got a terminal of its own (join) */
	pid_t pid;            /* its pid inside, 0 before it ran (join_end) */
	int status;           /* as the shell reports it (join_end) */
	uint64_t duration_ms; /* (join_end) */
	const char *reason;   /* "exit", "not-started", "sandbox-ended" (join_end) */
};

struct audit_credential {
	const char *name;   /* the credential's name; never its value */
	const char *host;   /* where it was injected */
	const char *header; /* which header, or NULL */
};

/*
 * A new session id: AUDIT_SESSION_ID_LEN lowercase hex digits (128 random
 * bits) into id. The one id of a session: audit records, the control
 * socket, the session record, `cordon ps`. 0 or -1 with err.
 */
int audit_session_id_new(char id[AUDIT_SESSION_ID_LEN + 1], struct cordon_err *err);

/* True when id has the form audit_session_id_new gives. Pure. */
bool audit_session_id_ok(const char *id);

/*
 * Default log path: $XDG_STATE_HOME/cordon/audit/audit.jsonl, else
 * $HOME/.local/state/cordon/audit/audit.jsonl, else from the password
 * database. Returns a malloc'd string or NULL with err set.
 */
char *audit_default_path(struct cordon_err *err);

/*
 * Open (create 0600; parent directories 0700) the log at opts->path or the
 * default, read its last line under flock to link to it, start the export
 * sinks. Returns the handle, or NULL with err set (then the session must
 * not start). Not safe after fork.
 */
struct cordon_audit *audit_open(const struct audit_options *opts, struct cordon_err *err);

/*
 * Start the export thread (OTLP, syslog). Call only after the sandbox is
 * cloned: a thread running while clone() copies the process could hold a
 * libc lock the child then waits on forever. Until then records queue.
 * 0 or -1 with err.
 */
int audit_start_export(struct cordon_audit *a, struct cordon_err *err);

/* Flush the exporters (bounded wait) and release everything. NULL is fine. */
void audit_close(struct cordon_audit *a);

/* Path of the open log file (canonical) and the session id. */
const char *audit_path(const struct cordon_audit *a);
const char *audit_session_id(const struct cordon_audit *a);
bool audit_fail_closed(const struct cordon_audit *a);
const struct audit_counters *audit_counters(const struct cordon_audit *a);
/* Records the exporters had to drop (queue full or collector unreachable). */
uint64_t audit_export_dropped(const struct cordon_audit *a);

/*
 * Record writers. Each builds one record, links it to the chain and writes
 * it with one write(2). 0, or -1 with err set (the record is lost; under
 * failClosed the caller stops the session). A failure is remembered: see
 * audit_failed().
 */
int audit_session_start(struct cordon_audit *a, const struct audit_session_info *info,
			struct cordon_err *err);
int audit_session_end(struct cordon_audit *a, const struct audit_session_end *end,
		      struct cordon_err *err);
/*
 * audit_exec_request writes the exec_request record of ev (the call as
 * read, before the kernel acts on it); audit_exec writes the exec record
 * (ev->outcome set, after it). *seq (may be NULL) gets the request's seq.
 */
int audit_exec_request(struct cordon_audit *a, const struct audit_exec_event *ev, uint64_t *seq,
		       struct cordon_err *err);
int audit_exec(struct cordon_audit *a, const struct audit_exec_event *ev, struct cordon_err *err);
int audit_net(struct cordon_audit *a, const struct audit_net_event *ev, struct cordon_err *err);
int audit_violation(struct cordon_audit *a, const struct audit_violation *v,
		    struct cordon_err *err);
int audit_policy_change(struct cordon_audit *a, const struct audit_policy_change *p,
			struct cordon_err *err);
int audit_credential(struct cordon_audit *a, const struct audit_credential *c,
		     struct cordon_err *err);
int audit_limit(struct cordon_audit *a, const struct audit_limit *l, struct cordon_err *err);
/* The join record, when `cordon exec` asks, and join_end, when it is over. */
int audit_join(struct cordon_audit *a, const struct audit_join *j, struct cordon_err *err);
int audit_join_end(struct cordon_audit *a, const struct audit_join *j, struct cordon_err *err);

/*
 * Close session `session` of the log at path, whose supervisor died before
 * it could write its end: append its session_end record with reason
 * `reason` ("supervisor-killed"), status and duration null, and who closed
 * it (docs/audit-schema.md). Only the dead session's last record is read
 * (its seq); no other record is touched. Returns 1 when the record was
 * written, 0 when there was nothing to close (no record of that session in
 * the file, or it already ended), -1 with err set. Not safe after fork.
 */
int audit_close_orphan(const char *path, const char *session, const char *reason,
		       const struct audit_closer *by, struct cordon_err *err);

/*
 * Called once, on the first record that cannot be written, when failClosed
 * is on: the supervisor stops the sandbox there (whatever event the record
 * was for: exec, net, ...). fn runs in the writer's thread (the loop's).
 */
typedef void (*audit_fail_fn)(void *arg);
void audit_on_failure(struct cordon_audit *a, audit_fail_fn fn, void *arg);

/*
 * The first write failure of this session, or NULL. Lets code that has no
 * err to return (an event handler) report it later.
 */
const struct cordon_err *audit_failed(const struct cordon_audit *a);

/*
 * Make s (len bytes, any content) valid UTF-8: every byte that is not part
 * of a well-formed sequence (RFC 3629: no overlongs, no surrogates, nothing
 * above U+10FFFF) becomes U+FFFD. Writes at most out_size - 1 bytes and a
 * NUL; a multi-byte character never gets cut. Returns the length written.
 * Pure; NUL bytes in s are kept (JSON escapes them as \u0000).
 */
size_t audit_utf8_sanitize(const char *s, size_t len, char *out, size_t out_size);

/*
 * argv as the JSON array text an exec record holds (sanitised, escaped,
 * one line of ASCII). malloc'd, or NULL (ENOMEM). Pure; fuzzed.
 */
char *audit_format_argv(const char *const *argv, const size_t *len, size_t argc);

/* Lowercase hex SHA-256 of buf into hex[AUDIT_HASH_HEX + 1]. 0 or -1. */
int audit_sha256_hex(const void *buf, size_t len, char hex[AUDIT_HASH_HEX + 1]);

/* ---- session.c: what `cordon run` records around a sandbox ---- */

struct sb_spec;
struct sb_mount;

/*
 * Digest of the sandbox spec ("sha256:<hex>" into out): SHA-256 over a
 * canonical text summary (workspace, each mount as kind:path in order,
 * notify set). Stands in for the policy digest until the policy layer
 * provides one. 0 or -1.
 */
int audit_spec_digest(const struct sb_spec *spec, char out[8 + AUDIT_HASH_HEX]);

/*
 * What to mask inside the sandbox so that it can neither read nor write the
 * log: the log's directory, unless that directory is "/", the workspace, or
 * holds the workspace or a path of spec's mounts (masking it would hide
 * them): then the log file alone. Returns a malloc'd canonical path, or
 * NULL (ENOMEM).
 */
char *audit_mask_path(const struct cordon_audit *a, const struct sb_spec *spec);

/*
 * Write the session start record for spec (argv, cwd, the workspaces:
 * ws[0..n_ws), the primary first, or NULL for spec's workspace alone,
 * user, digest, layers). 0 or -1 with err set.
 */
int audit_run_start(struct cordon_audit *a, const struct sb_spec *spec, bool exec_audit,
		    const struct audit_workspace *ws, size_t n_ws, struct cordon_err *err);

/* ---- verify.c ---- */

enum audit_verify_result {
	AUDIT_VERIFY_OK = 0,
	AUDIT_VERIFY_BROKEN,    /* a link, a record or the JSON is wrong at line */
	AUDIT_VERIFY_TRUNCATED, /* the last line has no newline: cut mid-record */
	AUDIT_VERIFY_OPEN,      /* chain intact, but sessions without an end record */
};

struct audit_verify_report {
	enum audit_verify_result result;
	uint64_t lines;    /* records read */
	uint64_t sessions; /* session start records */
	uint64_t line;     /* where the first problem is (1-based), 0 if none */
	uint64_t open_sessions;
	char open_session[AUDIT_SESSION_ID_LEN + 1]; /* the first open one */
	uint64_t open_line;                          /* its start record */
	char detail[256];                            /* what is wrong at line */
	/* Sessions closed by a later cordon (their supervisor was killed). */
	uint64_t closed_later;
	char closed_session[AUDIT_SESSION_ID_LEN + 1]; /* the first of them */
	char closed_by[AUDIT_SESSION_ID_LEN + 1];      /* the session that closed it, or "" */
	char closed_by_command[16];                    /* "run", "ps", ... */
	char closed_reason[32];                        /* "supervisor-killed" */
};

/*
 * Check the chain of the log at path. Returns 0 with rep filled (whatever
 * rep->result is), or -1 with err set when the file cannot be read.
 */
int audit_verify_file(const char *path, struct audit_verify_report *rep, struct cordon_err *err);

/*
 * Check a log held in memory (pure: no syscalls). Same report as
 * audit_verify_file. Used by the file variant, the unit tests and the fuzzer.
 */
void audit_verify_buf(const char *buf, size_t len, struct audit_verify_report *rep);

/* ---- export.c: OTLP/HTTP JSON logs and syslog, off the event loop ---- */

/*
 * Set up the exporters opts asks for (*out NULL and 0 when none); records
 * pushed before audit_export_run wait in the queue. 0 or -1 with err.
 */
int audit_export_new(const struct audit_options *opts, struct audit_export **out,
		     struct cordon_err *err);
/*
 * Start the sender thread: bounded queue (drop-oldest), batches, retries
 * with backoff; it never blocks the caller. NULL is fine. 0 or -1.
 */
int audit_export_run(struct audit_export *ex, struct cordon_err *err);
/* Queue one record (a copy is taken). Never blocks on the network. */
void audit_export_push(struct audit_export *ex, const char *line, size_t len, const char *type,
		       const char *session);
/* Flush for at most timeout_ms, stop the thread, free. NULL is fine. */
void audit_export_stop(struct audit_export *ex, unsigned timeout_ms);
uint64_t audit_export_dropped_count(struct audit_export *ex);

/*
 * Parse "http://host[:port][/path]" into parts (pure). path defaults to
 * "/v1/logs", port to 80. 0 or -1 with err (https is not supported).
 */
int audit_otlp_parse_url(const char *url, char *host, size_t host_size, char *port,
			 size_t port_size, char *path, size_t path_size, struct cordon_err *err);

/*
 * Build the OTLP/HTTP JSON body for n records (pure). Returns a malloc'd
 * NUL-terminated string or NULL (ENOMEM).
 */
char *audit_otlp_body(const char *const *lines, const size_t *lens, const char *const *types,
		      const char *const *sessions, size_t n);

#endif
