"""messaging.knative.dev/v1: Channel, InMemoryChannel, Subscription."""

from knpy.apis.messaging.v1.channel_config import (
    CHANNEL_DEFAULTS_CONFIG,
    ChannelDefaults,
    parse_channel_defaults,
)
from knpy.apis.messaging.v1.channel_defaults import (
    set_channel_defaults,
    set_in_memory_channel_defaults,
)
from knpy.apis.messaging.v1.channel_lifecycle import (
    CHANNEL_CONDITIONS,
    IN_MEMORY_CHANNEL_CONDITIONS,
)
from knpy.apis.messaging.v1.channel_types import Channel, InMemoryChannel
from knpy.apis.messaging.v1.channel_validation import (
    validate_channel,
    validate_channel_update,
    validate_in_memory_channel,
)
from knpy.apis.messaging.v1.register import (
    API_VERSION,
    GROUP,
    IN_MEMORY_CHANNEL_KIND,
    VERSION,
)
from knpy.apis.messaging.v1.subscription_defaults import set_subscription_defaults
from knpy.apis.messaging.v1.subscription_lifecycle import SUBSCRIPTION_CONDITIONS
from knpy.apis.messaging.v1.subscription_types import Subscription
from knpy.apis.messaging.v1.subscription_validation import (
    validate_subscription,
    validate_subscription_update,
)

__all__ = [
    "API_VERSION", "CHANNEL_CONDITIONS", "CHANNEL_DEFAULTS_CONFIG", "GROUP",
    "IN_MEMORY_CHANNEL_CONDITIONS", "IN_MEMORY_CHANNEL_KIND", "SUBSCRIPTION_CONDITIONS",
    "VERSION", "Channel", "ChannelDefaults", "InMemoryChannel", "Subscription",
    "parse_channel_defaults", "set_channel_defaults",
    "set_in_memory_channel_defaults", "set_subscription_defaults", "validate_channel",
    "validate_channel_update", "validate_in_memory_channel", "validate_subscription",
    "validate_subscription_update",
]
