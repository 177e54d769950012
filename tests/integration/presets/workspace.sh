#!/bin/bash
# A hostile workspace against the toolchain profiles: a pip/ package and an
# .npmrc that names its own registry, script-shell and node-options. Finding
# the registries must run nothing on the host (the old way ran npm and
# python3 in the workspace) and the workspace must not widen the egress list.
. "$(dirname "$0")/../lib.sh"

h=$(mktemp -d "$T/home.XXXXXX")
chmod 755 "$h"
export HOME=$h
unset npm_config_registry NPM_CONFIG_REGISTRY npm_config_userconfig NPM_CONFIG_USERCONFIG \
	PIP_INDEX_URL PIP_EXTRA_INDEX_URL PIP_CONFIG_FILE VIRTUAL_ENV GOPROXY
ws=$(new_ws)
mark="$T/marks"
mkdir -p "$mark"
chmod 777 "$mark"
mkdir "$ws/pip"
printf 'open("%s/pip-init", "a").write("ran\\n")\n' "$mark" > "$ws/pip/__init__.py"
printf 'open("%s/pip-main", "a").write("ran\\n")\n' "$mark" > "$ws/pip/__main__.py"
printf '#!/bin/sh\necho ran >> "%s/script-shell"\nexec /bin/sh "$@"\n' "$mark" > "$ws/evil-shell.sh"
chmod 755 "$ws/evil-shell.sh"
printf 'require("fs").appendFileSync("%s/node-options", "ran\\n");\n' "$mark" > "$ws/evil.js"
cat > "$ws/.npmrc" <<NPMRC
registry=https://evil-registry.example.test/
@evil:registry=https://evil-scope.example.test/
script-shell=$ws/evil-shell.sh
node-options=--require=$ws/evil.js
NPMRC
marks() { ls -A "$mark"; }

# Controls: the attack is real. Tools run in this directory pick these up.
(cd "$ws" && $PY -m pip --version >/dev/null 2>&1)
if [ -e "$mark/pip-main" ] || [ -e "$mark/pip-init" ]; then
	ok "control: python3 -m pip in the workspace runs the workspace's pip/ package"
else
	not_ok "control: python3 -m pip in the workspace runs the workspace's pip/ package"
	diag "marks: $(marks)"
fi
rm -f "$mark"/*
if command -v npm >/dev/null; then
	expect_output "control: npm in the workspace takes the workspace's .npmrc registry" \
		"^https://evil-registry.example.test/$" sh -c "cd '$ws' && npm config get registry"
else
	skip "control: npm in the workspace takes the workspace's .npmrc registry" "npm is not installed"
fi
rm -f "$mark"/*

# With the profiles: nothing runs on the host.
expect_status "cordon run --profile node,python in that workspace" 0 \
	sh -c "cd '$ws' && '$CORDON' run --profile node,python -- true </dev/null"
check "nothing of the workspace ran on the host (no marker: $(marks | tr '\n' ' '))" test -z "$(marks)"
expect_status "cordon policy show --profile node,python,rust,go,java in that workspace" 0 \
	sh -c "cd '$ws' && '$CORDON' policy show --profile node,python,rust,go,java"
check "still nothing ran on the host (no marker: $(marks | tr '\n' ' '))" test -z "$(marks)"

# The egress list did not widen: not in the policy, refused by the proxy.
run_capture sh -c "cd '$ws' && '$CORDON' policy show --profile node"
if [ "$RC" -eq 0 ] && ! printf '%s' "$OUT" | grep -Eq "allowedDomains +evil-" &&
	printf '%s' "$OUT" | grep -q "the workspace's .npmrc names evil-registry.example.test, which is not allowed"; then
	ok "the workspace's .npmrc adds no host to the policy (and a note says so)"
else
	not_ok "the workspace's .npmrc adds no host to the policy"
	diag "$OUT"
fi
expect_fail "the proxy refuses the workspace's registry" \
	"access to evil-registry.example.test:80 denied: no allow rule" \
	sh -c "cd '$ws' && '$CORDON' run --profile node -- curl -sS --fail-with-body --noproxy '' -x http://127.0.0.1:3128 http://evil-registry.example.test/ </dev/null"
expect_fail "control: allowed on the command line, the proxy lets it through (and fails to resolve it)" \
	"evil-registry.example.test:80: name does not resolve" \
	sh -c "cd '$ws' && '$CORDON' run --profile node --allow-domain evil-registry.example.test -- curl -sS --fail-with-body --noproxy '' -x http://127.0.0.1:3128 http://evil-registry.example.test/ </dev/null"
# Inside, npm is told the registry the user's configuration names, which
# wins over the workspace's .npmrc. With no npm and no configuration there
# is no registry to name: cordon says so and allows nothing for npm.
if command -v npm >/dev/null; then
	expect_output "inside, npm_config_registry overrides the workspace's .npmrc" "^reg=https://" \
		sh -c "cd '$ws' && '$CORDON' run --profile node -- sh -c 'echo reg=\$npm_config_registry' </dev/null"
else
	expect_output "no npm, no configuration: cordon says nothing is allowed for npm" \
		"no npm registry is configured .*npm not found in PATH.*nothing is allowed for npm" \
		sh -c "cd '$ws' && '$CORDON' run -v --profile node -- true </dev/null 2>&1"
fi
run_capture sh -c "cd '$ws' && '$CORDON' run --profile node -- sh -c 'echo reg=\$npm_config_registry' </dev/null"
check "the registry inside is not the workspace's" sh -c "! printf '%s' \"\$1\" | grep -q evil" _ "$OUT"

done_testing
