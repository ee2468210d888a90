#!/usr/bin/env python3
"""The deployed Prometheus and Alertmanager configurations (deploy/), made
fit for a test on 127.0.0.1: the same jobs, rules, routes and receivers, with
the test's addresses and short intervals. Nothing else changes, so that the
files under test are the ones deployed.

    promconf.py prometheus DEPLOY_DIR OUT_DIR AM_HOSTPORT JOB=HOSTPORT... [--for SECS]
        OUT_DIR/prometheus.yml: scrape and evaluation every second, each
        job's targets replaced by JOB=HOSTPORT (a job not named is dropped),
        alerts sent to AM_HOSTPORT; OUT_DIR/alerts.yml: deploy's rules with
        every `for:` set to SECS seconds (default 2).
    promconf.py alertmanager DEPLOY_DIR OUT_FILE WEBHOOK_URL
        every webhook receiver's URL set to WEBHOOK_URL, group_wait 1s,
        group_interval 1s, repeat_interval 1h.
"""
import os
import sys

import yaml


def prometheus(deploy, out, am, jobs, for_secs):
    src = os.path.join(deploy, "prometheus")
    with open(os.path.join(src, "prometheus.yml"), encoding="utf-8") as f:
        conf = yaml.safe_load(f)
    conf["global"]["scrape_interval"] = "1s"
    conf["global"]["evaluation_interval"] = "1s"
    conf["global"]["scrape_timeout"] = "1s"
    kept = []
    for job in conf["scrape_configs"]:
        name = job["job_name"]
        if name in jobs:
            job["static_configs"] = [{"targets": [jobs.pop(name)]}]
            kept.append(job)
    if jobs:
        sys.exit("promconf.py: no job %s in deploy's prometheus.yml" % ", ".join(sorted(jobs)))
    conf["scrape_configs"] = kept
    conf["alerting"]["alertmanagers"] = [{"static_configs": [{"targets": [am]}]}]
    rules = []
    for rf in conf.get("rule_files", []):
        with open(os.path.join(src, rf), encoding="utf-8") as f:
            r = yaml.safe_load(f)
        for group in r["groups"]:
            group["interval"] = "1s"
            for rule in group["rules"]:
                if "for" in rule:
                    rule["for"] = "%ds" % for_secs
        name = os.path.basename(rf)
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            yaml.safe_dump(r, f, sort_keys=False)
        rules.append(name)
    conf["rule_files"] = rules
    with open(os.path.join(out, "prometheus.yml"), "w", encoding="utf-8") as f:
        yaml.safe_dump(conf, f, sort_keys=False)


def alertmanager(deploy, out, webhook):
    with open(os.path.join(deploy, "alertmanager", "alertmanager.yml"), encoding="utf-8") as f:
        conf = yaml.safe_load(f)
    n = 0
    for r in conf.get("receivers", []):
        for w in r.get("webhook_configs", []):
            w["url"] = webhook
            n += 1
    if not n:
        sys.exit("promconf.py: no webhook receiver in deploy's alertmanager.yml")

    def fast(route, root):
        for k in ("group_wait", "group_interval"):
            if root or k in route:
                route[k] = "1s"
        if root or "repeat_interval" in route:
            route["repeat_interval"] = "1h"
        for sub in route.get("routes", []):
            fast(sub, False)

    fast(conf["route"], True)
    with open(out, "w", encoding="utf-8") as f:
        yaml.safe_dump(conf, f, sort_keys=False)


def main():
    if len(sys.argv) >= 5 and sys.argv[1] == "prometheus":
        args = sys.argv[5:]
        for_secs = 2
        if "--for" in args:
            i = args.index("--for")
            for_secs = int(args[i + 1])
            del args[i:i + 2]
        jobs = dict(a.split("=", 1) for a in args)
        prometheus(sys.argv[2], sys.argv[3], sys.argv[4], jobs, for_secs)
    elif len(sys.argv) == 5 and sys.argv[1] == "alertmanager":
        alertmanager(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
