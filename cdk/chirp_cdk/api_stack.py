"""The compute and its front doors: the layers, one function per wiring entry, the REST API, the WebSocket API
and the stream consumers' event source mappings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, RemovalPolicy, Stack
from aws_cdk import aws_apigatewayv2 as apigw2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from chirp import wiring
from chirp_cdk.api_edge import ApiEdge
from chirp_cdk.content_stack import ContentStack
from chirp_cdk.data_stack import DataStack
from chirp_cdk.functions import ChirpFunctions, FunctionResources, build_layers
from chirp_cdk.kafka_topic import KafkaTopic
from chirp_cdk.mastodon_api import MastodonRestApi
from chirp_cdk.media_events import MediaEvents
from chirp_cdk.network_stack import NetworkStack
from chirp_cdk.rest_api import ChirpRestApi
from chirp_cdk.search_access import SearchAccess
from chirp_cdk.settings import DeploymentSettings
from chirp_cdk.stream_stack import StreamStack

WS_ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "routeKey": "$context.routeKey",
    "eventType": "$context.eventType",
    "status": "$context.status",
    "connectionId": "$context.connectionId",
    "error": "$context.error.message",
    "authorizerError": "$context.authorizer.error",
    "integrationError": "$context.integration.error",
}


class ApiStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: DeploymentSettings,
        network: NetworkStack | None,
        data: DataStack,
        content: ContentStack,
        stream: StreamStack,
        layer_dirs: tuple[Path, Path],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        self.cors_origins = [content.cdn_url, *settings.extra_cors_origins]

        # The WebSocket API exists before the functions so the pushers get its management endpoint; its routes are
        # added once the functions exist.
        self.ws_api = apigw2.WebSocketApi(
            self, "WebSocketApi", api_name=f"{settings.prefix}-ws", description="Chirp real-time push"
        )
        self.ws_access_logs = logs.LogGroup(
            self, "WebSocketAccessLogs", retention=logs.RetentionDays.ONE_MONTH, removal_policy=RemovalPolicy.DESTROY
        )
        self.ws_stage = apigw2.WebSocketStage(
            self,
            "WebSocketStage",
            web_socket_api=self.ws_api,
            stage_name=settings.stage_name,
            auto_deploy=True,
            detailed_metrics_enabled=True,
            throttle=apigw2.ThrottleSettings(rate_limit=settings.api_rate_limit, burst_limit=settings.api_burst_limit),
        )
        cfn_stage = self.ws_stage.node.default_child
        assert isinstance(cfn_stage, apigw2.CfnStage)
        cfn_stage.access_log_settings = apigw2.CfnStage.AccessLogSettingsProperty(
            destination_arn=self.ws_access_logs.log_group_arn,
            format=_json_format(WS_ACCESS_LOG_FORMAT),
        )

        wheels = "the emulator interpreter's" if settings.layer_python else "manylinux aarch64 cp312"
        layers = build_layers(self, *layer_dirs, wheels=wheels)
        self.push_policy = iam.ManagedPolicy(
            self,
            "WebSocketPushAccess",
            description="Chirp functions that push to WebSocket connections (@connections)",
            statements=[
                iam.PolicyStatement(
                    actions=["execute-api:ManageConnections"],
                    resources=[
                        self.format_arn(
                            service="execute-api",
                            resource=self.ws_api.api_id,
                            resource_name=f"{settings.stage_name}/*/@connections/*",
                        )
                    ],
                )
            ],
        )
        self.chirp_functions = ChirpFunctions(
            self,
            "Functions",
            resources=FunctionResources(
                settings=settings,
                data=data.endpoints,
                stream=stream,
                media_bucket=content.media_bucket,
                cdn_url=content.cdn_url,
                cors_origins=self.cors_origins,
                ws_stage=self.ws_stage,
                network=network,
                layers=layers,
                policies={"media": content.media_policy, "ws_management": self.push_policy},
            ),
        )
        self.functions = self.chirp_functions.functions
        if network is not None:  # backend=aws: the domain's access policy and chirp_indexer mapping name these roles
            search_users = [self.functions[spec.name] for spec in wiring.FUNCTIONS if "search" in spec.uses]
            self.search_access = SearchAccess(
                self,
                "SearchAccess",
                domain=data.search,
                admin=data.search_admin,
                roles=[fn.role for fn in search_users if fn.role is not None],
            )

        self.rest = ChirpRestApi(
            self,
            "Rest",
            settings=settings,
            functions=self.functions,
            cors_origins=self.cors_origins,
            stream=stream.kinesis_stream,
        )
        # Stage logging needs the account's CloudWatch role, which the REST API sets up.
        self.ws_stage.node.add_dependency(self.rest.api)
        self.mastodon = MastodonRestApi(
            self,
            "Mastodon",
            settings=settings,
            function=self.functions[wiring.MASTODON_FUNCTION.name],
            authorizer_function=self.functions[wiring.authorizer_function().name],
        )
        self.mastodon.stage.node.add_dependency(self.rest.api)
        for fn in self.functions.values():  # what Mastodon entities link to, wherever they are rendered (pushes too)
            fn.add_environment("CHIRP_MASTODON_URL", self.mastodon.base_url)
        self._websocket_routes()
        self._mastodon_streaming_domain()
        self.kafka_topic: KafkaTopic | None = None
        if stream.msk_cluster is not None and network is not None:
            # The topic exists before any producer or mapping uses it.
            self.kafka_topic = KafkaTopic(self, "EventsTopic", stream=stream, network=network, layers=layers)
            for fn in self.functions.values():
                fn.node.add_dependency(self.kafka_topic.resource)
        for spec in wiring.stream_consumers():
            assert spec.stream is not None
            fn = self.functions[spec.name]
            fn.add_event_source(stream.event_source(fn, spec.stream))
        self.media_events = [
            MediaEvents(
                self,
                f"{spec.name}-objects",
                function=self.functions[spec.name],
                trigger=spec.objects,
                media_bucket=content.media_bucket,
                dead_letters=stream.dead_letters,
                dead_letter_writers=stream.dead_letter_writers,
            )
            for spec in wiring.object_consumers()
            if spec.objects is not None
        ]

        self.rest_url = self.rest.api.url
        self.api_base_url = self.rest.api.url_for_path(wiring.API_PREFIX)
        self.ws_url = self.ws_stage.url
        CfnOutput(self, "RestApiUrl", value=self.rest_url, description="REST API base URL (routes under /api/v1)")
        CfnOutput(self, "WebSocketUrl", value=self.ws_url, description="WebSocket URL (wss://...?token=<JWT>)")
        CfnOutput(self, "MediaCdnUrl", value=content.cdn_url, description="CloudFront URL of media")
        CfnOutput(
            self,
            "MastodonApiUrl",
            value=self.mastodon.base_url,
            description="Base URL of the Mastodon-compatible API (point Mastodon apps and libraries at it)",
        )
        self.edge = ApiEdge(
            self,
            "Edge",
            api=self.rest.api,
            log_bucket=content.log_bucket,
            settings=settings,
            origin_key=self.rest.edge_key_value,
        )
        CfnOutput(
            self,
            "ApiEdgeUrl",
            value=self.edge.url,
            description="CloudFront URL for signed-out reads (cached as the answers' Cache-Control allows)",
        )

    def _websocket_routes(self) -> None:
        spec = wiring.websocket_function()
        # The token comes as Chirp's ?token=, Mastodon's ?access_token= or an Authorization header (Mastodon.py),
        # and API Gateway refuses a connect lacking any identity source it is given: so the one it checks is the
        # handshake's Sec-WebSocket-Key, present in every upgrade, and the authorizer looks for the token itself.
        authorizer = authorizers.WebSocketLambdaAuthorizer(
            "ConnectAuthorizer",
            self.functions[wiring.authorizer_function().name],
            identity_source=["route.request.header.Sec-WebSocket-Key"],
        )
        self.ws_routes_without_authorizer: list[apigw2.WebSocketRoute] = []
        for route in spec.ws_routes:
            ws_route = self.ws_api.add_route(
                route.route_key,
                integration=integrations.WebSocketLambdaIntegration(
                    f"Ws{route.route_key.strip('$').title()}", self.functions[spec.name]
                ),
                authorizer=authorizer if route.authorizer else None,
            )
            if not route.authorizer:
                self.ws_routes_without_authorizer.append(ws_route)

    def _mastodon_streaming_domain(self) -> None:
        """wss://<domain>/api/v1/streaming -> the WebSocket stage (a multi-level API mapping), for Mastodon apps.
        The deployer points the domain's DNS (CNAME or alias) at the MastodonStreamingTarget output."""
        name = self.settings.mastodon_streaming_domain
        certificate_arn = self.settings.mastodon_streaming_certificate_arn
        if not name or not certificate_arn:
            return
        domain = apigw2.DomainName(
            self,
            "MastodonStreamingDomain",
            domain_name=name,
            certificate=acm.Certificate.from_certificate_arn(self, "MastodonStreamingCertificate", certificate_arn),
        )
        apigw2.ApiMapping(
            self,
            "MastodonStreamingMapping",
            api=self.ws_api,
            domain_name=domain,
            stage=self.ws_stage,
            api_mapping_key=wiring.MASTODON_STREAMING_PATH.strip("/"),
        )
        CfnOutput(
            self,
            "MastodonStreamingTarget",
            value=domain.regional_domain_name,
            description=f"DNS target of {name} (Mastodon apps stream at wss://{name}{wiring.MASTODON_STREAMING_PATH})",
        )


def _json_format(fields: dict[str, str]) -> str:
    return "{" + ",".join(f'"{k}":"{v}"' for k, v in fields.items()) + "}"
