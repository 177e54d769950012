#!/bin/bash
# Nothing planted runs later: tool configuration with command keys, PATH
# directories inside the workspace, and a workspace that is the home. Each
# plant is proven from outside: after the session the host's own tool runs
# and the plant does not; a control shows the same plant runs without
# cordon.
. "$(dirname "$0")/../lib.sh"

home=$(mktemp -d "$T/home.XXXXXX")
chmod 755 "$home"
export HOME="$home"
marker="$T/PLANT-RAN.$$"
run_in() { local ws=$1; shift; (cd "$ws" && "$CORDON" run "$@"); }

# 1. .npmrc with script-shell: the host's `npm test` would run the plant.
if command -v npm >/dev/null 2>&1; then
	evil="$T/evil-shell.sh"
	printf '#!/bin/sh\ntouch "%s"\nexec /bin/sh "$@"\n' "$marker" > "$evil"
	chmod 755 "$evil"
	mkpkg() { printf '{"name":"p","version":"1.0.0","scripts":{"test":"true"}}\n' > "$1/package.json"; }
	ctl=$(new_ws); mkpkg "$ctl"
	printf 'script-shell=%s\n' "$evil" > "$ctl/.npmrc"
	rm -f "$marker"
	(cd "$ctl" && npm test >/dev/null 2>&1)
	check "control: a planted .npmrc script-shell runs at the host's next npm test" test -e "$marker"
	rm -f "$marker"

	ws=$(new_ws); mkpkg "$ws"
	run_capture run_in "$ws" -- sh -c "printf 'script-shell=$evil\n' > .npmrc; echo planted"
	check "inside: planting .npmrc is allowed to try (the command ran)" \
		sh -c "printf '%s' \"\$1\" | grep -q planted" _ "$OUT"
	check "the session end reports the quarantined .npmrc" \
		sh -c "printf '%s' \"\$1\" | grep -q 'quarantined .npmrc'" _ "$OUT"
	(cd "$ws" && npm test >/dev/null 2>&1)
	check "after the session the host's npm test does not run the plant" test ! -e "$marker"
	rm -f "$marker"

	# An .npmrc that exists at the start is read-only inside.
	ws=$(new_ws); mkpkg "$ws"; echo "fund=false" > "$ws/.npmrc"
	expect_fail "existing .npmrc is read-only inside" "Read-only file system|Permission denied" \
		run_in "$ws" -- sh -c "printf 'script-shell=$evil\n' >> .npmrc"
	(cd "$ws" && npm test >/dev/null 2>&1)
	check "... and the host's npm test does not run the plant" test ! -e "$marker"
else
	skip "npm plants" "npm is not installed"
fi

# 2. Other tools' command-carrying files: refused when they exist,
# quarantined when they appear.
for f in .yarnrc.yml .cargo/config.toml .pdbrc .mvn/jvm.config; do
	ws=$(new_ws)
	mkdir -p "$ws/$(dirname "$f")"
	run_capture run_in "$ws" -- sh -c "mkdir -p \$(dirname $f); echo 'x = \"$marker\"' > $f; echo planted"
	check "$f planted inside is gone from the host after the session" test ! -e "$ws/$f"
	echo "harmless" > "$ws/$f"
	expect_fail "$f existing at start is read-only inside" "Read-only file system|Permission denied" \
		run_in "$ws" -- sh -c "echo evil >> $f"
	check "$f unchanged on the host" grep -qx harmless "$ws/$f"
done

# 2b. The same files in a subdirectory: npm reads the .npmrc of the
# nearest folder with a package.json, cargo every .cargo/config.toml from
# the current folder up, pdb the current folder's .pdbrc, Maven the .mvn of
# the project's base folder. A workspace holding several projects (or one
# with packages in folders) is read there by the host's tools.
if command -v npm >/dev/null 2>&1; then
	ctl=$(new_ws); mkdir "$ctl/pkg"; mkpkg "$ctl/pkg"
	printf 'script-shell=%s\n' "$evil" > "$ctl/pkg/.npmrc"
	rm -f "$marker"
	(cd "$ctl/pkg" && npm test >/dev/null 2>&1)
	check "control: a .npmrc planted in a package folder runs at the host's npm test there" test -e "$marker"
	rm -f "$marker"
	ws=$(new_ws); mkdir "$ws/pkg"; mkpkg "$ws/pkg"
	run_capture run_in "$ws" -- sh -c "printf 'script-shell=$evil\n' > pkg/.npmrc; echo planted"
	check "pkg/.npmrc: the plant ran inside" sh -c "printf '%s' \"\$1\" | grep -q planted" _ "$OUT"
	check "pkg/.npmrc: the session end reports it quarantined" \
		sh -c "printf '%s' \"\$1\" | grep -q 'quarantined pkg/.npmrc'" _ "$OUT"
	(cd "$ws/pkg" && npm test >/dev/null 2>&1)
	check "pkg/.npmrc: the host's npm test there after the session does not run the plant" test ! -e "$marker"
	rm -f "$marker"
	ws=$(new_ws); mkdir "$ws/pkg"; mkpkg "$ws/pkg"; echo "fund=false" > "$ws/pkg/.npmrc"
	expect_fail "pkg/.npmrc existing at start is read-only inside" "Read-only file system|Permission denied" \
		run_in "$ws" -- sh -c "printf 'script-shell=$evil\n' >> pkg/.npmrc"
	(cd "$ws/pkg" && npm test >/dev/null 2>&1)
	check "... and the host's npm test there does not run the plant" test ! -e "$marker"
else
	skip "npm plants in a package folder" "npm is not installed"
fi
for f in a/.yarnrc.yml a/b/.cargo/config.toml a/.pdbrc a/.mvn/jvm.config \
	a/.vscode/tasks.json a/b/.claude/settings.json a/.mcp.json a/.gemini/settings.json \
	a/.yarn/releases/yarn-4.cjs a/b/.yarn/plugins/p.cjs a/gradle/wrapper/gradle-wrapper.properties; do
	ws=$(new_ws)
	run_capture run_in "$ws" -- sh -c "mkdir -p \$(dirname $f); echo 'x = \"$marker\"' > $f; echo planted"
	check "$f planted inside is gone from the host after the session" test ! -e "$ws/$f"
	mkdir -p "$ws/$(dirname "$f")"
	echo "harmless" > "$ws/$f"
	expect_fail "$f existing at start is read-only inside" "Read-only file system|Permission denied" \
		run_in "$ws" -- sh -c "echo evil >> $f"
	check "$f unchanged on the host" grep -qx harmless "$ws/$f"
done
ws=$(new_ws); mkdir -p "$ws/node_modules/dep"
expect_status "control: a package's own .npmrc inside node_modules stays writable (npm install writes there)" 0 \
	run_in "$ws" -- sh -c "echo x > node_modules/dep/.npmrc"

# 3. A PATH directory inside the workspace: a planted `git` there would run
# at the user's next `git` outside.
ws=$(new_ws)
mkdir -p "$ws/bin"
printf '#!/bin/sh\ntouch "%s"\n' "$marker" > "$SHOWN/fake-git"
chmod 755 "$SHOWN/fake-git"
cp "$SHOWN/fake-git" "$ws/bin/ctl-git"
rm -f "$marker"
PATH="$ws/bin:$PATH" ctl-git
check "control: a program in a PATH directory of the workspace runs outside" test -e "$marker"
rm -f "$marker" "$ws/bin/ctl-git"
expect_fail "PATH directory inside the workspace is read-only inside" "Read-only file system" \
	env PATH="$ws/bin:$PATH" sh -c "cd '$ws' && '$CORDON' run -- cp '$SHOWN/fake-git' bin/git"
check "no git planted in the PATH directory on the host" test ! -e "$ws/bin/git"
expect_status "control: the rest of the workspace stays writable" 0 \
	env PATH="$ws/bin:$PATH" sh -c "cd '$ws' && '$CORDON' run -- cp '$SHOWN/fake-git' not-in-path"
venv=$(new_ws)
mkdir -p "$venv/.venv/bin"
expect_status "the active virtualenv's bin stays writable (pip install must work)" 0 \
	env PATH="$venv/.venv/bin:$PATH" VIRTUAL_ENV="$venv/.venv" \
	sh -c "cd '$venv' && '$CORDON' run -- cp '$SHOWN/fake-git' .venv/bin/tool"

# 4. The home as the workspace: ~/.local/bin and ~/bin come first in PATH at
# the next login (Debian's ~/.profile adds them when they exist).
hws=$(new_ws)
run_capture env HOME="$hws" sh -c "cd '$hws' && '$CORDON' run -- sh -c 'mkdir -p .local/bin bin && cp $SHOWN/fake-git .local/bin/git && cp $SHOWN/fake-git bin/git; echo planted'"
check "home as workspace: no ~/.local/bin/git left on the host" test ! -e "$hws/.local/bin/git"
check "home as workspace: no ~/bin/git left on the host" test ! -e "$hws/bin/git"
rm -f "$marker"
env HOME="$hws" PATH="$hws/.local/bin:$hws/bin:$PATH" sh -c 'git --version' >/dev/null 2>&1
check "home as workspace: the host's git after the session is the real one" test ! -e "$marker"
done_testing
