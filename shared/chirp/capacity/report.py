"""Markdown report: traffic check against the design document, designs side by side, drivers and levers."""

from __future__ import annotations

from pydantic import ValidationError

from chirp.capacity.deployed import BUILT_VALUES, DEPLOYED
from chirp.capacity.plan import DESIGN_DOC_CORE_MONTHLY_USD, DESIGN_DOC_MONTHLY_USD, Plan
from chirp.capacity.scenario import Design
from chirp.capacity.sizing import GIB

# (component, item prefix) -> what cuts the line; looked up for the largest cost drivers.
LEVERS: dict[tuple[str, str], str] = {
    ("Keyspaces", "writes: home_timeline"): "timelines in the cache (timeline_store: cache); active-only fan-out",
    ("Keyspaces", "writes: likes"): "provisioned capacity; fold counter and notification writes (counter_coalescing)",
    ("Keyspaces", "writes: tweets"): "provisioned capacity",
    ("Keyspaces", "reads"): "tweet cache hit rate; provisioned capacity",
    ("Keyspaces", "storage"): "keep one year hot (keyspaces_hot_days) and archive older tweets/likes to S3",
    ("Keyspaces", "point-in-time"): "shrinks with storage; PITR only on tables that cannot be rebuilt",
    ("Keyspaces", "TTL"): "fewer expiring rows (no per-follower rows, coalesced notifications)",
    ("ElastiCache", "nodes"): "listpack-encoded timelines, smaller timeline_cap, Valkey (-20%), active-only fan-out",
    ("API front", ""): "HTTP API (-40%) or an ALB in front of the same Lambdas (per-LCU, not per-request)",
    ("Lambda", "invocations: token authorizer"): "longer authorizer cache TTL; the ALB path checks tokens in-function",
    ("Lambda", "invocations: WebSocket pings"): "answer pings with a mock integration (websocket_ping: mock)",
    ("Lambda", "invocations"): "none modelled: one invocation per request at $0.20/M; fewer, batched client calls",
    ("Lambda", "compute"): "arm64 (-20%), measured memory size, shorter handlers (bench/results)",
    ("Data transfer out", ""): "compress responses, smaller pages and slimmer tweet JSON",
    ("WebSocket", "connection-minutes"): "self-managed socket fleet behind an NLB (websocket: fleet)",
    ("WebSocket", "messages"): "self-managed socket fleet; fewer heartbeats",
    ("WebSocket", "socket fleet"): "more sockets per instance (measure it)",
    ("OpenSearch", ""): "fewer searchable months, UltraWarm for old indices, measured queries/s per node",
    ("Kinesis", ""): "KPL record aggregation; shared-throughput consumers instead of enhanced fan-out",
    ("Neptune", ""): "cache follower lists for fan-out",
    ("S3 media", ""): "lifecycle tiers (media_tiering: lifecycle)",
    ("CloudFront media", ""): "smaller renditions, longer client caching",
    ("S3 tweet archive", ""): "colder tier (Glacier IR)",
    ("WAF", ""): "web ACL on the API edge only (waf_scope: edge): signed-out reads and sign-ins; per-user limits",
    ("X-Ray", ""): "a sampling rule of 1/s + 0.1% (xray_sampled_share) instead of the default 5%",
    ("CloudWatch Logs", "API access"): "access logs through Firehose to S3 (access_logs: firehose), or off",
    ("CloudFront API edge", ""): "longer TTLs raise the hit ratio; a CDN request per signed-out read is the floor",
    ("Firehose access logs", ""): "fewer fields per line; none below 5 KB per record (Firehose's rounding)",
    ("CloudWatch Logs", "function"): "WARN level in production; the vended-log tiers already apply",
    ("Cross-AZ traffic", ""): "reads from a node in the caller's AZ (cache_reads: same_az_replica; needs GLIDE)",
    ("VPC", ""): "fewer interface endpoints; pushes from outside the VPC",
    ("MSK Serverless", ""): "Kinesis at this event rate (see the stream option)",
}


def lever_for(component: str, item: str) -> str:
    for (lever_component, prefix), text in LEVERS.items():
        if component == lever_component and item.startswith(prefix):
            return text
    return ""


def usd(value: float) -> str:
    return f"${value:,.0f}"


def _si(value: float) -> str:
    for factor, suffix in ((1e18, "E"), (1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:,.3g}{suffix}"
    return f"{value:,.3g}"


def _traffic_section(plan: Plan) -> list[str]:
    t = plan.traffic
    rows = [
        ("Tweets per second", f"{t.tweets_per_s:,.0f}", "~5,800"),
        ("Timeline reads per second", f"{t.timeline_views_per_s:,.0f}", "~46,300"),
        ("Likes per second", f"{t.likes_per_s:,.0f}", "~92,600"),
        ("Reads per second (timeline + profile + search)", f"{t.reads_per_day / 86_400:,.0f}", "~139K"),
        ("Writes per second (tweets + likes + retweets + follows)", f"{t.writes_per_day / 86_400:,.0f}", "~115K"),
        ("Peak tweets per second", f"{t.tweets_per_s * t.peak_to_average:,.0f}", "~17,400"),
        ("Tweets stored over the retention", f"{t.tweets_stored_bytes / 1e15:,.2f} PB", "2.74 PB"),
        ("Media stored over the retention", f"{t.media_stored_bytes / 1e18:,.3f} EB", "1.1 EB (1,095 PB)"),
        ("Users + social graph", f"{(t.users_stored_bytes + t.graph_stored_bytes) / 1e12:,.1f} TB", "~10 TB"),
        (
            "Home-timeline rows per day if every follower gets a row",
            _si(t.tweets_per_day * t.fanout_followers_per_tweet),
            "(not stated; ~100 billion)",
        ),
    ]
    lines = ["## Traffic and storage, recomputed from the inputs", "", "| Figure | This plan | Design doc |"]
    lines += ["|---|---:|---:|"] + [f"| {a} | {b} | {c} |" for a, b, c in rows] + [""]
    return lines


def _design_doc_section(plan: Plan) -> list[str]:
    t, prices = plan.traffic, plan.prices
    media_gib = t.media_stored_bytes / GIB
    media_list = prices.cost("s3.standard", media_gib)
    as_pb = prices.cost("s3.standard", 1.1e15 / GIB)
    per_follower_rows = t.tweets_per_day * t.fanout_followers_per_tweet * plan.prices.hours_per_month / 24
    wru = prices["keyspaces.write_request_units"]
    return [
        "## What the design document got wrong",
        "",
        f"- **Media storage.** {t.media_stored_bytes / 1e18:,.3f} EB in S3 Standard is {usd(media_list)}/month at "
        f"list price; the document's {usd(25_300)} is what 1.1 **PB** costs ({usd(as_pb)}).",
        f"- **Home timeline table.** One Keyspaces row per follower per tweet is "
        f"{_si(per_follower_rows / (plan.prices.hours_per_month / 24))} writes a day, {_si(per_follower_rows)} a "
        f"month: {usd(wru.cost(per_follower_rows))}/month in on-demand write units alone "
        f"(${wru.price}/{_si(wru.per)} {wru.unit}).",
        "- **Likes are stored too.** 8 billion like rows a day for 10 years is petabytes of Keyspaces storage; "
        "the document's storage estimate leaves them out.",
        "",
    ]


def _side_by_side(plans: list[Plan]) -> list[str]:
    components: list[str] = []
    for plan in plans:
        for component in plan.by_component():
            if component not in components:
                components.append(component)
    header = "| Component | " + " | ".join(p.design_name for p in plans) + " |"
    lines = ["## Monthly cost by design (USD, list prices)", "", header, "|---|" + "---:|" * len(plans)]
    for core in (True, False):
        for component in components:
            cells = [plan.by_component(core).get(component) for plan in plans]
            if any(cell is not None for cell in cells):
                label = component if core else f"{component} (media)"
                lines.append(f"| {label} | " + " | ".join(usd(c) if c is not None else "-" for c in cells) + " |")
        if core:
            lines.append("| **Core (all but media)** | " + " | ".join(f"**{usd(p.core_usd)}**" for p in plans) + " |")
    lines.append("| **Total** | " + " | ".join(f"**{usd(p.total_usd)}**" for p in plans) + " |")
    lines.append(
        f"| Core vs the design doc's core {usd(DESIGN_DOC_CORE_MONTHLY_USD)} | "
        + " | ".join(("+" if p.core_gap_usd > 0 else "-") + usd(abs(p.core_gap_usd)) for p in plans)
        + " |"
    )
    return [*lines, ""]


# What each option's saving rests on: throughput inputs (labelled measured or assumed from the plan's inputs) and,
# after the semicolon, the scenario assumptions it takes as given.
OPTION_INPUTS: dict[str, tuple[tuple[str, ...], str]] = {
    "waf_scope": (
        ("edge_hit_ratio", "auth_calls_per_user_per_day"),
        "scenario: signed_out_read_share (assumed 25% of profile views and searches)",
    ),
    "access_logs": (("access_log_bytes_per_request", "access_log_gzip_ratio"), "Firehose bills 5 KB per record"),
    "cache_reads": (
        ("cache_bytes_per_timeline_insert",),
        "scenario: tweet_bytes 1.5 KB per hydrated tweet (design doc), tweet_cache_hit_rate",
    ),
}

# Why a line that is still there after every lever stays: the floor of Chirp's shape (or what would move it).
FLOORS: dict[tuple[str, str], str] = {
    ("Lambda", "invocations"): "one invocation per signed-in request is the floor of a Lambda API ($0.20 per million); "
    "the direct writes that skip it need API Gateway, dearer per request than the ALB it would replace",
    ("Lambda", "compute"): "measured ms per request on the servers backend, arm64, 3-year savings plan",
    ("Keyspaces", "writes: likes"): "per like (8G a day): its row, its Likes-tab row and a notification row; "
    "counters fold only on the async write path, at the measured likes per counter write (counter_coalescing); "
    "folding notifications per batch (not built) would save at most what counters saved",
    ("Keyspaces", ""): "provisioned at the target utilisation; 90 days hot, the rest archived",
    ("ElastiCache", "nodes"): "memory for 800M cached timelines (listpack, 300 ids, Valkey, 3-year reserved)",
    ("CloudFront API edge", ""): "every signed-out read is a CDN request: cheaper than the origin path it replaces",
    ("Data transfer out", ""): "the bytes clients receive, already gzip at the measured ratio",
    ("X-Ray", ""): "1% sampling; less traces less of the traffic the team debugs",
    ("WAF", ""): "the edge ACL still inspects every signed-out read and sign-in, the routes abuse comes through",
    ("OpenSearch", ""): "nodes for the peak search rate over 12 searchable months",
    ("Kinesis", ""): "one record per write; KPL aggregation is not built",
    ("WebSocket", ""): "an own socket fleet, the cheapest way to hold 33M sockets",
    ("Neptune", ""): "one writer and readers for the follower-page rate",
    ("Cross-AZ traffic", ""): "timeline inserts still go to each shard's primary",
    ("Firehose access logs", ""): "one 5 KB record per request at Firehose's rounding",
    ("CloudWatch Logs", "function"): "one INFO line per request or batch",
    ("API front", ""): "ALB capacity units for every request",
    ("VPC", ""): "endpoint data for Keyspaces and Kinesis",
    ("S3 tweet archive", ""): "nine years of tweets and likes",
}


def _floor(component: str, item: str) -> str:
    for (floor_component, prefix), text in FLOORS.items():
        if component == floor_component and item.startswith(prefix):
            return text
    return ""


def _status(field: str, value: object) -> str:
    built = BUILT_VALUES.get(field, {})
    if str(value) in built:
        return f"built ({built[str(value)]})"
    if DEPLOYED.get(field, "").split(" ", 1)[0] == str(value):
        return "built (the default)"
    return "priced, not built"


def _rests_on(field: str, plan: Plan) -> str:
    names, note = OPTION_INPUTS.get(field, ((), ""))
    parts = []
    for name in names:
        value = plan.inputs.values[name]
        parts.append(f"{name} {value.value:,.4g} ({'measured' if value.measured else 'assumed'})")
    return "; ".join([*parts, note] if note else parts)


def _path(start: Plan, best: Plan) -> list[str]:
    """Walk from one design to the cheapest, applying the options that differ one at a time (an option whose value
    is not valid on its own waits for the next one), with the lines each step moves."""
    from chirp.capacity.plan import plan as plan_design

    options = start.design.model_dump()
    changes = [
        (f, options[f], getattr(best.design, f)) for f in Design.model_fields if options[f] != getattr(best.design, f)
    ]
    lines = [
        f"From **{start.design_name}** ({usd(start.core_usd)}) to **{best.design_name}**, one option at a time:",
        "",
        "| Step | Lines it moves | Core after | Lever | Rests on |",
        "|---|---|---:|---|---|",
    ]
    current, pending = start, []
    for field, before, after in changes:
        options[field] = after
        pending.append((field, before, after))
        try:
            design = Design.model_validate(options)
        except ValidationError:
            continue
        step = plan_design(best.scenario, best.prices, best.design_name, best.inputs, options=design)
        costs = {(ln.component, ln.item): ln.monthly_usd for ln in current.lines if ln.core}
        after_costs = {(ln.component, ln.item): ln.monthly_usd for ln in step.lines if ln.core}
        moved = sorted(
            ((key, after_costs.get(key, 0.0) - costs.get(key, 0.0)) for key in costs.keys() | after_costs.keys()),
            key=lambda kv: kv[1],
        )
        moved_text = "; ".join(f"{c} / {i} {'+' if d > 0 else '-'}{usd(abs(d))}" for (c, i), d in moved if abs(d) >= 1)
        label = ", ".join(f"`{f}: {a}` (was {b})" for f, b, a in pending)
        status = "; ".join(_status(f, a) for f, _, a in pending)
        rests = "; ".join(filter(None, (_rests_on(f, step) for f, _, _ in pending)))
        lines.append(f"| {label} | {moved_text or '-'} | {usd(step.core_usd)} | {status} | {rests} |")
        current, pending = step, []
    return [*lines, ""]


def _remaining(best: Plan) -> list[str]:
    core_lines = sorted((line for line in best.lines if line.core), key=lambda line: -line.monthly_usd)
    removed, needed = 0.0, []
    for line in core_lines:
        needed.append(line)
        removed += line.monthly_usd
        if removed >= best.core_gap_usd:
            break
    lines = [
        f"Still **{usd(best.core_gap_usd)} over** {usd(DESIGN_DOC_CORE_MONTHLY_USD)}: closing it would take removing "
        f"these {len(needed)} line(s) of {best.design_name} outright; what holds each there (and what little more "
        "could move it):",
        "",
        "| Line | Monthly | Why it stays |",
        "|---|---:|---|",
    ]
    lines += [
        f"| {line.component} / {line.item} | {usd(line.monthly_usd)} | {_floor(line.component, line.item)} |"
        for line in needed
    ]
    return [*lines, ""]


def _verdict(plans: list[Plan]) -> list[str]:
    best = min(plans, key=lambda p: p.core_usd)
    lines = ["## Verdict", ""]
    if best.core_gap_usd <= 0:
        lines.append(
            f"**{best.design_name}** costs {usd(best.core_usd)}/month without media: "
            f"{usd(-best.core_gap_usd)} under the design document's core {usd(DESIGN_DOC_CORE_MONTHLY_USD)}."
        )
    else:
        lines.append(
            f"No design here fits. The cheapest, **{best.design_name}**, costs {usd(best.core_usd)}/month without "
            f"media: **{usd(best.core_gap_usd)} over** the design document's core {usd(DESIGN_DOC_CORE_MONTHLY_USD)}."
        )
    lines.append("")
    start_name = best.scenario.path_from
    start = next((p for p in plans if p.design_name == start_name), None)
    if start is not None and start is not best:
        lines += _path(start, best)
    if best.core_gap_usd > 0:
        lines += _remaining(best)
    per_request = (
        "Lambda",
        "API front",
        "Data transfer out",
        "WAF",
        "X-Ray",
        "CloudWatch Logs",
        "Firehose access logs",
    )
    request_usd = sum(line.monthly_usd for line in best.lines if line.component in per_request)
    lines += [
        f"Its per-request lines ({', '.join(per_request)}) come to {usd(request_usd)} at "
        f"{_si(best.traffic.requests_per_day)} requests/day; Lambda invocations alone are "
        f"{usd(best.line('Lambda', 'invocations').monthly_usd)}. The built levers that move them are the direct "
        "writes (`write_path: async`, which need API Gateway in front: an ALB cannot put to the stream), the edge "
        "for signed-out reads (`api_edge`) with the web ACL on it alone (`waf_scope: edge`), access logs through "
        "Firehose (`access_logs: firehose`) and compression; the designs above show what each buys.",
        "",
    ]
    return lines


WEBSOCKET_OPTIONS = {
    "api_gateway": "API Gateway WebSocket (what Chirp deploys)",
    "appsync_events": "AppSync Events",
    "iot_core": "IoT Core (MQTT over WebSocket)",
    "fleet": "own socket fleet behind an NLB",
}


def _websocket_section(plans: list[Plan]) -> list[str]:
    """The same design with each way of holding the sockets: sockets, pushes, pings (and their function calls)."""
    from chirp.capacity.plan import plan as plan_design
    from chirp.capacity.scenario import Design

    base = min(plans, key=lambda p: p.core_usd)
    lines = [
        f"## WebSocket at {base.traffic.concurrent_sockets:,.0f} average open sockets ({base.design_name})",
        "",
        "| Option | Sockets + messages | Ping invocations | Total |",
        "|---|---:|---:|---:|",
    ]
    for option, label in WEBSOCKET_OPTIONS.items():
        design = Design.model_validate({**base.design.model_dump(), "websocket": option})
        variant = plan_design(base.scenario, base.prices, base.design_name, base.inputs, options=design)
        sockets = variant.by_component().get("WebSocket", 0.0)
        pings = sum(line.monthly_usd for line in variant.lines if line.item == "invocations: WebSocket pings")
        lines.append(f"| {label} | {usd(sockets)} | {usd(pings)} | {usd(sockets + pings)} |")
    lines += [
        "",
        "Chirp keeps API Gateway in the product: it needs no servers and its `@connections` API is what the local "
        "runtime serves; AppSync Events is the cheaper managed option at this scale and the one to move to first.",
        "",
    ]
    return lines


def _drivers(plan: Plan, count: int = 8) -> list[str]:
    core_lines = sorted((line for line in plan.lines if line.core), key=lambda line: -line.monthly_usd)[:count]
    lines = [f"## Largest cost drivers ({plan.design_name}) and the lever for each", ""]
    lines += ["| Line | Monthly | Share of core | Lever |", "|---|---:|---:|---|"]
    for line in core_lines:
        share = line.monthly_usd / plan.core_usd
        lever = lever_for(line.component, line.item)
        lines.append(f"| {line.component} / {line.item} | {usd(line.monthly_usd)} | {share:.0%} | {lever} |")
    return [*lines, ""]


def _design_table(plans: list[Plan]) -> list[str]:
    fields = list(plans[0].design.model_dump())
    lines = [
        "## Design options",
        "",
        "The last column is what Chirp's CDK app deploys (`chirp.capacity.deployed`): a design value that differs from "
        "it is priced here, not built.",
        "",
        "| Option | " + " | ".join(p.design_name for p in plans) + " | Chirp deploys |",
    ]
    lines.append("|---|" + "---|" * (len(plans) + 1))
    for field in fields:
        values = [str(getattr(p.design, field)) for p in plans]
        lines.append(f"| {field} | " + " | ".join(values) + f" | {DEPLOYED.get(field, '?')} |")
    return [*lines, ""]


def _detail(plan: Plan) -> list[str]:
    lines = [f"### {plan.design_name}", "", "| Component | Item | Quantity / month | Unit | Monthly | Sizing |"]
    lines.append("|---|---|---:|---|---:|---|")
    for line in plan.lines:
        item = line.item if line.core else f"{line.item} (media)"
        lines.append(
            f"| {line.component} | {item} | {_si(line.quantity)} | {line.unit} | {usd(line.monthly_usd)} | "
            f"{line.detail} |"
        )
    return [*lines, ""]


def _inputs_section(plan: Plan) -> list[str]:
    lines = ["## Throughput inputs: measured or assumed", ""]
    measured = [name for name, value in plan.inputs.values.items() if value.measured]
    lines.append(
        f"{len(measured)} of {len(plan.inputs.values)} inputs are measured (key `capacity_inputs` of one results "
        f"file: {plan.inputs.origin}); the rest are assumptions."
    )
    lines += ["", "| Input | Value | Source |", "|---|---:|---|"]
    for name, value in plan.inputs.values.items():
        lines.append(f"| {name} | {value.value:,.6g} | {value.source} |")
    if plan.inputs.ignored:
        lines += ["", "Ignored benchmark keys: " + ", ".join(plan.inputs.ignored)]
    lines += [
        "",
        "Scenario values marked `assumed` in the scenario file (follower distribution, registered users, "
        "online hours, row sizes, timeline entry bytes) are assumptions too; the rest come from the design document.",
        "",
    ]
    return lines


def _prices_section(plan: Plan) -> list[str]:
    table = plan.prices
    lines = [
        f"## Prices ({table.region}, {table.currency}, {table.hours_per_month:g} hours/month, GiB = 2^30 bytes)",
        "",
        "| Key | Price | Per | Unit | Date | Source |",
        "|---|---|---:|---|---|---|",
    ]
    for key, price in table.prices.items():
        if price.tiers is not None:
            shown = " / ".join(f"{t.price:g}" for t in price.tiers) + " (tiered)"
        else:
            shown = f"{price.price:g}"
        lines.append(f"| {key} | {shown} | {_si(price.per)} | {price.unit} | {price.date} | {price.source} |")
    return [*lines, ""]


def render_report(plans: list[Plan]) -> str:
    """The whole Markdown report for one scenario and one or more designs."""
    if not plans:
        raise ValueError("no plans to report")
    first = plans[0]
    scenario = first.scenario
    dates = sorted({price.date for price in first.prices.prices.values()})
    lines = [
        f"# Capacity plan: {scenario.name}",
        "",
        scenario.description.strip(),
        "",
        f"Regions: {', '.join(scenario.regions)}. Retention: {scenario.retention.years} years; storage lines are "
        f"the last month of it. Prices: list, read {', '.join(dates)}, on-demand unless a design's `commitment` "
        "option applies savings plans / reserved nodes (no free tier). Core cost = everything except media "
        "storage (S3) and media delivery (CloudFront).",
        "",
        f"Like for like: the design document's {usd(DESIGN_DOC_MONTHLY_USD)} includes {usd(25_300)} of S3 and "
        f"{usd(127_500)} of CDN, so its core is **{usd(DESIGN_DOC_CORE_MONTHLY_USD)}**, and it prices its servers "
        "near reserved rates (600 m5.2xlarge for $86,400 is $144 per instance-month, about half of on-demand).",
        "",
        f"Measured inputs: {first.inputs.origin}.",
        "",
        "![cost by design](" + f"{scenario.name}.png)",
        "",
    ]
    lines += _traffic_section(first)
    lines += _side_by_side(plans)
    lines += _verdict(plans)
    lines += _websocket_section(plans)
    for plan in plans:
        lines += _drivers(plan, count=5)
    lines += _design_doc_section(first)
    lines += _design_table(plans)
    lines += ["## Every line, per design", ""]
    for plan in plans:
        lines += _detail(plan)
    lines += _inputs_section(first)
    lines += _prices_section(first)
    return "\n".join(lines).rstrip() + "\n"


def render_summary(plans: list[Plan]) -> str:
    """A few lines for the terminal."""
    rows = [
        f"{p.design_name:<20} core {usd(p.core_usd):>14}  media {usd(p.media_usd):>14}  "
        f"core vs {usd(DESIGN_DOC_CORE_MONTHLY_USD)}: {'+' if p.core_gap_usd > 0 else '-'}{usd(abs(p.core_gap_usd))}"
        for p in plans
    ]
    return "\n".join(rows)
