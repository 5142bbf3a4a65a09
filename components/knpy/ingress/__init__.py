"""knpy's ingress gateway: routes by Host (and path) the KIngresses of its class to the
Services they split traffic to, on the shared proxy core (docs/routing.md)."""
