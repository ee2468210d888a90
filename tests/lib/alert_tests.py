#!/usr/bin/env python3
"""What promtool does not check in deploy/prometheus (tests/cli/73-alerts.bats).

  alert_tests.py check RULES TESTS     every alerting rule has for:, a severity
                                       (page or ticket), a summary and a
                                       description; rules sharing a name differ
                                       by their cause label; every alert has a
                                       test case where it fires and one where
                                       it must not, and no case names an alert
                                       that does not exist (its empty
                                       exp_alerts would pass for nothing)
  alert_tests.py names RULES           the alert names, one a line, in order
  alert_tests.py mutants RULES TESTS DIR
                                       for each alerting rule N: DIR/N/ holds
                                       the rules with rule N made never to fire
                                       and the tests; prints "N<TAB>NAME<TAB>EXPR".
                                       DIR/0/ is the control: the same copies,
                                       no rule changed (its tests must pass)
  alert_tests.py jobs CONFIG           "JOB METRICS_PATH TARGET..." per scrape job

Exit 1 with one line per problem on stderr when check finds any.
"""
import os
import sys

try:
    import yaml
except ImportError:
    sys.exit("alert_tests.py: no PyYAML for this python3 (apt-get install python3-yaml)")


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)


def alerting_rules(rules):
    for group in rules.get("groups") or []:
        for rule in group.get("rules") or []:
            if "alert" in rule:
                yield rule


def check(rules_path, tests_path):
    rules = load(rules_path)
    problems = []
    names = {}
    for rule in alerting_rules(rules):
        name = rule["alert"]
        labels = rule.get("labels") or {}
        annotations = rule.get("annotations") or {}
        if not rule.get("for"):
            problems.append(f"{rules_path}: {name} has no for:")
        if labels.get("severity") not in ("page", "ticket"):
            problems.append(f"{rules_path}: {name} has severity {labels.get('severity')!r}, not page or ticket")
        for a in ("summary", "description"):
            if not annotations.get(a):
                problems.append(f"{rules_path}: {name} has no {a} annotation")
        names.setdefault(name, []).append(labels.get("cause"))
    for name, causes in names.items():
        if len(causes) > 1 and (None in causes or len(set(causes)) != len(causes)):
            problems.append(f"{rules_path}: the {len(causes)} rules of {name} need each its own cause label")
    fires, quiet = set(), set()
    for test in load(tests_path).get("tests") or []:
        for case in test.get("alert_rule_test") or []:
            name = case.get("alertname")
            if name not in names:
                problems.append(f"{tests_path}: a case at {case.get('eval_time')} names {name!r}, "
                                f"which {rules_path} does not define")
            (fires if case.get("exp_alerts") else quiet).add(name)
    for name in names:
        if name not in fires:
            problems.append(f"{tests_path}: no case where {name} fires")
        if name not in quiet:
            problems.append(f"{tests_path}: no case where {name} must not fire")
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


def write_copy(d, rules, tests):
    os.makedirs(d)
    with open(os.path.join(d, "alerts.yml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(rules, f, sort_keys=False)
    with open(os.path.join(d, "alerts.test.yml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(tests, f, sort_keys=False)


def mutants(rules_path, tests_path, out):
    tests = load(tests_path)
    tests["rule_files"] = ["alerts.yml"]
    write_copy(os.path.join(out, "0"), load(rules_path), tests)
    n = 0
    while True:
        rules = load(rules_path)
        rule = next((r for i, r in enumerate(alerting_rules(rules)) if i == n), None)
        if rule is None:
            return 0
        n += 1
        expr = " ".join(str(rule["expr"]).split())
        rule["expr"] = "vector(1) == 0"
        write_copy(os.path.join(out, str(n)), rules, tests)
        print(f"{n}\t{rule['alert']}\t{expr}")


def jobs(config_path):
    for job in load(config_path).get("scrape_configs") or []:
        targets = [t for sc in job.get("static_configs") or [] for t in sc.get("targets") or []]
        print(job["job_name"], job.get("metrics_path", "/metrics"), *targets)
    return 0


def main(argv):
    if len(argv) == 4 and argv[1] == "check":
        return check(argv[2], argv[3])
    if len(argv) == 3 and argv[1] == "names":
        for name in dict.fromkeys(r["alert"] for r in alerting_rules(load(argv[2]))):
            print(name)
        return 0
    if len(argv) == 5 and argv[1] == "mutants":
        return mutants(argv[2], argv[3], argv[4])
    if len(argv) == 3 and argv[1] == "jobs":
        return jobs(argv[2])
    print(__doc__.strip(), file=sys.stderr)
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv))
