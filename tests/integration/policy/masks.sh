#!/bin/bash
# Masks hold: built-in credential paths and a user mask stay unreadable
# through the plain path, /proc/self/root, a symlink planted in the
# workspace, `..` games and a hard link. `~` is $HOME of the invoking user
# (cordon reads $HOME, falling back to passwd), so a temporary HOME with
# fake credentials stands in for the real one.
. "$(dirname "$0")/../lib.sh"

home=$(mktemp -d "$T/home.XXXXXX")
mkdir -p "$home/.ssh" "$home/.aws" "$home/notes" "$home/.config/cordon"
echo "SSH-SECRET-$$" > "$home/.ssh/id_ed25519"
echo "AWS-SECRET-$$" > "$home/.aws/credentials"
echo "NETRC-SECRET-$$" > "$home/.netrc"
echo "NOTES-SECRET-$$" > "$home/notes/plan.txt"
# World-readable on purpose: only the mask may refuse, not file modes.
chmod -R a+rX "$home"
cat > "$home/.config/cordon/settings.json" <<JSON
{"sandbox": {"filesystem": {"denyRead": ["~/notes"]}}}
JSON
ws=$(new_ws)
mkdir -p "$ws/sub"

run_in() { (cd "$ws" && HOME="$home" "$CORDON" run "$@"); }

# denied DESC MARKER CMD...: the output must not contain MARKER, and must
# show why (an empty masked file, or no such file in an emptied directory).
denied() {
	local desc=$1 marker=$2; shift 2
	local err
	err=$(mktemp "$T/err.XXXXXX")
	OUT=$(run_in "$@" 2>"$err")
	RC=$?
	ERR=$(cat "$err")
	rm -f "$err"
	if printf '%s%s' "$OUT" "$ERR" | grep -q -- "$marker"; then
		not_ok "$desc"
		diag "secret leaked: $OUT $ERR"
	elif printf '%s%s' "$OUT" "$ERR" | grep -Eq "No such file|Invalid cross-device link|Read-only file system|Operation not permitted" ||
	     { [ "$RC" -eq 0 ] && [ -z "$OUT" ]; }; then
		ok "$desc"
	else
		not_ok "$desc"
		diag "exit $RC, unexpected output: $OUT $ERR"
	fi
}

n=0
for spec in ".ssh/id_ed25519:SSH-SECRET:built-in ~/.ssh" ".aws/credentials:AWS-SECRET:built-in ~/.aws" \
	    ".netrc:NETRC-SECRET:built-in ~/.netrc" "notes/plan.txt:NOTES-SECRET:user ~/notes"; do
	n=$((n + 1))
	rel=${spec%%:*}; rest=${spec#*:}; marker=${rest%%:*}; label=${rest#*:}
	path="$home/$rel"
	top="$home/${rel%%/*}"
	# Controls: the file is readable outside, and inside too once the
	# policy explicitly allows it, so the mask is the only wall.
	check "$label: control: readable outside" grep -q "$marker" "$path"
	printf '{"sandbox": {"filesystem": {"allowRead": ["%s"]}}}\n' "$top" > "$T/allow$n.json"
	expect_output "$label: control: readable inside with an explicit allowRead" "$marker" \
		run_in --policy "$T/allow$n.json" -- cat "$path"
	denied "$label: plain path" "$marker" -- cat "$path"
	denied "$label: /proc/self/root" "$marker" -- cat "/proc/self/root$path"
	denied "$label: symlink planted in the workspace" "$marker" \
		-- sh -c "ln -s '$path' link$n && cat link$n"
	dotdot="$ws/sub/..$(printf '%s' "$ws" | sed 's|[^/]*|..|g')$path"
	denied "$label: .. games ($dotdot)" "$marker" -- cat "$dotdot"
	denied "$label: /proc/self/cwd and .." "$marker" -- sh -c "cd sub && cat /proc/self/cwd/..$(printf '%s' "$ws" | sed 's|[^/]*|..|g')$path"
	denied "$label: hard link into the workspace" "$marker" -- sh -c "ln '$path' hard$n 2>&1; cat hard$n 2>&1"
	if [ -e "$ws/hard$n" ] && grep -q "$marker" "$ws/hard$n"; then
		not_ok "$label: no hard link to the secret on the host"
	else
		ok "$label: no hard link to the secret on the host"
	fi
	check "$label: the secret is untouched on the host" grep -q "$marker" "$path"
done

# A masked file cannot be written through either.
expect_fail "masked file is read-only inside" "Read-only file system|No such file" \
	run_in -- sh -c "echo x > '$home/.netrc'"
check "masked file unchanged on the host" grep -q NETRC-SECRET "$home/.netrc"

# .env* in the workspace (built-in) is masked; a control file is not.
echo "ENV-SECRET-$$" > "$ws/.env.local"
echo "PLAIN-$$" > "$ws/plain.txt"
denied "workspace .env.local masked" "ENV-SECRET" -- cat .env.local
expect_output "control: a plain workspace file reads" "PLAIN-$$" run_in -- cat plain.txt

# ...at any depth, and *.env files too (config/secrets.env); each with a control.
mkdir -p "$ws/sub/deep" "$ws/config"
echo "DEEP-ENV-$$" > "$ws/sub/deep/.env"
echo "NAMED-ENV-$$" > "$ws/config/secrets.env"
echo "LOOKALIKE-$$" > "$ws/config/app.environment.ts"
check "control: sub/deep/.env readable outside" grep -q "DEEP-ENV-$$" "$ws/sub/deep/.env"
printf '{"sandbox": {"filesystem": {"allowRead": ["%s/sub/deep/.env", "%s/config/secrets.env"]}}}\n' \
	"$ws" "$ws" > "$T/allow-env.json"
expect_output "control: sub/deep/.env readable inside with an explicit allowRead" "DEEP-ENV-$$" \
	run_in --policy "$T/allow-env.json" -- cat sub/deep/.env
denied "sub/deep/.env masked" "DEEP-ENV" -- cat sub/deep/.env
denied "config/secrets.env masked" "NAMED-ENV" -- cat config/secrets.env
denied "sub/deep/.env masked through /proc/self/root" "DEEP-ENV" -- cat "/proc/self/root$ws/sub/deep/.env"
expect_output "control: a look-alike name (app.environment.ts) is not masked" "LOOKALIKE-$$" \
	run_in -- cat config/app.environment.ts

# A user mask given on the command line (--mask) goes through the policy too.
mkdir -p "$ws/private" && echo "PRIVATE-$$" > "$ws/private/key"
denied "--mask on a workspace directory" "PRIVATE-$$" --mask "$ws/private" -- cat private/key
expect_output "policy show lists the user mask with its origin" \
	"filesystem.denyRead +~/notes +\(user $home/.config/cordon/settings.json:1:42\)" \
	env HOME="$home" sh -c "cd '$ws' && '$CORDON' policy show"
done_testing
