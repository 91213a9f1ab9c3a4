"""The planner's "Chirp deploys" column states what the CDK app and the settings really deploy."""

from chirp_cdk.functions import ARCHITECTURE
from chirp_cdk.settings import DeploymentSettings
from chirp_cdk.stream_stack import STREAM_RETENTION

from chirp import wiring
from chirp.capacity.deployed import DEPLOYED
from chirp.capacity.scenario import Design
from chirp.config import Settings


def _value(option: str) -> str:
    return DEPLOYED[option].split(" ", 1)[0]


def test_every_design_option_says_what_is_deployed() -> None:
    assert set(DEPLOYED) == set(Design.model_fields)


def test_the_column_agrees_with_the_cdk_app_and_the_settings() -> None:
    defaults = DeploymentSettings()
    assert _value("stream_retention_hours") == str(int(STREAM_RETENTION.to_hours()))
    assert _value("lambda_arch") == ARCHITECTURE.name.lower().replace("_", "")
    assert _value("waf_scope") == defaults.waf_scope
    assert _value("access_logs") == defaults.access_logs
    assert _value("xray_sampled_share") == str(defaults.xray_sampling_rate)
    assert _value("cache_replicas") == str(defaults.cache_replicas_per_shard)
    assert _value("availability_zones") == str(defaults.nat_gateways)
    assert _value("write_path") == defaults.write_path
    assert _value("timeline_cap") == str(Settings().timeline_cap)
    efo = [fn.name for fn in wiring.stream_consumers() if fn.stream and fn.stream.enhanced_fan_out]
    assert _value("stream_efo_consumers") == str(len(efo))
    assert all(name in DEPLOYED["stream_efo_consumers"] for name in efo)
