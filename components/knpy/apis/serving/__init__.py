"""serving.knative.dev: the v1 API (Service, Configuration, Revision, Route) and Serving's
config maps, each parsed into a frozen value by the parser the webhook validates with."""
