#!/bin/bash
# Toolchain presets (`cordon AGENT --with node|python|rust|go|java`): caches
# writable, registries read from the user's own configuration and allowed.
. "$(dirname "$0")/../lib.sh"

rustup_home=$(rustup show home 2>/dev/null)
cargo_bin=$(dirname "$(command -v cargo 2>/dev/null || echo /nonexistent/cargo)")
h=$(mktemp -d "$T/home.XXXXXX")
chmod 755 "$h"
export HOME=$h
unset npm_config_registry NPM_CONFIG_REGISTRY NPM_CONFIG_USERCONFIG PIP_INDEX_URL PIP_CONFIG_FILE GOPROXY
ws=$(new_ws)
# The agent's place is taken by a probe that runs one shell line.
probe="$T/probe-agent"
printf '#!/bin/sh\n[ "$1" = --settings ] && shift 2\nexec sh -c "$1"\n' > "$probe"
chmod 755 "$probe"
with() {
	local preset=$1; shift
	(cd "$ws" && timeout 180 "$CORDON" claude --with "$preset" --bin "$probe" -- "$1" </dev/null)
}

# Registry hosts come from the user's configuration (documentation names),
# as `cordon policy show --profile` shows them.
printf 'registry=https://npm.mirror.example.test/\n@corp:registry=https://corp-npm.example.test/\n' > "$T/npmrc"
expect_output "node: registries from the user's .npmrc are allowed" \
	"allowedDomains +npm.mirror.example.test .*allowedDomains +corp-npm.example.test " \
	sh -c "NPM_CONFIG_USERCONFIG='$T/npmrc' '$CORDON' policy show --profile node | tr '\n' ' '"
# A bash probe: dash drops variables whose names are not shell names
# (npm_config_@scope:registry) from what it passes on; bash keeps them.
bprobe="$T/bash-probe"
printf '#!/bin/bash\n[ "$1" = --settings ] && shift 2\nexec bash -c "$1"\n' > "$bprobe"
chmod 755 "$bprobe"
expect_output "node: npm inside is told the registries (~/.npmrc is masked there)" \
	"^reg=https://npm.mirror.example.test/ corp=https://corp-npm.example.test/$" \
	env NPM_CONFIG_USERCONFIG="$T/npmrc" sh -c "cd '$ws' && '$CORDON' claude --with node --bin '$bprobe' -- 'echo reg=\$npm_config_registry corp=\$(printenv npm_config_@corp:registry)' </dev/null"
expect_output "python: PIP_INDEX_URL and uv.toml indexes are allowed" \
	"allowedDomains +pypi.mirror.example.test .*allowedDomains +uv.mirror.example.test " \
	sh -c "mkdir -p '$h/.config/uv' && echo 'index-url = \"https://uv.mirror.example.test/simple\"' > '$h/.config/uv/uv.toml' && cd '$ws' && PIP_INDEX_URL=https://pypi.mirror.example.test/simple '$CORDON' policy show --profile python | tr '\n' ' '"
expect_output "go: GOPROXY hosts are allowed" "allowedDomains +goproxy.example.test " \
	env GOPROXY=https://goproxy.example.test,direct sh -c "cd '$ws' && '$CORDON' policy show --profile go"
expect_output "rust: registries in ~/.cargo/config.toml are allowed" "allowedDomains +cargo.mirror.example.test " \
	sh -c "mkdir -p '$h/.cargo' && printf '[registries.m]\nindex = \"sparse+https://cargo.mirror.example.test/index/\"\n' > '$h/.cargo/config.toml' && cd '$ws' && '$CORDON' policy show --profile rust"
rm -f "$h/.cargo/config.toml"
expect_output "java: mirrors in ~/.m2/settings.xml are allowed" "allowedDomains +maven.mirror.example.test " \
	sh -c "mkdir -p '$h/.m2' && echo '<settings><mirrors><mirror><url>https://maven.mirror.example.test/m2</url></mirror></mirrors></settings>' > '$h/.m2/settings.xml' && cd '$ws' && '$CORDON' policy show --profile java"
expect_fail "an unknown toolchain preset is refused" "no toolchain preset called 'cobol'" \
	sh -c "cd '$ws' && '$CORDON' claude --with cobol --bin '$probe' -- x"

# node: a real npm install through cordon's proxy, the registry taken from
# npm's own configuration at run time.
reg=$(npm config get registry 2>/dev/null)
if [ -z "$reg" ]; then
	skip "node: npm install through the proxy" "npm is not installed"
	skip "node: control without the preset" "npm is not installed"
elif ! timeout 15 $PY -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=10)' "$reg" 2>/dev/null; then
	skip "node: npm install through the proxy" "the npm registry ($reg) does not answer"
	skip "node: control without the preset" "the npm registry ($reg) does not answer"
else
	expect_fail "control: without the node preset the registry is refused by the proxy" "403|E403|ECONNREFUSED|forbidden" \
		sh -c "cd '$ws' && timeout 120 '$CORDON' claude --bin '$probe' -- 'npm install --no-audit --no-fund is-number@7.0.0' </dev/null"
	check "control: nothing was installed" test ! -e "$ws/node_modules/is-number/package.json"
	expect_output "node: npm install works inside through the proxy" "added 1 package" \
		with node 'npm install --no-audit --no-fund is-number@7.0.0'
	check "node: the package is in the workspace on the host" test -f "$ws/node_modules/is-number/package.json"
	check "node: npm's cache (~/.npm) was writable" test -d "$h/.npm/_cacache"
fi

# python: a venv and a run inside (no network needed).
if command -v python3 >/dev/null && python3 -m venv --help >/dev/null 2>&1; then
	expect_output "python: a venv is created and runs inside" "^venv-ok " \
		with python 'python3 -m venv .venv && .venv/bin/python -c "import sys; print(\"venv-ok\", sys.prefix)"'
	check "python: the venv is in the workspace on the host" test -x "$ws/.venv/bin/python"
else
	skip "python: a venv runs inside" "python3 with venv is not installed"
	skip "python: the venv is on the host" "python3 with venv is not installed"
fi

# rust: an offline build of a crate without dependencies.
if [ -z "$rustup_home" ] || [ ! -x "$cargo_bin/cargo" ]; then
	skip "rust: cargo build --offline works inside" "cargo is not installed for this user"
elif ! (cd "$ws" && RUSTUP_HOME=$rustup_home timeout 60 "$CORDON" run -- "$cargo_bin/cargo" --version) >/dev/null 2>&1; then
	# When root runs cordon, the command runs as an unprivileged kernel
	# uid, which cannot enter root's 0700 home where rustup installed cargo.
	skip "rust: cargo build --offline works inside" "cargo ($cargo_bin) is not reachable by the sandbox user"
else
	mkdir -p "$h/.cargo" "$ws/crate/src"
	printf '[package]\nname = "probe"\nversion = "0.1.0"\nedition = "2021"\n' > "$ws/crate/Cargo.toml"
	printf 'fn main() { println!("cargo-ok"); }\n' > "$ws/crate/src/main.rs"
	expect_output "rust: cargo build --offline works inside" "^cargo-ok$" \
		env RUSTUP_HOME="$rustup_home" PATH="$cargo_bin:$PATH" \
		sh -c "cd '$ws' && timeout 180 '$CORDON' claude --with rust --bin '$probe' -- 'cd crate && cargo run --offline -q' </dev/null"
fi

# go: an offline build.
if command -v go >/dev/null; then
	mkdir -p "$ws/gomod"
	printf 'module example.test/probe\n\ngo 1.20\n' > "$ws/gomod/go.mod"
	printf 'package main\n\nimport "fmt"\n\nfunc main() { fmt.Println("go-ok") }\n' > "$ws/gomod/main.go"
	expect_output "go: go run works inside, offline" "^go-ok$" \
		with go 'cd gomod && GOFLAGS=-mod=mod GOPROXY=off go run .'
else
	skip "go: go run works inside" "go is not installed"
fi

# java: compile and run (a gradle build needs gradle, not installed here).
if command -v javac >/dev/null && command -v java >/dev/null; then
	mkdir -p "$ws/java"
	printf 'public class Probe { public static void main(String[] a) { System.out.println("java-ok"); } }\n' > "$ws/java/Probe.java"
	expect_output "java: javac and java work inside" "java-ok" \
		with java 'cd java && javac Probe.java 2>&1 && java -cp . Probe 2>&1'
else
	skip "java: javac and java work inside" "a JDK is not installed"
fi

done_testing
