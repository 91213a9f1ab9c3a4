"""The web client on CloudFront: the files under web/ and a generated config.json with the deployed URLs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import Fn, Stack
from aws_cdk import aws_cloudfront as cloudfront
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from chirp import wiring
from chirp_cdk.content_stack import CONFIG_PATH, ContentStack

REPO_ROOT = Path(__file__).resolve().parents[2]
WEB_DIR = REPO_ROOT / "web"


def web_client_config(
    rest_url: str, api_base_url: str, ws_url: str, cdn_url: str, auth_url: str | None = None
) -> dict[str, str]:
    """What the browser reads from /config.json: the same shape the local runtime serves."""
    return wiring.client_config(api_url=api_base_url, ws_url=ws_url, media_url=cdn_url, auth_url=auth_url)


class WebClientStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        content: ContentStack,
        rest_url: str,
        api_base_url: str,
        ws_url: str,
        auth_url: str | None = None,
        web_dir: Path = WEB_DIR,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        config = web_client_config(rest_url, api_base_url, ws_url, content.cdn_url, auth_url)
        sources = [s3deploy.Source.json_data(CONFIG_PATH, config)]
        if web_dir.is_dir() and any(p.is_file() for p in web_dir.rglob("*")):
            sources.insert(
                0, s3deploy.Source.asset(str(web_dir), exclude=["node_modules", "*.map", ".*", "screenshots"])
            )
        bucket = s3.Bucket.from_bucket_arn(self, "WebBucket", Fn.import_value(content.web_bucket_export))
        distribution = cloudfront.Distribution.from_distribution_attributes(
            self,
            "Cdn",
            distribution_id=Fn.import_value(content.distribution_export),
            domain_name=content.distribution.distribution_domain_name,
        )
        self.add_stack_dependency(content)
        self.deployment = s3deploy.BucketDeployment(
            self,
            "Deploy",
            sources=sources,
            destination_bucket=bucket,
            distribution=distribution,
            distribution_paths=["/*"],  # no build step, no hashed file names: every file may have changed
            memory_limit=256,
        )
