#!/usr/bin/env python3
"""Run one job of a GitHub Actions workflow here, the way the runner would,
for the tests of the example workflows (tests/cli/97-action.bats). It is a
small runner, not GitHub's: enough for .github/workflows/*.yml to be run
for real against a temporary repository.

    run-workflow.py --workflow FILE --job ID --workspace DIR --action-root DIR
                    --hp-bin DIR --event-name NAME --event FILE
                    [--var NAME=VALUE]... [--secret NAME=VALUE]... [--token T]

What it does:
  - `run:` steps: bash --noprofile --norc -eo pipefail, in the workspace (or
    working-directory), with the workflow's, job's and step's env, the
    GITHUB_* variables, $GITHUB_ENV, $GITHUB_PATH, $GITHUB_OUTPUT and
    $GITHUB_STEP_SUMMARY files, as on a runner;
  - `uses: ./` (or OWNER/hybrid-p2p@REF): the action in --action-root
    (action.yml). Its inputs are the step's `with:` and the defaults; of its
    steps only the one with id `run` (scripts/action) runs, with the env
    action.yml gives it: installing and building are replaced by --hp-bin
    (put on PATH for the later steps, as the action's "Put the tools on PATH"
    step does). Its outputs are action.yml's `outputs:`;
  - `uses: actions/checkout@...`: skipped, the workspace is already there;
    any other `uses:` is an error;
  - `${{ }}` expressions: context paths (github.*, env.*, vars.*, secrets.*,
    steps.ID.outputs.*, inputs.*, runner.*), 'string' literals, numbers, ==,
    !=, !, &&, ||, and always(), success(), failure(); anything else is an
    error, so a workflow that needs more is noticed;
  - `if:`; a failed step fails the job, later steps run only with always()
    or failure();
  - `::add-mask::VALUE` lines are consumed and VALUE is shown as *** in
    everything printed afterwards, and secrets are masked from the start, as
    the runner does.

Prints every step's output (masked) and `##[step] NAME: exit N` lines; exits
0 when the job succeeded, 1 when it failed.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml


class ExprError(Exception):
    pass


TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<num>\d+(?:\.\d+)?)|(?P<op>==|!=|&&|\|\||!|\(|\)|,)"
                   r"|(?P<id>[A-Za-z_][A-Za-z0-9_\-]*(?:\.[A-Za-z_*][A-Za-z0-9_\-]*|\[[^\]]+\])*))")


def tokenize(s):
    out, i = [], 0
    while i < len(s):
        if s[i:].strip() == "":
            break
        m = TOKEN.match(s, i)
        if not m or m.end() == i:
            raise ExprError("cannot read %r" % s[i:])
        out.append((m.lastgroup, m.group(m.lastgroup)))
        i = m.end()
    return out


class Evaluator:
    def __init__(self, contexts, status):
        self.ctx = contexts
        self.status = status  # "success" or "failure"

    def lookup(self, path):
        parts = re.findall(r"[A-Za-z_*][A-Za-z0-9_\-]*|\[[^\]]+\]", path)
        cur = self.ctx
        for p in parts:
            if p.startswith("["):
                p = p[1:-1].strip("'")
            if isinstance(cur, dict):
                cur = cur.get(p)
            else:
                return None
            if cur is None:
                return None
        return cur

    def eval(self, text):
        self.toks = tokenize(text)
        self.pos = 0
        v = self.or_()
        if self.pos != len(self.toks):
            raise ExprError("unexpected %r in %r" % (self.toks[self.pos][1], text))
        return v

    def peek(self):
        return self.toks[self.pos] if self.pos < len(self.toks) else (None, None)

    def take(self):
        t = self.peek()
        self.pos += 1
        return t

    def or_(self):
        v = self.and_()
        while self.peek() == ("op", "||"):
            self.take()
            r = self.and_()
            v = v if truthy(v) else r
        return v

    def and_(self):
        v = self.cmp()
        while self.peek() == ("op", "&&"):
            self.take()
            r = self.cmp()
            v = r if truthy(v) else v
        return v

    def cmp(self):
        v = self.unary()
        while self.peek() in (("op", "=="), ("op", "!=")):
            op = self.take()[1]
            r = self.unary()
            eq = norm(v) == norm(r)
            v = eq if op == "==" else not eq
        return v

    def unary(self):
        if self.peek() == ("op", "!"):
            self.take()
            return not truthy(self.unary())
        return self.primary()

    def primary(self):
        kind, val = self.take()
        if kind == "str":
            return val[1:-1].replace("''", "'")
        if kind == "num":
            return float(val)
        if kind == "op" and val == "(":
            v = self.or_()
            if self.take() != ("op", ")"):
                raise ExprError("missing )")
            return v
        if kind == "id":
            if self.peek() == ("op", "("):
                self.take()
                if self.take() != ("op", ")"):
                    raise ExprError("functions with arguments are not supported: " + val)
                if val == "always":
                    return True
                if val == "success":
                    return self.status == "success"
                if val == "failure":
                    return self.status == "failure"
                if val == "cancelled":
                    return False
                raise ExprError("unknown function " + val)
            if val in ("true", "false"):
                return val == "true"
            if val == "null":
                return None
            return self.lookup(val)
        raise ExprError("unexpected %r" % val)


def truthy(v):
    return v not in (None, False, 0, 0.0, "")


def norm(v):
    if isinstance(v, str):
        try:
            return float(v)
        except ValueError:
            return v.lower()
    if isinstance(v, bool):
        return float(v)
    return v


def to_str(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, (dict, list)):
        return json.dumps(v)
    return str(v)


EXPR = re.compile(r"\$\{\{(.*?)\}\}", re.S)


def interpolate(text, ev):
    if not isinstance(text, str):
        return to_str(text)
    return EXPR.sub(lambda m: to_str(ev.eval(m.group(1).strip())), text)


def condition(cond, ev):
    """A step's `if:`: without a status function it means success() && (cond)."""
    if cond is None:
        return ev.status == "success"
    if isinstance(cond, bool):
        return cond and ev.status == "success"
    c = str(cond).strip()
    m = re.fullmatch(r"\$\{\{(.*)\}\}", c, re.S)
    if m:
        c = m.group(1).strip()
    v = truthy(ev.eval(c))
    if not re.search(r"\b(always|success|failure|cancelled)\(\)", c):
        v = v and ev.status == "success"
    return v


def read_kv_file(path):
    """NAME=VALUE and NAME<<DELIM ... DELIM lines ($GITHUB_ENV, $GITHUB_OUTPUT)."""
    out = {}
    if not os.path.exists(path):
        return out
    lines = open(path, encoding="utf-8").read().split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line:
            continue
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delim = line.split("<<", 1)
            val = []
            while i < len(lines) and lines[i] != delim:
                val.append(lines[i])
                i += 1
            i += 1
            out[name] = "\n".join(val)
        elif "=" in line:
            name, val = line.split("=", 1)
            out[name] = val
    return out


class Runner:
    def __init__(self, a):
        self.a = a
        self.masks = set()
        wf = yaml.safe_load(open(a.workflow))
        self.wf = wf
        self.job = wf["jobs"][a.job]
        self.event = json.load(open(a.event))
        self.secrets = dict(kv.split("=", 1) for kv in a.secret)
        self.secrets.setdefault("GITHUB_TOKEN", a.token)
        for v in self.secrets.values():
            self.add_mask(v)
        self.vars = dict(kv.split("=", 1) for kv in a.var)
        self.tmp = tempfile.mkdtemp(prefix="run-workflow.")
        self.envfile = os.path.join(self.tmp, "env")
        self.pathfile = os.path.join(self.tmp, "path")
        self.summary = os.path.join(self.tmp, "summary")
        for f in (self.envfile, self.pathfile, self.summary):
            open(f, "w").close()
        self.job_env = {}
        self.extra_path = []
        self.steps = {}
        self.status = "success"
        repo = (self.event.get("repository") or {}).get("full_name", "octo-org/repo")
        self.github = {
            "event": self.event, "event_name": a.event_name, "repository": repo,
            "repository_owner": repo.split("/")[0], "workspace": a.workspace,
            "token": a.token, "ref": self.event.get("ref", "refs/heads/main"),
            "sha": self.event.get("after", ""), "actor": "octocat", "job": a.job,
            "action_path": a.action_root,
        }

    def add_mask(self, v):
        for line in str(v).split("\n"):
            if line.strip():
                self.masks.add(line)

    def mask(self, text):
        for m in sorted(self.masks, key=len, reverse=True):
            text = text.replace(m, "***")
        return text

    def show(self, text):
        out = []
        for line in text.split("\n"):
            if line.startswith("::add-mask::"):
                self.add_mask(line[len("::add-mask::"):])
                continue
            out.append(line)
        sys.stdout.write(self.mask("\n".join(out)))
        sys.stdout.flush()

    def contexts(self, env, inputs=None, steps=None):
        return {"github": self.github, "env": env, "vars": self.vars, "secrets": self.secrets,
                "steps": self.steps if steps is None else steps, "inputs": inputs or {},
                "runner": {"os": "Linux", "temp": self.tmp, "arch": "X64"}, "job": {"status": self.status}}

    def base_env(self):
        env = dict(os.environ)
        path = self.extra_path + [p for p in open(self.pathfile).read().split("\n") if p][::-1]
        if path:
            env["PATH"] = ":".join(path) + ":" + env.get("PATH", "")
        env.update({
            "CI": "true", "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": self.a.workspace,
            "GITHUB_EVENT_NAME": self.a.event_name, "GITHUB_EVENT_PATH": self.a.event,
            "GITHUB_REPOSITORY": self.github["repository"], "GITHUB_REF": self.github["ref"],
            "GITHUB_ENV": self.envfile, "GITHUB_PATH": self.pathfile,
            "GITHUB_STEP_SUMMARY": self.summary, "RUNNER_TEMP": self.tmp, "GITHUB_ACTOR": "octocat",
        })
        return env

    def run_shell(self, script, env, cwd):
        out = os.path.join(self.tmp, "output.%d" % len(self.steps))
        open(out, "w").close()
        env = dict(env, GITHUB_OUTPUT=out)
        f = os.path.join(self.tmp, "step.sh")
        with open(f, "w") as fh:
            fh.write(script)
        p = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", f], env=env, cwd=cwd,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.show(p.stdout.decode("utf-8", "replace"))
        return p.returncode, read_kv_file(out)

    def env_for(self, step_env, ev_env):
        env = {}
        for scope in (self.wf.get("env") or {}, self.job.get("env") or {}):
            for k, v in scope.items():
                env[k] = v
        env.update(read_kv_file(self.envfile))
        ctx_env = dict(env)
        ev = Evaluator(self.contexts(ctx_env), self.status)
        out = {k: interpolate(v, ev) for k, v in env.items()}
        ev = Evaluator(self.contexts(dict(out)), self.status)
        for k, v in (step_env or {}).items():
            out[k] = interpolate(v, ev)
        return out

    def run_action(self, step, env):
        action = yaml.safe_load(open(os.path.join(self.a.action_root, "action.yml")))
        ev = Evaluator(self.contexts(env), self.status)
        inputs = {}
        for name, spec in (action.get("inputs") or {}).items():
            inputs[name] = interpolate(spec.get("default", ""), ev)
        for name, v in (step.get("with") or {}).items():
            if name not in inputs:
                raise SystemExit("run-workflow: the action has no input '%s'" % name)
            inputs[name] = interpolate(v, ev)
        run = [s for s in action["runs"]["steps"] if s.get("id") == "run"][0]
        inner = {"key": {"outputs": {"bin-dir": self.a.hp_bin}}}
        aev = Evaluator(self.contexts(env, inputs, inner), self.status)
        senv = self.base_env()
        senv.update(env)
        senv["GITHUB_ACTION_PATH"] = self.a.action_root
        for k, v in (run.get("env") or {}).items():
            senv[k] = interpolate(v, aev)
        senv["PATH"] = self.a.hp_bin + ":" + senv["PATH"]
        script = interpolate(run["run"], aev)
        rc, outs = self.run_shell(script, senv, self.a.workspace)
        inner["run"] = {"outputs": outs}
        oev = Evaluator(self.contexts(env, inputs, inner), self.status)
        outputs = {k: interpolate(v.get("value", ""), oev) for k, v in (action.get("outputs") or {}).items()}
        if self.a.hp_bin not in self.extra_path:
            self.extra_path.insert(0, self.a.hp_bin)
        return rc, outputs

    def run(self):
        for i, step in enumerate(self.job["steps"]):
            sid = step.get("id", "step%d" % i)
            name = step.get("name") or step.get("uses") or step.get("run", "").split("\n")[0]
            env = self.env_for(step.get("env"), None)
            ev = Evaluator(self.contexts(env), self.status)
            if not condition(step.get("if"), ev):
                print("##[step] %s: skipped" % name)
                self.steps[sid] = {"outputs": {}, "outcome": "skipped"}
                continue
            uses = step.get("uses")
            if uses:
                if uses.startswith("actions/checkout@"):
                    print("##[step] %s: skipped (the workspace is checked out)" % name)
                    self.steps[sid] = {"outputs": {}, "outcome": "success"}
                    continue
                if uses == "./" or re.fullmatch(r"[^/]+/hybrid-p2p@.+", uses):
                    rc, outputs = self.run_action(step, env)
                else:
                    raise SystemExit("run-workflow: cannot run 'uses: %s'" % uses)
            else:
                cwd = self.a.workspace
                if step.get("working-directory"):
                    cwd = os.path.join(cwd, interpolate(step["working-directory"], ev))
                senv = self.base_env()
                senv.update(env)
                script = interpolate(step["run"], ev)
                rc, outputs = self.run_shell(script, senv, cwd)
            print("##[step] %s: exit %d" % (name, rc))
            ok = rc == 0 or step.get("continue-on-error") is True
            self.steps[sid] = {"outputs": outputs, "outcome": "success" if rc == 0 else "failure"}
            if not ok:
                self.status = "failure"
        with open(self.summary) as f:
            s = f.read()
        if s:
            print("##[summary]\n" + self.mask(s))
        return 0 if self.status == "success" else 1


def main():
    ap = argparse.ArgumentParser()
    for a in ("--workflow", "--job", "--workspace", "--action-root", "--hp-bin", "--event-name", "--event"):
        ap.add_argument(a, required=True)
    ap.add_argument("--var", action="append", default=[])
    ap.add_argument("--secret", action="append", default=[])
    ap.add_argument("--token", default="ghs_runworkflowtesttoken0000000000000")
    a = ap.parse_args()
    try:
        return Runner(a).run()
    except ExprError as e:
        print("run-workflow: expression: %s" % e, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
